/** Seeded simulations of the experiment statistics: A/A false-positive rates at one look and under
 * peeking, power, sticky users with heterogeneous accuracy, and the family-wise rate over several
 * candidates. Used by tests/unit/tracking (few runs, fast) and by the bench scenario (many runs).
 * Each run builds the same per-look statistics the report builds from the store, then asks
 * judgeFamily for the verdicts, so what is measured is the report's behaviour, not the formula's. */
import { seededRandom } from '../../common/seeded-random';
import type { MetricName } from '../../tracking/stats/metrics';
import {
  proportionStatistic,
  UnitAccumulator,
  type UnitStatistic,
} from '../../tracking/stats/unit-statistic';
import { type ComparisonInput, judgeFamily, type MinimumEvidence } from '../../tracking/stats/verdict';

type Random = () => number;

const significant = (v: string) => v === 'better' || v === 'worse';

/** Fixed-horizon two-proportion z-test (pooled), two-sided at 5%: what the old report did. */
function naiveSignificant(c: UnitStatistic, t: UnitStatistic): boolean {
  const pooled = (c.sumY + t.sumY) / (c.sumM + t.sumM);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / c.sumM + 1 / t.sumM));
  if (!(se > 0)) return false;
  return Math.abs(t.sumY / t.sumM - c.sumY / c.sumM) / se > 1.959963984540054;
}

/** Binomial draw by inversion of the CDF, one uniform per draw (counting the rarer outcome keeps the
 * walk short): ten times faster than summing Bernoullis, which keeps the unit tests quick. */
function binomial(random: Random, n: number, p: number): number {
  if (p > 0.5) return n - binomial(random, n, 1 - p);
  if (p <= 0) return 0;
  const u = random();
  const odds = p / (1 - p);
  let pmf = (1 - p) ** n;
  let cdf = pmf;
  let k = 0;
  while (u > cdf && k < n) {
    pmf *= ((n - k) / (k + 1)) * odds;
    k++;
    cdf += pmf;
  }
  return k;
}

export interface RateResult {
  runs: number;
  /** Share of runs with a better/worse verdict at the last look. */
  rate: number;
}

export interface PeekingResult {
  runs: number;
  /** Always-valid test read once, at the end. */
  oneLook: number;
  /** Always-valid test read at every look (its running minimum: flagged at any look). */
  anyLook: number;
  /** The old fixed-horizon z-test flagged at any of the looks. */
  naiveAnyLook: number;
  /** The old z-test read once, at the end. */
  naiveOneLook: number;
}

/** Rows as units, both arms with accuracy `p`, `looks` looks of `rowsPerLook` labelled rows per arm. */
export function aaPeeking(options: {
  runs: number;
  looks: number;
  rowsPerLook: number;
  p: number;
  seed: number;
  metric?: MetricName;
}): PeekingResult {
  const random = seededRandom(options.seed);
  const metric = options.metric ?? 'accuracy';
  let oneLook = 0;
  let anyLook = 0;
  let naiveAny = 0;
  let naiveOne = 0;
  for (let run = 0; run < options.runs; run++) {
    let xc = 0;
    let xt = 0;
    let naiveFlag = false;
    const looks: ComparisonInput['looks'][number][] = [];
    for (let look = 1; look <= options.looks; look++) {
      xc += binomial(random, options.rowsPerLook, options.p);
      xt += binomial(random, options.rowsPerLook, options.p);
      const n = look * options.rowsPerLook;
      const arms = {
        control: proportionStatistic({ n, successes: xc }),
        candidate: proportionStatistic({ n, successes: xt }),
      };
      looks.push(arms);
      if (naiveSignificant(arms.control, arms.candidate)) naiveFlag = true;
    }
    const last = looks[looks.length - 1]!;
    const all = judgeFamily({ comparisons: [{ candidate: 't', metric, looks }] })[0]!;
    const once = judgeFamily({ comparisons: [{ candidate: 't', metric, looks: [last] }] })[0]!;
    if (significant(all.verdict)) anyLook++;
    if (significant(once.verdict)) oneLook++;
    if (naiveFlag) naiveAny++;
    if (naiveSignificant(last.control, last.candidate)) naiveOne++;
  }
  const r = options.runs;
  return {
    runs: r,
    oneLook: oneLook / r,
    anyLook: anyLook / r,
    naiveAnyLook: naiveAny / r,
    naiveOneLook: naiveOne / r,
  };
}

