/** The traffic editor's arithmetic: weights are integers that must sum to 100 (common/wire.ts), so
 * when the experimenter types one version's share the others absorb the difference in proportion to
 * what they held, rounded by largest remainder so the total stays exactly 100. */

export interface WeightRow {
  version: string;
  weight: number;
}

export const TOTAL_PERCENT = 100;

/** A typed value as a whole percentage in 0..100, or undefined when it is not a number. */
export function parsePercent(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^-?\d+(\.\d+)?$/.test(trimmed)) return undefined;
  return Math.min(TOTAL_PERCENT, Math.max(0, Math.round(Number(trimmed))));
}

export const sumOf = (rows: readonly WeightRow[]) => rows.reduce((n, r) => n + r.weight, 0);

/** Splits `total` into integers proportional to `shares` (equal when every share is 0), using the
 * largest-remainder method; ties go to the earlier row so the result is deterministic. */
export function apportion(shares: readonly number[], total: number): number[] {
  if (shares.length === 0) return [];
  const sum = shares.reduce((a, b) => a + b, 0);
  const exact = shares.map((s) => (sum > 0 ? (s / sum) * total : total / shares.length));
  const floors = exact.map(Math.floor);
  let left = total - floors.reduce((a, b) => a + b, 0);
  const order = exact
    .map((x, i) => ({ i, frac: x - Math.floor(x) }))
    .sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    floors[i]!++;
    left--;
  }
  return floors;
}

/** Sets one version's weight and spreads the rest over the other versions so the sum stays 100.
 * With a single version it is always 100. */
export function setWeight(rows: readonly WeightRow[], version: string, value: number): WeightRow[] {
  const target = rows.findIndex((r) => r.version === version);
  if (target < 0) return rows.map((r) => ({ ...r }));
  if (rows.length === 1) return [{ version, weight: TOTAL_PERCENT }];
  const clamped = Math.min(TOTAL_PERCENT, Math.max(0, Math.round(value)));
  const others = rows.filter((_, i) => i !== target);
  const spread = apportion(
    others.map((r) => r.weight),
    TOTAL_PERCENT - clamped,
  );
  let k = 0;
  return rows.map((r, i) => ({ version: r.version, weight: i === target ? clamped : spread[k++]! }));
}

/** Equal shares over every row (the remainder to the first rows). */
export function evenSplit(rows: readonly WeightRow[]): WeightRow[] {
  const spread = apportion(
    rows.map(() => 1),
    TOTAL_PERCENT,
  );
  return rows.map((r, i) => ({ version: r.version, weight: spread[i]! }));
}

/** The editor's rows: every version of the model, in the policy's order first, then versions the
 * policy does not list yet at 0 %. */
export function editorRows(variants: readonly WeightRow[], versions: readonly string[]): WeightRow[] {
  const rows = variants.map((v) => ({ version: v.version, weight: v.weight }));
  for (const v of versions) if (!rows.some((r) => r.version === v)) rows.push({ version: v, weight: 0 });
  return rows;
}

/** The variants to write: versions the policy already listed stay (even at 0 %, since removing a
 * candidate from the policy ends its experiment), others only when given traffic. */
export function variantsToWrite(rows: readonly WeightRow[], before: readonly WeightRow[]): WeightRow[] {
  const listed = new Set(before.map((v) => v.version));
  return rows.filter((r) => listed.has(r.version) || r.weight > 0).map((r) => ({ ...r }));
}
