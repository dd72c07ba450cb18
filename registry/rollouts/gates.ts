/** Gates, judged from the experiment report's always-valid verdicts. Like Argo's
 * `assessMetricStatus`, each gate maps evidence to one of three outcomes: it holds, it is violated
 * (roll back now), or it is not yet decided (wait). Nothing here reads a clock or a file. */
import type { ReportArm, ReportComparison, RolloutReport, Verdict } from './report';
import type { RolloutSpec } from './spec';

export type GateName = 'accuracy' | 'error_rate' | 'latency_p95_ms' | 'drift_psi_max' | 'srm';

export interface GateResult {
  name: GateName;
  verdict: Verdict | 'ok' | 'over_ceiling' | 'mismatch' | 'not_measured';
  /** true: holds; false: violated; null: not decided yet. */
  ok: boolean | null;
  /** Violated with always-valid evidence (p below alpha): the rollout rolls back at once. */
  violated: boolean;
  text: string;
  p_value: number | null;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function pOf(c: ReportComparison): number | null {
  return c.p_value_adjusted ?? c.p_value ?? null;
}

function find(report: RolloutReport, candidate: string, metric: string): ReportComparison | undefined {
  return report.comparisons.find((c) => c.candidate === candidate && c.metric === metric);
}

function pendingText(c: ReportComparison | undefined, metric: string): string {
  if (!c) return `${metric}: no comparison in the report yet`;
  const more = c.more_rows_needed;
  const rows = more ? `; about ${more} more labelled rows per arm` : '';
  return `${metric}: ${c.verdict.replace('_', ' ')}${rows}`;
}

/** `not_worse` holds on better or no_difference, is violated on worse with p < alpha, waits otherwise;
 * `better` holds only on better. */
function verdictGate(
  name: 'accuracy' | 'error_rate',
  need: 'not_worse' | 'better',
  c: ReportComparison | undefined,
  alpha: number,
): GateResult {
  const p = c ? pOf(c) : null;
  const base = { name, p_value: p, verdict: c?.verdict ?? ('insufficient_data' as Verdict) };
  if (c?.verdict === 'worse' && p !== null && p < alpha) {
    return { ...base, ok: false, violated: true, text: c.text ?? `${name}: worse (p=${p.toPrecision(2)})` };
  }
  const holds =
    c !== undefined && (c.verdict === 'better' || (need === 'not_worse' && c.verdict === 'no_difference'));
  if (holds)
    return { ...base, ok: true, violated: false, text: c.text ?? `${name}: ${c.verdict.replace('_', ' ')}` };
  return { ...base, ok: null, violated: false, text: pendingText(c, name) };
}

/** The candidate's p95 may exceed the control's by at most the budget, in milliseconds on the arms'
 * p95. The report's latency_p95 comparison (an always-valid test of how often each arm is slower than
 * the control's p95) decides whether an excess is real: over budget and significantly slower rolls
 * back; over budget without significance waits; within budget holds. */
function latencyGate(
  budget: number,
  c: ReportComparison | undefined,
  control: ReportArm | undefined,
  candidate: ReportArm | undefined,
  alpha: number,
): GateResult {
  const p = c ? pOf(c) : null;
  const base = {
    name: 'latency_p95_ms' as const,
    p_value: p,
    verdict: c?.verdict ?? ('insufficient_data' as Verdict),
  };
  const controlP95 = control?.latency_p95_ms ?? null;
  const candidateP95 = candidate?.latency_p95_ms ?? null;
  if (controlP95 === null || candidateP95 === null) {
    return { ...base, ok: null, violated: false, text: 'latency p95: not measured on both arms yet' };
  }
  const limit = controlP95 * (1 + budget);
  const words = `latency p95 ${candidateP95.toFixed(1)} ms vs ${controlP95.toFixed(1)} ms (budget +${pct(budget)}: ${limit.toFixed(1)} ms)`;
  if (candidateP95 <= limit) return { ...base, ok: true, violated: false, text: `${words}: within budget` };
  if (c?.verdict === 'worse' && p !== null && p < alpha)
    return {
      ...base,
      ok: false,
      violated: true,
      text: `${words}: over budget and slower (p=${p.toPrecision(2)})`,
    };
  return { ...base, ok: null, violated: false, text: `${words}: over budget, not yet significant` };
}

/** PSI is a distance, not a test: above the ceiling is a violation, no measurement does not block. */
function driftGate(ceiling: number, arm: ReportArm | undefined): GateResult {
  const psi = arm?.drift_psi_max ?? null;
  const base = { name: 'drift_psi_max' as const, p_value: null };
  if (psi === null)
    return { ...base, verdict: 'not_measured', ok: true, violated: false, text: 'drift: not measured yet' };
  if (psi > ceiling)
    return {
      ...base,
      verdict: 'over_ceiling',
      ok: false,
      violated: true,
      text: `drift: PSI ${psi.toFixed(3)} above the ceiling ${ceiling}`,
    };
  return {
    ...base,
    verdict: 'ok',
    ok: true,
    violated: false,
    text: `drift: PSI ${psi.toFixed(3)} ≤ ${ceiling}`,
  };
}

/** A broken split makes every comparison suspect: hold (never advance) until it clears. Once the
 * rollout has changed the weights, the report's check compares the whole experiment's assignments
 * with the latest weights only, so a mismatch is then expected and only reported, not held on. */
function srmGate(report: RolloutReport, weightsChanged: boolean): GateResult {
  const srm = report.srm;
  const base = { name: 'srm' as const, p_value: srm?.p_value ?? null };
  if (srm && !srm.ok && weightsChanged)
    return {
      ...base,
      verdict: 'mismatch',
      ok: true,
      violated: false,
      text: 'sample ratio check not applicable: the weights changed during the experiment',
    };
  if (srm && !srm.ok)
    return {
      ...base,
      verdict: 'mismatch',
      ok: null,
      violated: false,
      text: `sample ratio mismatch (p=${srm.p_value?.toPrecision(2) ?? '?'}): the observed split differs from the weights`,
    };
  return { ...base, verdict: 'ok', ok: true, violated: false, text: 'split matches the weights' };
}

export function evaluateGates(
  spec: RolloutSpec,
  report: RolloutReport,
  weightsChanged = false,
): GateResult[] {
  const { gates, candidate, control, alpha } = spec;
  const arm = (v: string) => report.arms.find((a) => a.version === v);
  const out: GateResult[] = [];
  if (gates.accuracy)
    out.push(verdictGate('accuracy', gates.accuracy, find(report, candidate, 'accuracy'), alpha));
  if (gates.error_rate)
    out.push(verdictGate('error_rate', 'not_worse', find(report, candidate, 'error_rate'), alpha));
  if (gates.latency_p95_budget !== undefined)
    out.push(
      latencyGate(
        gates.latency_p95_budget,
        find(report, candidate, 'latency_p95'),
        arm(control),
        arm(candidate),
        alpha,
      ),
    );
  if (gates.drift_psi_max !== undefined) out.push(driftGate(gates.drift_psi_max, arm(candidate)));
  out.push(srmGate(report, weightsChanged));
  return out;
}
