import { seededRandom, shuffled, stratifiedSplit } from '../../../common/seeded-random';

describe('seeded randomness', () => {
  it('repeats the same sequence for the same seed and differs for another', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const c = seededRandom(8);
    const seqA = Array.from({ length: 5 }, a);
    expect(Array.from({ length: 5 }, b)).toEqual(seqA);
    expect(Array.from({ length: 5 }, c)).not.toEqual(seqA);
    expect(seqA.every((v) => v >= 0 && v < 1)).toBe(true);
  });

  it('shuffles a copy into a permutation', () => {
    const items = [1, 2, 3, 4, 5, 6, 7, 8];
    const out = shuffled(items, seededRandom(3));
    expect(items).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect([...out].sort()).toEqual(items);
    expect(out).not.toEqual(items);
  });

  it('splits each class by the held-out share, disjointly and covering every row', () => {
    const labels = [...new Array(40).fill(0), ...new Array(20).fill(1)];
    const split = stratifiedSplit(labels, 0.25, seededRandom(1));
    expect(split.heldout.filter((i) => labels[i] === 0)).toHaveLength(10);
    expect(split.heldout.filter((i) => labels[i] === 1)).toHaveLength(5);
    expect([...split.train, ...split.heldout].sort((a, b) => a - b)).toEqual(labels.map((_, i) => i));
  });
});
