/** `modelgate report M`: the gateway's experiment report (GET /experiments/M) as a table. */
import type { Command } from 'commander';
import { parseHttpUrl } from '../../common/config';
import type { ExperimentReport } from '../../gateway/experiments/report';
import type { ExperimentReport as VerdictReport } from '../../tracking/experiments/report';
import { registryClient } from './experiment';

const pct = (x: number | null | undefined, digits = 1) =>
  x === null || x === undefined ? '-' : `${(x * 100).toFixed(digits)}%`;
const ms = (x: number | null) => (x === null ? '-' : x.toFixed(1));
const num = (x: number | null | undefined, digits = 3) =>
  x === null || x === undefined ? '-' : x.toFixed(digits);
const pValue = (p: number | undefined) => (p === undefined ? '-' : p < 0.001 ? '<0.001' : p.toFixed(3));

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r) =>
      r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '),
    )
    .join('\n');
}

export function formatReport(r: ExperimentReport): string {
  const header = [
    'version',
    'weight',
    'share',
    'requests',
    'errors',
    'p50 ms',
    'p95 ms',
    'p99 ms',
    'accuracy',
    '95% CI',
    'Δ acc pts',
    'p (acc)',
    'p (latency)',
    'PSI max',
  ];
  const rows = r.versions.map((v) => [
    `${v.version}${v.control ? ' (control)' : ''}`,
    v.weightPercent === null ? '-' : `${v.weightPercent}%`,
    pct(v.share),
    String(v.requests),
    pct(v.errorRate, 2),
    ms(v.latencyMs.p50),
    ms(v.latencyMs.p95),
    ms(v.latencyMs.p99),
    v.accuracy.rate === null ? '-' : `${pct(v.accuracy.rate)} of ${v.accuracy.labelled}`,
    v.accuracy.ci95 ? `${pct(v.accuracy.ci95[0])}–${pct(v.accuracy.ci95[1])}` : '-',
    v.vsControl?.accuracy
      ? `${v.vsControl.accuracy.differencePoints >= 0 ? '+' : ''}${v.vsControl.accuracy.differencePoints.toFixed(1)}`
      : '-',
    pValue(v.vsControl?.accuracy?.p),
    pValue(v.vsControl?.latency?.p),
    num(v.drift?.psiMax),
  ]);
  return [
    `${r.model}: policy revision ${r.revision}, since ${r.since}, ${r.requests} requests, from the evidence store`,
    '',
    table([header, ...rows]),
    '',
    r.summary,
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
      'the A/B experiment report of a model: per version traffic, errors, latency, accuracy and significance',
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
        body !== null && typeof body === 'object' && 'comparisons' in body
          ? formatExperimentReport(body as VerdictReport)
          : formatReport(body as ExperimentReport);
      process.stdout.write(options.json ? `${JSON.stringify(body, null, 2)}\n` : text);
    });
}
