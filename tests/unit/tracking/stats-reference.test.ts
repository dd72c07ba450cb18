/** Reference values computed independently with numpy/scipy by reference/stats_reference.py (run it
 * to reproduce them): the mSPRT by numerical integration of the mixture and root-finding of its
 * confidence sequence, the delta method through numpy's covariance matrix, chi-square through
 * scipy.stats.chisquare, quantiles through numpy.quantile. Pinned to 1e-6 or better. */

import { zQuantile } from '../../../tracking/stats/distributions';
import { latencyThreshold } from '../../../tracking/stats/latency-threshold';
import {
  confidenceHalfWidth,
  logMixtureLikelihoodRatio,
  lookPValue,
  sequentialTest,
} from '../../../tracking/stats/msprt';
import { holmAdjust } from '../../../tracking/stats/multiplicity';
import { moreObservationsPerArm } from '../../../tracking/stats/sample-size';
import { sampleRatioMismatch, sampleRatioMismatchOverPeriods } from '../../../tracking/stats/srm';
import { ratioEstimate, UnitAccumulator } from '../../../tracking/stats/unit-statistic';

const close = (actual: number, expected: number, tolerance = 1e-6) => {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(tolerance);
};

describe('mSPRT with a normal mixture (scipy: integrated mixture, brentq confidence sequence)', () => {
  it.each([
    // estimate, variance, tau², alpha, ln Λ, p, half-width
    [0.021, 4e-5, 1e-4, 0.05, 3.311118515752, 0.036475352672, 0.020141418542],
    [0.003, 2.5e-5, 1e-4, 0.05, -0.660718956217, 1, 0.015411949969],
    [-0.0123, 1.1e-5, 2.5e-5, 0.0125, 4.182756348989, 0.015256397602, 0.012553998672],
  ])('θ̂ = %p, v = %p, τ² = %p', (estimate, variance, tauSquared, alpha, logLambda, p, halfWidth) => {
    close(logMixtureLikelihoodRatio({ estimate, variance, tauSquared }), logLambda, 1e-9);
    close(lookPValue({ estimate, variance, tauSquared }), p, 1e-9);
    close(confidenceHalfWidth({ variance, tauSquared, alpha }), halfWidth, 1e-9);
  });

  it('keeps the running minimum p-value and the running intersection of the sequence over looks', () => {
    const result = sequentialTest({
      looks: [
        { estimate: 0.01, variance: 1e-4 },
        { estimate: 0.026, variance: 5e-5 },
        { estimate: 0.012, variance: 2.5e-5 },
      ],
      tauSquared: 1e-4,
      alpha: 0.05,
    })!;
    close(result.trace[0]!.pValue, 1);
    close(result.trace[0]!.ci[0], -0.026563948714, 1e-9);
    close(result.trace[1]!.pValue, 0.019113497419, 1e-9);
    close(result.trace[1]!.ci[0], 0.002940169934, 1e-9);
    // the third look alone would give p ≈ 0.21; the running minimum keeps the second look's
    close(result.pValue, 0.019113497419, 1e-9);
    close(result.ci[0], 0.002940169934, 1e-9);
    close(result.ci[1], 0.027411949969, 1e-9);
    expect(result.estimate).toBe(0.012);
  });
});

describe('delta method for per-user ratios (numpy covariance matrix, ddof = 0)', () => {
  it('gives the ratio and its variance for eight users', () => {
    const acc = new UnitAccumulator();
    const users: [number, number][] = [
      [3, 4],
      [0, 1],
      [7, 10],
      [2, 2],
      [5, 9],
      [1, 3],
      [12, 15],
      [0, 2],
    ];
    // fed in two increments per user, as looks do, to check in-place updates
    for (const [i, [y, m]] of users.entries()) {
      const yFirst = Math.floor(y / 2);
      const mFirst = Math.max(yFirst, Math.floor(m / 2));
      acc.add(`u${i}`, { y: yFirst, m: mFirst });
    }
    for (const [i, [y, m]] of users.entries()) {
      const yFirst = Math.floor(y / 2);
      const mFirst = Math.max(yFirst, Math.floor(m / 2));
      acc.add(`u${i}`, { y: y - yFirst, m: m - mFirst });
    }
    const { mean, variance } = ratioEstimate(acc.statistic);
    close(mean!, 0.652173913043, 1e-11);
    close(variance, 4.52757101354e-3, 1e-12);
    expect(acc.statistic.units).toBe(8);
  });
});

