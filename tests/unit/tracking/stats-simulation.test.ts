/** Seeded simulations of the report's verdicts (bench/statistics/simulations.ts; `npm run bench --
 * statistics` runs the same with ten times the runs). Tolerance: the issue's ±2 points; at the run
 * counts here the standard error of a 5% rate is at most 0.7 points. */
import { aaFamily, aaPeeking, aaStickyUsers, power } from '../../../bench/statistics/simulations';

const TOLERANCE = 0.02;

describe('A/A false positives under peeking', () => {
  const result = aaPeeking({ runs: 1000, looks: 20, rowsPerLook: 100, p: 0.9, seed: 11 });

  it('stays at or below 5% read once at the end', () => {
    expect(result.oneLook).toBeLessThanOrEqual(0.05 + TOLERANCE);
  });

  it('stays at or below 5% read at every one of 20 looks (every 100 labelled rows per arm)', () => {
    expect(result.anyLook).toBeLessThanOrEqual(0.05 + TOLERANCE);
  });

  it('reproduces the defect of the old fixed-horizon test: about 1 in 4 A/A runs flagged at some look', () => {
    expect(result.naiveOneLook).toBeLessThanOrEqual(0.05 + TOLERANCE);
    expect(result.naiveAnyLook).toBeGreaterThan(0.15);
  });
});

describe('power', () => {
  it('finds 0.95 vs 0.92 accuracy better by 5,000 labelled rows per arm in at least 80% of runs', () => {
    const r = power({
      runs: 200,
      rowsPerArm: 5000,
      rowsPerLook: 100,
      controlP: 0.92,
      candidateP: 0.95,
      seed: 12,
    });
    expect(r.rate).toBeGreaterThanOrEqual(0.8);
  }, 120_000);
});

describe('sticky users with heterogeneous accuracy', () => {
  const r = aaStickyUsers({ runs: 400, looks: 20, rowsPerLook: 100, usersPerArm: 300, seed: 13 });

  it('keeps the A/A false-positive rate at or below 5% when users are the unit', () => {
    expect(r.perUser).toBeLessThanOrEqual(0.05 + TOLERANCE);
  });

  it('reproduces the inflation of treating rows as independent (fixed-horizon, one look)', () => {
    expect(r.naiveOneLook).toBeGreaterThan(0.15);
  });
});

describe('multiplicity', () => {
  it('keeps the family-wise A/A rate of 3 candidates × 3 metrics at or below 5%', () => {
    const r = aaFamily({ runs: 600, candidates: 3, looks: 20, rowsPerLook: 100, seed: 14 });
    expect(r.comparisons).toBe(9);
    expect(r.familyWise).toBeLessThanOrEqual(0.05 + TOLERANCE);
    expect(r.familyWise).toBeLessThanOrEqual(r.uncorrected);
  }, 120_000);
});