/** Share of runs where a candidate with accuracy `candidateP` is found `better` than a control with
 * `controlP` by `rowsPerArm` labelled rows per arm, read every `rowsPerLook`. The family also holds
 * the candidate's error rate and latency (A/A there), as in a real report, so Holm costs power. */
export function power(options: {
  runs: number;
  rowsPerArm: number;
  rowsPerLook: number;
  controlP: number;
  candidateP: number;
  seed: number;
}): RateResult {
  const random = seededRandom(options.seed);
  let found = 0;
  const looksN = Math.ceil(options.rowsPerArm / options.rowsPerLook);
  for (let run = 0; run < options.runs; run++) {
    const acc: ComparisonInput['looks'][number][] = [];
    const err: ComparisonInput['looks'][number][] = [];
    const slow: ComparisonInput['looks'][number][] = [];
    let xc = 0;
    let xt = 0;
    let ec = 0;
    let et = 0;
    let sc = 0;
    let st = 0;
    for (let look = 1; look <= looksN; look++) {
      const m = options.rowsPerLook;
      xc += binomial(random, m, options.controlP);
      xt += binomial(random, m, options.candidateP);
      ec += binomial(random, m, 0.01);
      et += binomial(random, m, 0.01);
      sc += binomial(random, m, 0.05);
      st += binomial(random, m, 0.05);
      const n = look * m;
      const pair = (a: number, b: number) => ({
        control: proportionStatistic({ n, successes: a }),
        candidate: proportionStatistic({ n, successes: b }),
      });
      acc.push(pair(xc, xt));
      err.push(pair(ec, et));
      slow.push(pair(sc, st));
    }
    const [accuracy] = judgeFamily({
      comparisons: [
        { candidate: 't', metric: 'accuracy', looks: acc },
        { candidate: 't', metric: 'error_rate', looks: err },
        { candidate: 't', metric: 'latency_p95', looks: slow },
      ],
    });
    if (accuracy!.verdict === 'better') found++;
  }
  return { runs: options.runs, rate: found / options.runs };
}

export interface StickyResult {
  runs: number;
  /** Users as units (delta method), read at every look. */
  perUser: number;
  /** Rows treated as independent, always-valid test, read at every look. */
  perRow: number;
  /** Rows treated as independent, old fixed-horizon z-test at the last look. */
  naiveOneLook: number;
}

/** A/A with sticky users: each arm has `usersPerArm` users, each with their own accuracy (uniform
 * on [0.5, 1]) and activity (log-normal, σ = 1.2, so a few users send most rows). Every look adds
 * `rowsPerLook` rows per arm from users drawn by activity. */
