import { seededRandom } from '../../../common/seeded-random';
import { latencyThreshold } from '../../../tracking/stats/latency-threshold';
import { METRICS } from '../../../tracking/stats/metrics';
import { recommend } from '../../../tracking/stats/recommendation';
import { proportionStatistic as prop, UnitAccumulator } from '../../../tracking/stats/unit-statistic';
import { type ArmsAtLook, judgeFamily } from '../../../tracking/stats/verdict';
import { describeJudgement } from '../../../tracking/stats/words';

const pair = (c: [number, number], t: [number, number]): ArmsAtLook => ({
  control: prop({ n: c[1], successes: c[0] }),
  candidate: prop({ n: t[1], successes: t[0] }),
});

describe('verdicts', () => {
  it('gives no verdict for 3/3 vs 0/3 labelled rows', () => {
    const [j] = judgeFamily({
      comparisons: [{ candidate: '2', metric: 'accuracy', looks: [pair([0, 3], [3, 3])] }],
    });
    expect(j!.verdict).toBe('insufficient_data');
    expect(j!.pValue).toBeNull();
    expect(j!.estimate).toBe(1);
    expect(describeJudgement({ judgement: j!, control: '1', unit: 'request' })).toBe(
      'v2 vs v1: accuracy: too little data for a verdict (3 / 3 labelled so far)',
    );
  });

  it('calls a large accuracy gain better, with the sign of the candidate minus the control', () => {
    const [j] = judgeFamily({
      comparisons: [{ candidate: '3', metric: 'accuracy', looks: [pair([3780, 4200], [3990, 4200])] }],
    });
    expect(j!.verdict).toBe('better');
    expect(j!.estimate).toBeCloseTo(0.05, 10);
    expect(j!.ci![0]).toBeGreaterThan(0);
    const text = describeJudgement({ judgement: j!, control: '2', unit: 'request' });
    expect(text).toMatch(
      /^v3 vs v2: accuracy \+5\.0 points \[\+\d\.\d, \+\d\.\d\], better \(p < 0\.001, always valid; 4,200 \/ 4,200 labelled\)$/,
    );
  });

  it('orients error rate: more failures is worse even though the estimate is positive', () => {
    const [j] = judgeFamily({
      comparisons: [{ candidate: '3', metric: 'error_rate', looks: [pair([10, 5000], [120, 5000])] }],
    });
    expect(j!.estimate).toBeGreaterThan(0);
    expect(j!.verdict).toBe('worse');
  });

  it('says how large a difference is still possible rather than "no different"', () => {
    const [j] = judgeFamily({
      comparisons: [{ candidate: '3', metric: 'error_rate', looks: [pair([100, 100000], [101, 100000])] }],
    });
    expect(j!.verdict).toBe('no_difference');
    expect(j!.noDifferenceLargerThan).toBeLessThan(METRICS.error_rate.margin);
    expect(describeJudgement({ judgement: j!, control: '2', unit: 'request' })).toMatch(
      /error rate \+0\.00 points \[-0\.\d\d, \+0\.\d\d\], no difference larger than 0\.\d\d points/,
    );
  });

  it('sizes the data still needed when inconclusive', () => {
    const [j] = judgeFamily({
      comparisons: [{ candidate: '3', metric: 'accuracy', looks: [pair([900, 1000], [905, 1000])] }],
    });
    expect(j!.verdict).toBe('inconclusive');
    expect(j!.moreObservationsNeeded).toBeGreaterThan(10000);
    expect(describeJudgement({ judgement: j!, control: '2', unit: 'request' })).toMatch(
      /inconclusive: about [\d,]+ more labelled rows per arm to detect 1\.0 points/,
    );
  });

  it('corrects for multiplicity: the same evidence is weaker in a family of ten', () => {
    const looks = [pair([4500, 5000], [4580, 5000])];
    const alone = judgeFamily({ comparisons: [{ candidate: '3', metric: 'accuracy', looks }] })[0]!;
    const family = judgeFamily({
      comparisons: Array.from({ length: 10 }, (_, i) => ({
        candidate: String(i + 3),
        metric: 'accuracy' as const,
        looks,
      })),
    })[0]!;
    expect(family.pValueAdjusted!).toBeGreaterThan(alone.pValueAdjusted!);
    expect(family.ci![1] - family.ci![0]).toBeGreaterThan(alone.ci![1] - alone.ci![0]);
  });

  it('never lets a later, weaker look undo an earlier rejection (running minimum)', () => {
    const strong = pair([4500, 5000], [4700, 5000]);
    const weaker = pair([9000, 10000], [9060, 10000]);
    const [j] = judgeFamily({
      comparisons: [{ candidate: '3', metric: 'accuracy', looks: [strong, weaker] }],
    });
    expect(j!.verdict).toBe('better');
    expect(j!.estimate).toBeCloseTo(0.006, 10);
  });

  it('analyses users, not rows, when given per-user statistics', () => {
    // two users per arm with 500 rows each: 1,000 rows but only 2 independent units
    const arm = (rates: number[]) => {
      const acc = new UnitAccumulator();
      for (const [i, r] of rates.entries()) acc.add(`u${i}`, { y: Math.round(r * 500), m: 500 });
      return acc.statistic;
    };
    const looks = [{ control: arm([0.7, 0.9]), candidate: arm([0.8, 1]) }];
    const [few] = judgeFamily({ comparisons: [{ candidate: '3', metric: 'accuracy', looks }] });
    expect(few!.verdict).toBe('insufficient_data'); // 2 users < 20 per arm
    const [lenient] = judgeFamily({
      comparisons: [{ candidate: '3', metric: 'accuracy', looks }],
      minimum: { observationsPerArm: 1, unitsPerArm: 1 },
    });
    // as rows this would be p < 1e-6; as two users per arm it is nowhere near
    expect(lenient!.verdict).not.toBe('better');
  });
});

