import {
  apportion,
  editorRows,
  evenSplit,
  parsePercent,
  setWeight,
  sumOf,
  variantsToWrite,
} from '../../../console/src/logic/weights';

const rows = (...pairs: [string, number][]) => pairs.map(([version, weight]) => ({ version, weight }));

describe('the weights editor', () => {
  it('gives the other version what one gives up, so 90/10 typed to 50 becomes 50/50', () => {
    expect(setWeight(rows(['1', 90], ['2', 10]), '1', 50)).toEqual(rows(['1', 50], ['2', 50]));
  });

  it('spreads the rest over several versions in proportion to what they held', () => {
    expect(setWeight(rows(['1', 60], ['2', 30], ['3', 10]), '1', 20)).toEqual(
      rows(['1', 20], ['2', 60], ['3', 20]),
    );
  });

  it('keeps the sum at exactly 100 whatever is typed, rounding by largest remainder', () => {
    const start = rows(['a', 34], ['b', 33], ['c', 33]);
    for (let v = 0; v <= 100; v++) {
      const next = setWeight(start, 'b', v);
      expect(sumOf(next)).toBe(100);
      expect(next.find((r) => r.version === 'b')!.weight).toBe(v);
      for (const r of next) expect(Number.isInteger(r.weight) && r.weight >= 0).toBe(true);
    }
  });

  it('splits the rest equally when every other version is at 0', () => {
    expect(setWeight(rows(['1', 100], ['2', 0], ['3', 0]), '1', 40)).toEqual(
      rows(['1', 40], ['2', 30], ['3', 30]),
    );
  });

  it('clamps values outside 0..100 and rounds fractions', () => {
    expect(setWeight(rows(['1', 50], ['2', 50]), '1', 140)).toEqual(rows(['1', 100], ['2', 0]));
    expect(setWeight(rows(['1', 50], ['2', 50]), '1', 33.6)).toEqual(rows(['1', 34], ['2', 66]));
  });

  it('keeps a single version at 100', () => {
    expect(setWeight(rows(['1', 100]), '1', 20)).toEqual(rows(['1', 100]));
  });

  it('leaves the rows alone for a version it does not know', () => {
    expect(setWeight(rows(['1', 90], ['2', 10]), '7', 50)).toEqual(rows(['1', 90], ['2', 10]));
  });

  it('apportions by largest remainder with ties to the earlier row', () => {
    expect(apportion([1, 1, 1], 100)).toEqual([34, 33, 33]);
    expect(apportion([2, 1], 10)).toEqual([7, 3]);
    expect(apportion([], 100)).toEqual([]);
  });

  it('splits evenly', () => {
    expect(evenSplit(rows(['1', 90], ['2', 5], ['3', 5]))).toEqual(rows(['1', 34], ['2', 33], ['3', 33]));
  });

  it('parses typed percentages and rejects what is not a number', () => {
    expect(parsePercent(' 50 ')).toBe(50);
    expect(parsePercent('12.6')).toBe(13);
    expect(parsePercent('-5')).toBe(0);
    expect(parsePercent('250')).toBe(100);
    expect(parsePercent('')).toBeUndefined();
    expect(parsePercent('5O')).toBeUndefined();
  });

  it('lists every version, unlisted ones at 0 %, and writes only listed or weighted ones', () => {
    const before = rows(['1', 100]);
    const editing = editorRows(before, ['1', '2', '3']);
    expect(editing).toEqual(rows(['1', 100], ['2', 0], ['3', 0]));
    expect(variantsToWrite(setWeight(editing, '2', 25), before)).toEqual(rows(['1', 75], ['2', 25]));
    // A version already in the split stays at 0 %: removing it would end its experiment.
    expect(variantsToWrite(rows(['1', 100], ['2', 0]), rows(['1', 50], ['2', 50]))).toEqual(
      rows(['1', 100], ['2', 0]),
    );
  });
});
