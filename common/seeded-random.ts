/** Seeded randomness for training and the rollout bandit, so the same seed gives the same split, order,
 * metrics and weight updates. Math.random cannot be seeded, and the mnist package shuffles with it, so
 * nothing here uses it. */

export type Random = () => number;

/** mulberry32: a tiny 32-bit generator, plenty for shuffling a few thousand rows. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates on a copy. */
export function shuffled<T>(items: readonly T[], random: Random): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export interface Split {
  train: number[];
  heldout: number[];
}

/** Row indices split per class so both sides keep the class mix; each side is then shuffled so a
 * training batch never holds one class only. */
export function stratifiedSplit(labels: readonly number[], heldoutShare: number, random: Random): Split {
  const byClass = new Map<number, number[]>();
  for (const [i, label] of labels.entries()) {
    const list = byClass.get(label) ?? [];
    list.push(i);
    byClass.set(label, list);
  }
  const train: number[] = [];
  const heldout: number[] = [];
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const rows = shuffled(byClass.get(label)!, random);
    const cut = Math.round(rows.length * heldoutShare);
    heldout.push(...rows.slice(0, cut));
    train.push(...rows.slice(cut));
  }
  return { train: shuffled(train, random), heldout: shuffled(heldout, random) };
}
