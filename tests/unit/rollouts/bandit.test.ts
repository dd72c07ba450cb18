import { seededRandom } from '../../../common/seeded-random';
import { allocate, probabilityBest, sampleBeta } from '../../../registry/rollouts/bandit';
import { bodyOf } from '../../../registry/rollouts/policy-shapes';
import { basePolicy, spec } from './fixtures';
import { simulate } from './simulate';

describe('Beta sampling', () => {
  it('matches the mean and variance of Beta(2, 5) (2/7 and 10/392)', () => {
    const random = seededRandom(7);
    const xs = Array.from({ length: 40_000 }, () => sampleBeta(2, 5, random));
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
    expect(mean).toBeCloseTo(2 / 7, 2);
    expect(variance).toBeCloseTo(10 / 392, 3);
  });

  it('gives P(best) near 1/2 for identical arms and near 1 for a clearly better one', () => {
    const same = probabilityBest(
      [
        { version: '1', successes: 90, failures: 10 },
        { version: '2', successes: 90, failures: 10 },
      ],
      seededRandom(1),
      4000,
    );
    expect(same['1']).toBeGreaterThan(0.45);
    expect(same['1']).toBeLessThan(0.55);
    const clear = probabilityBest(
      [
        { version: '1', successes: 900, failures: 100 },
        { version: '2', successes: 970, failures: 30 },
      ],
      seededRandom(1),
    );
    expect(clear['2']).toBeGreaterThan(0.999);
  });
});

describe('allocate', () => {
  it('sums to 100 and keeps every arm at its floor', () => {
    expect(allocate({ '1': 0, '2': 1 }, 5)).toEqual({ '1': 5, '2': 95 });
    expect(allocate({ '1': 0.5, '2': 0.5 }, 5)).toEqual({ '1': 50, '2': 50 });
    const w = allocate({ a: 0.333, b: 0.333, c: 0.334 }, 10);
    expect(Object.values(w).reduce((x, y) => x + y, 0)).toBe(100);
    expect(Math.min(...Object.values(w))).toBeGreaterThanOrEqual(10);
  });
});

describe('bandit rollout (seeded simulation)', () => {
  const body = {
    strategy: 'bandit',
    // the stand-in report has no latency comparison, and drift is not simulated
    gates: { accuracy: 'not_worse', error_rate: 'not_worse' },
    bandit: { floor_percent: 5, burn_in_seconds: 300, burn_in_labelled: 100, update_interval_seconds: 60 },
  };

  it('moves most traffic to the better v2 (above 80%), never below the floor, at most one update a minute', () => {
    for (const seed of [1, 2, 3]) {
      const result = simulate({
        spec: spec(body),
        baseline: bodyOf(basePolicy),
        seed,
        requestsPerSecond: 2,
        feedbackShare: 0.5,
        accuracy: { '1': 0.94, '2': 0.97 },
        tickSeconds: 10,
        horizonSeconds: 4 * 3600,
      });
      const running =
        result.state.endedAt === null ? result.candidateWeights : result.candidateWeights.slice(0, -1);
      expect(Math.max(...running)).toBeGreaterThan(80);
      expect(Math.min(...running)).toBeGreaterThanOrEqual(5);
      expect(Math.max(...running)).toBeLessThanOrEqual(95);
      // weights change at most once per update interval (6 ticks of 10 s)
      let changes = 0;
      for (let i = 1; i < running.length; i++) if (running[i] !== running[i - 1]) changes++;
      expect(changes).toBeLessThanOrEqual(Math.ceil(running.length / 6));
      expect(result.phase).toBe('promoted');
      expect(result.policy.aliases.stable).toBe('2');
    }
  });

  it('rolls a worse candidate back and keeps the control above its floor meanwhile', () => {
    const result = simulate({
      spec: spec(body),
      baseline: bodyOf(basePolicy),
      seed: 11,
      requestsPerSecond: 2,
      feedbackShare: 0.5,
      accuracy: { '1': 0.97, '2': 0.9 },
      tickSeconds: 10,
      horizonSeconds: 4 * 3600,
    });
    expect(result.phase).toBe('rolled_back');
    expect(result.policy).toEqual(bodyOf(basePolicy));
    expect(Math.max(...result.candidateWeights.slice(0, -1))).toBeLessThanOrEqual(95);
  });
});
