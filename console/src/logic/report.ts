/** Words and levels for the experiment report's verdicts and recommendation, and the SRM banner. */
import { formatP } from './format';

export function verdictText(v: string): string {
  switch (v) {
    case 'better':
      return 'better';
    case 'worse':
      return 'worse';
    case 'no_difference':
      return 'no difference';
    case 'inconclusive':
      return 'inconclusive';
    case 'insufficient_data':
      return 'not enough data';
    default:
      return v.replace(/_/g, ' ');
  }
}

export function actionTitle(a: string): string {
  switch (a) {
    case 'keep_collecting':
      return 'Keep collecting';
    case 'safe_to_promote':
      return 'Safe to promote';
    case 'roll_back':
      return 'Roll back';
    case 'fix_split':
      return 'Fix the split first';
    default:
      return a.replace(/_/g, ' ');
  }
}

export function actionKind(a: string): 'ok' | 'warn' | 'error' | 'info' {
  if (a === 'safe_to_promote') return 'ok';
  if (a === 'roll_back' || a === 'fix_split') return 'error';
  return 'info';
}

export interface Srm {
  ok: boolean;
  p_value: number | null;
  observed: Record<string, number>;
  expected_percent: Record<string, number>;
}

/** The sample-ratio-mismatch line: observed counts against the configured shares. */
export function srmText(srm: Srm): string {
  const total = Object.values(srm.observed).reduce((a, b) => a + b, 0);
  const parts = Object.keys(srm.expected_percent).map((v) => {
    const seen = srm.observed[v] ?? 0;
    const share = total > 0 ? ((seen / total) * 100).toFixed(1) : '—';
    return `v${v} ${seen.toLocaleString('en')} requests (${share} %, configured ${srm.expected_percent[v]} %)`;
  });
  const head = srm.ok
    ? 'The observed split matches the configured weights'
    : 'Sample ratio mismatch: the observed split does not match the configured weights, so the comparisons below are not trustworthy until the cause is found';
  return `${head} (${formatP(srm.p_value)}): ${parts.join(', ')}.`;
}
