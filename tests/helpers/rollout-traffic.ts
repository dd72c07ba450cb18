/** Traffic that drives a rollout on real processes: predictions of the shipped digits samples
 * through a gateway, each followed by its true label as feedback (models/digits/sample.json and
 * sample-labels.json), seeded, plus the small HTTP and polling helpers the rollout tests share
 * (the rollout stack, `modelgate up`, the compose wiring and the console's browser test). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { seededRandom } from '../../common/seeded-random';
import { ROOT } from './processes';

const samples = JSON.parse(readFileSync(path.join(ROOT, 'models/digits/sample.json'), 'utf8')) as number[][];
const labels = JSON.parse(
  readFileSync(path.join(ROOT, 'models/digits/sample-labels.json'), 'utf8'),
) as string[];

export const FINAL_STATES = ['promoted', 'rolled_back', 'aborted', 'timed_out'];

export async function call(
  url: string,
  method: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let json: any = text;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, body: json };
}

/** Seeded traffic: predictions of shipped samples through the gateway, each followed by its true
 * label as feedback, `concurrency` at a time, until `until()` holds or the deadline passes. */
export async function driveTraffic(options: {
  gatewayUrl: string;
  seed: number;
  concurrency: number;
  /** Pause between requests per worker, for low-traffic runs. */
  gapMs?: number;
  /** Rows per request (POST /predict/batch, one feedback per row); 1: POST /predict. */
  batch?: number;
  until: () => Promise<boolean>;
  timeoutMs: number;
}): Promise<{ requests: number; errors: number; stoppedBy: 'condition' | 'deadline' }> {
  const random = seededRandom(options.seed);
  const deadline = Date.now() + options.timeoutMs;
  let done = false;
  let requests = 0;
  let errors = 0;
  const worker = async () => {
    while (!done && Date.now() < deadline) {
      const rows = Array.from({ length: options.batch ?? 1 }, () => Math.floor(random() * samples.length));
      try {
        if (rows.length === 1) {
          const res = await call(`${options.gatewayUrl}/predict`, 'POST', {
            model: 'digits',
            features: samples[rows[0]!],
          });
          requests++;
          if (res.status === 200)
            await call(`${options.gatewayUrl}/feedback`, 'POST', {
              request_id: res.body.request_id,
              label: labels[rows[0]!],
            });
          else errors++;
        } else {
          const res = await call(`${options.gatewayUrl}/predict/batch`, 'POST', {
            model: 'digits',
            instances: rows.map((i) => samples[i]),
          });
          requests++;
          if (res.status === 200) {
            const id = res.body.request_id;
            await Promise.all(
              rows.map((i, row) =>
                call(`${options.gatewayUrl}/feedback`, 'POST', { request_id: id, row, label: labels[i] }),
              ),
            );
          } else errors++;
        }
      } catch {
        errors++;
      }
      if (options.gapMs) await new Promise((r) => setTimeout(r, options.gapMs));
    }
  };
  const watcher = async () => {
    while (!done && Date.now() < deadline) {
      if (await options.until().catch(() => false)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    done = true;
  };
  await Promise.all([watcher(), ...Array.from({ length: options.concurrency }, worker)]);
  return { requests, errors, stoppedBy: Date.now() >= deadline ? 'deadline' : 'condition' };
}

/** Polls until `check` holds (there is no event to await across processes). */
export async function eventually<T>(
  read: () => Promise<T>,
  check: (x: T) => boolean,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await read().catch(() => undefined as T);
    if (last !== undefined && check(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`condition not reached in ${timeoutMs} ms; last: ${JSON.stringify(last).slice(0, 1500)}`);
}
