/** Shared inputs for the rollout unit tests: a policy, a spec parsed the way the API parses it, and
 * reports with chosen verdicts. */
import type { Policy } from '../../../common/wire';
import type { ReportComparison, RolloutReport, Verdict } from '../../../registry/rollouts/report';
import { parseRolloutSpec, type RolloutSpec } from '../../../registry/rollouts/spec';

export const basePolicy: Policy = {
  variants: [{ version: '1', weight: 100 }],
  sticky: null,
  shadow: null,
  aliases: { stable: '1', canary: '1', legacy: '1' },
  failover: true,
  revision: 4,
};

export function spec(body: Record<string, unknown> = {}, policy: Policy = basePolicy): RolloutSpec {
  return parseRolloutSpec(
    { candidate: '2', ...body },
    { model: 'digits', versions: ['1', '2', '3'], policy },
  );
}

export interface Counts {
  rows?: number;
  labelled?: number;
  correct?: number;
  p95?: number | null;
  psi?: number | null;
}

export function report(options: {
  control?: Counts;
  candidate?: Counts;
  verdicts?: Partial<
    Record<
      'accuracy' | 'error_rate' | 'latency_p95',
      { verdict: Verdict; p?: number; ci?: [number, number]; estimate?: number }
    >
  >;
  srmOk?: boolean;
}): RolloutReport {
  const arm = (version: string, role: string, c: Counts = {}) => ({
    version,
    role,
    requests: c.rows ?? 0,
    rows: c.rows ?? 0,
    errors: 0,
    labelled: c.labelled ?? 0,
    correct: c.correct ?? 0,
    latency_p95_ms: c.p95 === undefined ? 10 : c.p95,
    drift_psi_max: c.psi ?? null,
  });
  const comparisons: ReportComparison[] = Object.entries(options.verdicts ?? {}).map(([metric, v]) => ({
    candidate: '2',
    metric,
    estimate: v.estimate ?? 0,
    ci: v.ci ?? [-0.01, 0.01],
    p_value: v.p ?? 0.5,
    verdict: v.verdict,
    more_rows_needed: v.verdict === 'inconclusive' ? 1200 : null,
  }));
  return {
    experiment: { id: 'e1', control: '1', candidates: ['2'] },
    srm: { ok: options.srmOk ?? true, p_value: options.srmOk === false ? 0.0001 : 0.6 },
    arms: [arm('1', 'control', options.control), arm('2', 'candidate', options.candidate)],
    comparisons,
  };
}

/** Every gate of the default spec holds. */
export const allHold = {
  accuracy: { verdict: 'no_difference' as const, p: 0.6 },
  error_rate: { verdict: 'no_difference' as const, p: 0.7 },
  latency_p95: { verdict: 'no_difference' as const, p: 0.5, ci: [-1, 1] as [number, number] },
};