describe('latency as "slower than the control\'s p95"', () => {
  it('reads a candidate with the same median but a heavier tail as worse, never faster', () => {
    const random = seededRandom(5);
    const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const control = () => 10 * Math.exp(0.3 * gaussian());
    const candidate = () => 10 * Math.exp(0.45 * gaussian()); // same median 10 ms, wider
    const threshold = latencyThreshold({ burnInMs: Array.from({ length: 200 }, control), quantile: 0.95 })!;
    const n = 5000;
    let slowC = 0;
    let slowT = 0;
    for (let i = 0; i < n; i++) {
      if (control() > threshold) slowC++;
      if (candidate() > threshold) slowT++;
    }
    const [j] = judgeFamily({
      comparisons: [{ candidate: '3', metric: 'latency_p95', looks: [pair([slowC, n], [slowT, n])] }],
    });
    expect(j!.verdict).toBe('worse');
    expect(
      describeJudgement({ judgement: j!, control: '2', unit: 'request', thresholdMs: threshold }),
    ).toMatch(/^v3 vs v2: share of requests slower than v2's p95 \(\d+\.\d ms\) \+\d+\.\d points/);
  });
});

describe('recommendation', () => {
  const judge = (c: [number, number], t: [number, number]) =>
    judgeFamily({ comparisons: [{ candidate: '3', metric: 'accuracy', looks: [pair(c, t)] }] });

  it('puts a failed split first, whatever the verdicts', () => {
    const r = recommend({
      srm: { ok: false, pValue: 1e-8 },
      control: '2',
      candidates: ['3'],
      judgements: judge([3780, 4200], [3990, 4200]),
    });
    expect(r.action).toBe('fix_split');
  });

  it('rolls back a worse candidate, promotes a better one, and otherwise keeps collecting', () => {
    const srm = { ok: true, pValue: 0.5 };
    expect(
      recommend({ srm, control: '2', candidates: ['3'], judgements: judge([3990, 4200], [3780, 4200]) })
        .action,
    ).toBe('roll_back');
    expect(
      recommend({ srm, control: '2', candidates: ['3'], judgements: judge([3780, 4200], [3990, 4200]) }),
    ).toEqual({
      action: 'safe_to_promote',
      text: 'safe to promote v3: better on accuracy, no worse elsewhere',
    });
    expect(
      recommend({ srm, control: '2', candidates: ['3'], judgements: judge([900, 1000], [905, 1000]) }).action,
    ).toBe('keep_collecting');
    expect(
      recommend({ srm, control: '2', candidates: ['3'], judgements: judge([0, 3], [3, 3]) }).action,
    ).toBe('keep_collecting');
  });
});
