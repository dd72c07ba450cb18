/** `modelgate migrate` (bring DATABASE_URL's schema up to date; `up` runs it before any child
 * starts) and `modelgate predictions M` (the stored prediction rows, from a gateway's
 * GET /predictions, as a table, CSV or JSON). */
import type { Command } from 'commander';
import { DEFAULT_DATABASE_URL } from '../../tracking/config';
import { openDatabase } from '../../tracking/store/database';
import { action, CliError, renderTable } from '../output';

interface PredictionRow {
  request_id: string;
  row: number;
  model: string;
  version: string;
  reason: string;
  status: number;
  latency_ms: number;
  predicted_class: string | null;
  confidence: number | null;
  label: string | null;
  correct: boolean | null;
  created_at: string;
}

const CSV_COLUMNS: (keyof PredictionRow)[] = [
  'created_at',
  'request_id',
  'row',
  'model',
  'version',
  'reason',
  'status',
  'latency_ms',
  'predicted_class',
  'confidence',
  'label',
  'correct',
];

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** "1h", "30m", "7d", "45s" or an ISO time → epoch ms. */
export function parseSince(value: string, now: number): number {
  const m = /^(\d{1,6})([smhd])$/.exec(value.trim());
  if (m) return now - Number(m[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's']!;
  const t = Date.parse(value);
  if (Number.isNaN(t))
    throw new CliError(`--since ${JSON.stringify(value)}: write a duration (30m, 1h, 7d) or an ISO time`);
  return t;
}

export function registerTrackingCommands(program: Command): void {
  program
    .command('migrate')
    .description(
      'apply pending evidence-store migrations to DATABASE_URL (services also do this at start-up)',
    )
    .action(
      action(async () => {
        const url = process.env.DATABASE_URL?.trim() || DEFAULT_DATABASE_URL;
        const db = await openDatabase(url);
        await db.close();
        process.stdout.write(`migrated ${db.url}\n`);
      }),
    );

  program
    .command('predictions')
    .description(
      'stored predictions of a model, newest first, with their feedback (GET /predictions on the gateway)',
    )
    .argument('<model>', 'model name')
    .option('--version <v>', 'only this version')
    .option('--since <when>', 'only since a duration ago (30m, 1h, 7d) or an ISO time')
    .option('--feedback <which>', 'only rows whose label was correct, incorrect, or unlabelled ones')
    .option('--limit <n>', 'at most this many rows (default 100; pages are followed)', '100')
    .option('--csv', 'print CSV')
    .option('--json', 'print JSON')
    .option('--gateway <url>', 'gateway base URL (default $GATEWAY_URL or http://127.0.0.1:8000)')
    .action(
      action(
        async (
          model: string,
          options: {
            version?: string;
            since?: string;
            feedback?: string;
            limit: string;
            csv?: boolean;
            json?: boolean;
            gateway?: string;
          },
        ) => {
          const base = (options.gateway ?? process.env.GATEWAY_URL ?? 'http://127.0.0.1:8000').replace(
            /\/$/,
            '',
          );
          const wanted = Number(options.limit);
          if (!Number.isInteger(wanted) || wanted < 1)
            throw new CliError('--limit must be a positive integer');
          if (
            options.feedback !== undefined &&
            !['correct', 'incorrect', 'unlabelled'].includes(options.feedback)
          )
            throw new CliError(
              `--feedback must be correct, incorrect or unlabelled, got "${options.feedback}"`,
            );
          const token = process.env.ADMIN_TOKEN?.trim();
          const rows: PredictionRow[] = [];
          let cursor: string | null = null;
          do {
            const query = new URLSearchParams({ model, limit: String(Math.min(1000, wanted - rows.length)) });
            if (options.version) query.set('version', options.version);
            if (options.feedback) query.set('feedback', options.feedback);
            if (options.since)
              query.set('since', new Date(parseSince(options.since, Date.now())).toISOString());
            if (cursor) query.set('cursor', cursor);
            let res: Response;
            try {
              res = await fetch(`${base}/predictions?${query}`, {
                headers: token ? { authorization: `Bearer ${token}` } : {},
                signal: AbortSignal.timeout(30_000),
              });
            } catch (err) {
              throw new CliError(
                `cannot reach the gateway at ${base} (${(err as Error).message}); set GATEWAY_URL or --gateway`,
              );
            }
            const body = (await res.json().catch(() => null)) as {
              predictions: PredictionRow[];
              next_cursor: string | null;
              error?: { message?: string };
            } | null;
            if (!res.ok || !body) {
              throw new CliError(
                `the gateway refused GET /predictions (${res.status}): ${body?.error?.message ?? 'no JSON body'}`,
              );
            }
            rows.push(...body.predictions);
            cursor = body.next_cursor;
          } while (cursor && rows.length < wanted);
          if (options.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
          else if (options.csv) {
            const lines = [
              CSV_COLUMNS.join(','),
              ...rows.map((r) => CSV_COLUMNS.map((c) => csvCell(r[c])).join(',')),
            ];
            process.stdout.write(`${lines.join('\n')}\n`);
          } else {
            process.stdout.write(
              `${
                rows.length
                  ? renderTable(rows, [
                      { header: 'time', value: (r) => r.created_at },
                      {
                        header: 'request_id',
                        value: (r) => (r.row > 0 ? `${r.request_id}:${r.row}` : r.request_id),
                      },
                      { header: 'version', value: (r) => r.version },
                      { header: 'reason', value: (r) => r.reason },
                      { header: 'status', value: (r) => r.status, align: 'right' },
                      { header: 'ms', value: (r) => r.latency_ms.toFixed(1), align: 'right' },
                      { header: 'class', value: (r) => r.predicted_class },
                      { header: 'conf', value: (r) => r.confidence?.toFixed(3), align: 'right' },
                      { header: 'label', value: (r) => r.label },
                    ])
                  : '(none)'
              }\n`,
            );
          }
        },
      ),
    );
}
