/** Verdicts in plain words, one line per comparison, in the form
 * `v3 vs v2: accuracy +2.1 points [+0.8, +3.4], better (p = 0.003, always valid; 4,210 / 4,198 labelled)`.
 * "No difference" always says how large a difference is still possible, because people read
 * "no different" as "equal". */
import { METRICS, type MetricName } from './metrics';
import type { Judgement } from './verdict';

const count = (n: number) => Math.round(n).toLocaleString('en-US');

/** A rate difference in percentage points with its sign, one decimal (two below 1 point). */
export function points(x: number): string {
  const p = x * 100;
  const digits = Math.abs(p) < 1 && p !== 0 ? 2 : 1;
  const text = p.toFixed(digits);
  return p > 0 || (p === 0 && !text.startsWith('-')) ? `+${text}` : text;
}

export function formatP(p: number): string {
  if (p < 0.001) return 'p < 0.001';
  return `p = ${p.toFixed(3)}`;
}

/** How many of what, rounded to two significant figures ("about 2,600"). */
function about(n: number): string {
  if (n < 100) return count(n);
  const magnitude = 10 ** (Math.floor(Math.log10(n)) - 1);
  return count(Math.ceil(n / magnitude) * magnitude);
}

function metricWords(metric: MetricName, control: string, thresholdMs: number | null): string {
  switch (metric) {
    case 'accuracy':
      return 'accuracy';
    case 'error_rate':
      return 'error rate';
    case 'latency_p95':
    case 'latency_p50': {
      const q = metric === 'latency_p95' ? 'p95' : 'p50';
      const at = thresholdMs === null ? '' : ` (${thresholdMs.toFixed(1)} ms)`;
      return `share of requests slower than v${control}'s ${q}${at}`;
    }
  }
}

export function describeJudgement(options: {
  judgement: Judgement;
  control: string;
  unit: 'request' | 'user';
  /** For latency metrics: the frozen threshold. */
  thresholdMs?: number | null;
}): string {
  const { judgement: j, control, unit } = options;
  const spec = METRICS[j.metric];
  const head = `v${j.candidate} vs v${control}: ${metricWords(j.metric, control, options.thresholdMs ?? null)}`;
  const what = spec.observation === 'labelled' ? 'labelled' : 'requests';
  const sizes =
    `${count(j.n.candidate)} / ${count(j.n.control)} ${what}` +
    (unit === 'user' ? `, ${count(j.units.candidate)} / ${count(j.units.control)} users` : '');
  if (
    j.verdict === 'insufficient_data' ||
    j.estimate === null ||
    j.ci === null ||
    j.pValueAdjusted === null
  ) {
    return `${head}: too little data for a verdict (${sizes} so far)`;
  }
  const interval = `${points(j.estimate)} points [${points(j.ci[0])}, ${points(j.ci[1])}]`;
  const evidence = `(${formatP(j.pValueAdjusted)}, always valid; ${sizes})`;
  switch (j.verdict) {
    case 'better':
    case 'worse':
      return `${head} ${interval}, ${j.verdict} ${evidence}`;
    case 'no_difference':
      return `${head} ${interval}, no difference larger than ${points(j.noDifferenceLargerThan ?? j.margin).slice(1)} points ${evidence}`;
    case 'inconclusive': {
      const margin = `${points(j.margin).slice(1)} points`;
      const more =
        j.moreObservationsNeeded === null
          ? `inconclusive (no estimate yet of the ${what} needed to detect ${margin})`
          : `inconclusive: about ${about(j.moreObservationsNeeded)} more ${what === 'labelled' ? 'labelled rows' : 'requests'} per arm to detect ${margin}`;
      return `${head} ${interval}, ${more} ${evidence}`;
    }
  }
}