describe('sample-ratio mismatch (scipy.stats.chisquare)', () => {
  it('flags 52/48 at 20,000 assignments under 50/50', () => {
    const r = sampleRatioMismatch({ observed: { '1': 10400, '2': 9600 }, weights: { '1': 50, '2': 50 } });
    close(r.chiSquare, 32, 1e-9);
    close(r.pValue, 1.541725790028e-8, 1e-12);
    expect(r.ok).toBe(false);
  });

  it('does not flag 52/48 at 2,000 assignments', () => {
    const r = sampleRatioMismatch({ observed: { '1': 1040, '2': 960 }, weights: { '1': 50, '2': 50 } });
    close(r.chiSquare, 3.2, 1e-9);
    close(r.pValue, 7.36382701203e-2, 1e-9);
    expect(r.ok).toBe(true);
  });

  it('tests three arms against 90/5/5', () => {
    const r = sampleRatioMismatch({
      observed: { a: 9400, b: 560, c: 40 },
      weights: { a: 90, b: 5, c: 5 },
    });
    close(r.chiSquare, 448.177777777778, 1e-9);
    expect(r.pValue).toBeLessThan(1e-12);
    expect(r.expectedPercent).toEqual({ a: 90, b: 5, c: 5 });
  });

  it('sums the expected counts over weight periods: 80/20 then 50/50 is no mismatch', () => {
    // 5,000 assignments under 80/20, then a rollout step to 50/50 and 5,000 more.
    const periods = [
      { observed: { '1': 4000, '2': 1000 }, weights: { '1': 80, '2': 20 } },
      { observed: { '1': 2600, '2': 2400 }, weights: { '1': 50, '2': 50 } },
    ];
    const r = sampleRatioMismatchOverPeriods({ periods });
    // scipy.stats.chisquare([6600, 3400], [6500, 3500])
    close(r.chiSquare, 4.395604395604, 1e-9);
    close(r.pValue, 3.603168621823e-2, 1e-9);
    expect(r.ok).toBe(true);
    expect(r.observed).toEqual({ '1': 6600, '2': 3400 });
    close(r.expectedPercent['1']!, 65, 1e-9);
    // The defect this replaces: the totals against the latest weights alone read a broken split.
    expect(sampleRatioMismatch({ observed: r.observed, weights: periods[1]!.weights }).ok).toBe(false);
  });

  it('finds no mismatch at all when each period splits exactly by its weights (three arms)', () => {
    const r = sampleRatioMismatchOverPeriods({
      periods: [
        { observed: { a: 9000, b: 500, c: 500 }, weights: { a: 90, b: 5, c: 5 } },
        { observed: { a: 4000, b: 3000, c: 3000 }, weights: { a: 40, b: 30, c: 30 } },
      ],
    });
    close(r.chiSquare, 0, 1e-12);
    close(r.pValue, 1, 1e-12);
  });

  it('still flags a split that is off within its period', () => {
    const r = sampleRatioMismatchOverPeriods({
      periods: [
        { observed: { '1': 4000, '2': 1000 }, weights: { '1': 80, '2': 20 } },
        // 52/48 of 20,000 under 50/50, as in the single-period case above
        { observed: { '1': 10400, '2': 9600 }, weights: { '1': 50, '2': 50 } },
      ],
    });
    expect(r.ok).toBe(false);
  });

  it('treats assignments to a zero-weight arm as a mismatch and no assignments as no evidence', () => {
    expect(sampleRatioMismatch({ observed: { a: 10, b: 1 }, weights: { a: 100, b: 0 } }).ok).toBe(false);
    expect(sampleRatioMismatch({ observed: {}, weights: { a: 50, b: 50 } })).toMatchObject({
      ok: true,
      pValue: 1,
    });
  });
});

describe('Holm adjustment (Holm 1979, written out in the reference script)', () => {
  it('adjusts five p-values and leaves missing ones out of the family', () => {
    const adjusted = holmAdjust([0.01, 0.04, null, 0.03, 0.005, 0.2]);
    const expected = [0.04, 0.09, null, 0.09, 0.025, 0.2];
    adjusted.forEach((a, i) => {
      if (expected[i] === null) expect(a).toBeNull();
      else close(a!, expected[i]!, 1e-12);
    });
  });
});

describe('quantiles and sample size', () => {
  it('takes the latency threshold as numpy.quantile does (type 7)', () => {
    const xs = [12.5, 3.1, 7.7, 9.0, 15.2, 4.4, 8.8, 30.0, 6.1, 10.9];
    close(latencyThreshold({ burnInMs: xs, quantile: 0.95 })!, 23.34, 1e-9);
    close(latencyThreshold({ burnInMs: xs, quantile: 0.5 })!, 8.9, 1e-9);
    expect(latencyThreshold({ burnInMs: [], quantile: 0.95 })).toBeNull();
  });

  it('has the normal quantiles scipy.stats.norm.ppf gives', () => {
    close(zQuantile(0.8), 0.841621233573, 1e-9);
    close(zQuantile(0.975), 1.95996398454, 1e-9);
  });

  it('needs 25,767 more labelled rows per arm to detect 1 point at 90% vs 90.5% after 1,000 each', () => {
    const n = moreObservationsPerArm({
      control: { observations: 1000, variance: (0.9 * 0.1) / 1000 },
      candidate: { observations: 1000, variance: (0.905 * 0.095) / 1000 },
      detect: 0.01,
      tauSquared: 1e-4,
      alpha: 0.05,
    });
    expect(n).toBe(25767);
  });
});
