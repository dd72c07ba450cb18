/** `modelgate report M`: the gateway's experiment report (GET /experiments/M) as a table. */
import type { Command } from 'commander';
import { parseHttpUrl } from '../../common/config';
import type { NoExperimentReport } from '../../tracking/experiments/no-experiment';
import type { ExperimentReport as VerdictReport } from '../../tracking/experiments/report';
import { registryClient } from './experiment';

const pct = (x: number | null | undefined, digits = 1) =>
  x === null || x === undefined ? '-' : `${(x * 100).toFixed(digits)}%`;
const ms = (x: number | null) => (x === null ? '-' : x.toFixed(1));
const num = (x: number | null | undefined, digits = 3) =>
  x === null || x === undefined ? '-' : x.toFixed(digits);

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r) =>
      r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '),
    )
    .join('\n');
}

/** With no experiment running: the counts per version, then how to start one (no comparison). */
export function formatReport(r: NoExperimentReport): string {
  const header = ['version', 'weight', 'requests', 'errors', 'p50 ms', 'p95 ms', 'accuracy', 'PSI max'];
  const rows = r.versions.map((v) => [
    v.version,
    v.weight_percent === null ? '-' : `${v.weight_percent}%`,
    String(v.requests),
    pct(v.error_rate, 2),
    ms(v.latency_p50_ms),
    ms(v.latency_p95_ms),
    v.accuracy === null ? '-' : `${pct(v.accuracy)} of ${v.labelled}`,
    num(v.drift_psi_max),
  ]);
  return [
    `${r.model}: no experiment running; counts since ${r.since ?? 'no stored prediction'}, from the evidence store`,
    '',
    table([header, ...rows]),
    '',
    r.message,
    '',
  ].join('\n');
}

/** The report of a stored experiment: SRM first, then each comparison in words, then what to do. */
export function formatExperimentReport(r: VerdictReport): string {
  const e = r.experiment;
  const arms = table([
    ['version', 'role', 'requests', 'rows', 'errors', 'labelled', 'correct', 'units', 'p50 ms', 'p95 ms'],
    ...r.arms.map((a) => [
      a.version,
      a.role,
      String(a.requests),
      String(a.rows),
      String(a.errors),
      String(a.labelled),
      String(a.correct),
      e.unit === 'user' ? String(a.units) : '-',
      ms(a.latency_p50_ms),
      ms(a.latency_p95_ms),
    ]),
  ]);
  return [
    `${r.model}: experiment ${e.id} (${e.status}${e.end_reason ? `: ${e.end_reason}` : ''}), control v${e.control}, unit ${e.unit}, since ${e.started_at}`,
    `${r.srm.ok ? '' : '!! '}${r.srm.text}`,
    ...(r.allocation.warning ? [`!! ${r.allocation.warning}`] : []),
    '',
    arms,
    '',
    ...r.comparisons.map((c) => c.text),
    '',
    `next: ${r.recommendation.text}`,
    `(always-valid tests over ${r.looks.closed} looks of ${r.looks.every_ms / 1000} s, data through ${r.looks.through}; Holm-adjusted p-values)`,
    '',
  ].join('\n');
}

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description(
      'the experiment report of a model: always-valid verdicts of the running experiment, or counts per version and how to start one',
    )
    .argument('<model>', 'model name')
    .option('--json', 'print the report as JSON')
    .option('--gateway <url>', 'gateway base URL (default $GATEWAY_URL or http://127.0.0.1:8000)')
    .option('--experiment <id>', "a stored experiment's report, from the registry (REGISTRY_URL)")
    .action(async (model: string, options: { json?: boolean; gateway?: string; experiment?: string }) => {
      if (options.experiment) {
        const stored = await registryClient().experimentReport(model, options.experiment);
        process.stdout.write(
          options.json ? `${JSON.stringify(stored, null, 2)}\n` : formatExperimentReport(stored),
        );
        return;
      }
      const base = parseHttpUrl(
        options.gateway ? '--gateway' : 'GATEWAY_URL',
        options.gateway ?? process.env.GATEWAY_URL ?? 'http://127.0.0.1:8000',
      );
      let res: Response;
      try {
        res = await fetch(`${base}/experiments/${encodeURIComponent(model)}`, {
          signal: AbortSignal.timeout(30_000),
        });
      } catch (err) {
        throw new Error(
          `cannot reach the gateway at ${base} (${(err as Error).message}); set GATEWAY_URL or --gateway`,
        );
      }
      const body = (await res.json().catch(() => null)) as unknown;
      if (!res.ok) {
        const message =
          (body as { error?: { message?: string } } | null)?.error?.message ?? `HTTP ${res.status}`;
        throw new Error(`the gateway refused the report (${res.status}): ${message}`);
      }
      const text =
        (body as { experiment?: unknown } | null)?.experiment === null
          ? formatReport(body as NoExperimentReport)
          : formatExperimentReport(body as VerdictReport);
      process.stdout.write(options.json ? `${JSON.stringify(body, null, 2)}\n` : text);
    });
}