export function aaStickyUsers(options: {
  runs: number;
  looks: number;
  rowsPerLook: number;
  usersPerArm: number;
  seed: number;
  minimum?: MinimumEvidence;
}): StickyResult {
  const random = seededRandom(options.seed);
  const gaussian = () => {
    const u = 1 - random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  };
  let perUser = 0;
  let perRow = 0;
  let naive = 0;
  for (let run = 0; run < options.runs; run++) {
    const arms = [0, 1].map(() => {
      const accuracy = Array.from({ length: options.usersPerArm }, () => 0.5 + 0.5 * random());
      const weights = Array.from({ length: options.usersPerArm }, () => Math.exp(1.2 * gaussian()));
      const cumulative: number[] = [];
      let total = 0;
      for (const w of weights) {
        total += w;
        cumulative.push(total);
      }
      const pick = () => {
        const target = random() * total;
        let lo = 0;
        let hi = cumulative.length - 1;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (cumulative[mid]! < target) lo = mid + 1;
          else hi = mid;
        }
        return lo;
      };
      return { accuracy, pick, users: new UnitAccumulator(), rows: 0, correct: 0 };
    });
    const byUser: ComparisonInput['looks'][number][] = [];
    const byRow: ComparisonInput['looks'][number][] = [];
    for (let look = 0; look < options.looks; look++) {
      for (const arm of arms) {
        for (let i = 0; i < options.rowsPerLook; i++) {
          const u = arm.pick();
          const y = random() < arm.accuracy[u]! ? 1 : 0;
          arm.users.add(String(u), { y, m: 1 });
          arm.rows++;
          arm.correct += y;
        }
      }
      const [c, t] = arms as [(typeof arms)[0], (typeof arms)[0]];
      byUser.push({ control: c.users.statistic, candidate: t.users.statistic });
      byRow.push({
        control: proportionStatistic({ n: c.rows, successes: c.correct }),
        candidate: proportionStatistic({ n: t.rows, successes: t.correct }),
      });
    }
    const judge = (looks: ComparisonInput['looks']) =>
      judgeFamily({
        comparisons: [{ candidate: 't', metric: 'accuracy', looks }],
        minimum: options.minimum,
      })[0]!;
    if (significant(judge(byUser).verdict)) perUser++;
    if (significant(judge(byRow).verdict)) perRow++;
    const last = byRow[byRow.length - 1]!;
    if (naiveSignificant(last.control, last.candidate)) naive++;
  }
  const r = options.runs;
  return { runs: r, perUser: perUser / r, perRow: perRow / r, naiveOneLook: naive / r };
}

export interface FamilyResult {
  runs: number;
  /** Share of runs with any better/worse verdict after Holm. */
  familyWise: number;
  /** Share of runs where any comparison's own always-valid p-value was below 5% (no correction). */
  uncorrected: number;
  comparisons: number;
}

/** A/A with `candidates` candidates and one control, each compared on accuracy, error rate and the
 * latency indicator, read at every look. */
export function aaFamily(options: {
  runs: number;
  candidates: number;
  looks: number;
  rowsPerLook: number;
  seed: number;
}): FamilyResult {
  const random = seededRandom(options.seed);
  const rates: Record<'accuracy' | 'error_rate' | 'latency_p95', number> = {
    accuracy: 0.9,
    error_rate: 0.02,
    latency_p95: 0.05,
  };
  const metrics = Object.keys(rates) as (keyof typeof rates)[];
  let familyWise = 0;
  let uncorrected = 0;
  let comparisonsCount = 0;
  for (let run = 0; run < options.runs; run++) {
    const arms = options.candidates + 1;
    const totals = metrics.map(() => new Array<number>(arms).fill(0));
    const looks = metrics.map(() =>
      Array.from({ length: options.candidates }, () => [] as ComparisonInput['looks'][number][]),
    );
    for (let look = 1; look <= options.looks; look++) {
      const n = look * options.rowsPerLook;
      metrics.forEach((metric, mi) => {
        for (let a = 0; a < arms; a++)
          totals[mi]![a]! += binomial(random, options.rowsPerLook, rates[metric]);
        for (let c = 0; c < options.candidates; c++) {
          looks[mi]![c]!.push({
            control: proportionStatistic({ n, successes: totals[mi]![0]! }),
            candidate: proportionStatistic({ n, successes: totals[mi]![c + 1]! }),
          });
        }
      });
    }
    const comparisons: ComparisonInput[] = metrics.flatMap((metric, mi) =>
      looks[mi]!.map((l, c) => ({ candidate: String(c + 1), metric, looks: l })),
    );
    comparisonsCount = comparisons.length;
    const judged = judgeFamily({ comparisons });
    if (judged.some((j) => significant(j.verdict))) familyWise++;
    if (judged.some((j) => j.pValue !== null && j.pValue < 0.05)) uncorrected++;
  }
  return {
    runs: options.runs,
    familyWise: familyWise / options.runs,
    uncorrected: uncorrected / options.runs,
    comparisons: comparisonsCount,
  };
}
