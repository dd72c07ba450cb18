import { buildBaseline, referenceSample } from '../../../models/train/baseline';

describe('training baseline', () => {
  it('keeps every value when there are at most 200, else evenly spaced order statistics', () => {
    expect(referenceSample([1, 2, 3])).toEqual([1, 2, 3]);
    const sorted = Array.from({ length: 1000 }, (_, i) => i);
    const sample = referenceSample(sorted);
    expect(sample).toHaveLength(200);
    expect(sample[0]).toBe(2);
    expect(sample[199]).toBe(997);
    expect([...sample].sort((a, b) => a - b)).toEqual(sample);
  });

  it('records deciles, bin shares, a sorted reference and class frequencies', () => {
    const rows = Array.from({ length: 100 }, (_, i) => [i + 1, i % 2]);
    const labels = rows.map((_, i) => (i < 75 ? 0 : 1));
    const baseline = buildBaseline(
      { rows, labels },
      [
        { name: 'size', source: { kind: 'column', index: 0 }, continuous: true },
        { name: 'flag', source: { kind: 'column', index: 1 }, continuous: false },
      ],
      ['small', 'large'],
    );
    expect(baseline.classes).toEqual({ small: 0.75, large: 0.25 });
    const [size, flag] = baseline.features;
    expect(size!.deciles).toEqual([10.9, 20.8, 30.7, 40.6, 50.5, 60.4, 70.3, 80.2, 90.1]);
    expect(size!.proportions).toEqual([0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]);
    expect(size!.reference).toHaveLength(100);
    expect(flag!.continuous).toBe(false);
    expect(flag!.proportions[0]).toBe(0.5);
    expect(flag!.proportions[5]).toBe(0.5); // cuts [0,0,0,0,0.5,1,1,1,1]: a 1 joins bin 5
  });
});
