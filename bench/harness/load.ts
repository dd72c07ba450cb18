/** One load run against one or more URLs. Closed-loop runs use wrk when it is installed: it is C and
 * costs a fraction of the CPU autocannon does, which matters on a 2-core machine where the load
 * generator competes with what it measures. Fixed-rate runs and runs spread over several URLs use
 * autocannon (wrk has neither), recording every latency itself at sub-millisecond precision because
 * autocannon's own histogram rounds to whole milliseconds and "≤ 2 ms p99 added" needs better. */
import { execFile, execFileSync } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { percentile } from './stats';

export interface LoadSpec {
  /** Connections are spread evenly over these URLs (same method, body and headers for all). */
  urls: string[];
  method?: 'GET' | 'POST';
  body?: string;
  headers?: Record<string, string>;
  connections: number;
  durationS: number;
  /** Requests per second over all connections; omitted means as fast as the server answers. */
  rate?: number;
  /** Force a generator; by default wrk for closed-loop single-URL runs when installed. */
  generator?: 'wrk' | 'autocannon';
}

export interface LoadResult {
  generator: 'wrk' | 'autocannon';
  requests: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Non-2xx answers plus socket errors and timeouts. */
  failures: number;
  statusCounts: Record<string, number>;
}

let wrkPath: string | null | undefined;
export function findWrk(): string | null {
  if (wrkPath === undefined) {
    try {
      wrkPath = execFileSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' }).trim() || null;
    } catch {
      wrkPath = null;
    }
  }
  return wrkPath;
}

export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const wrk = findWrk();
  const useWrk =
    spec.generator === 'wrk' ||
    (spec.generator === undefined && wrk && spec.rate === undefined && spec.urls.length === 1);
  if (useWrk) {
    if (!wrk) throw new Error('wrk was requested but is not installed (apt-get install wrk)');
    if (spec.rate !== undefined || spec.urls.length !== 1) throw new Error('wrk runs one URL, closed loop');
    return runWrk(wrk, spec);
  }
  return runAutocannon(spec);
}

// wrk prints its own summary; this script adds one machine-readable line with exact percentiles.
const WRK_SCRIPT = (bodyFile: string | undefined, method: string, headers: Record<string, string>) => `
wrk.method = ${JSON.stringify(method)}
${bodyFile ? `local f = assert(io.open(${JSON.stringify(bodyFile)}, "rb")); wrk.body = f:read("*a"); f:close()` : ''}
${Object.entries(headers)
  .map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`)
  .join('\n')}
done = function(summary, latency, requests)
  io.write(string.format('\\nBENCH_JSON {"requests":%d,"duration_us":%d,"status":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, latency:percentile(50), latency:percentile(99)))
end
`;

async function runWrk(wrk: string, spec: LoadSpec): Promise<LoadResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'modelgate-wrk-'));
  try {
    const bodyFile = spec.body === undefined ? undefined : path.join(dir, 'body.json');
    if (bodyFile) writeFileSync(bodyFile, spec.body ?? '');
    const headers = {
      ...(spec.body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...spec.headers,
    };
    const script = path.join(dir, 'run.lua');
    writeFileSync(script, WRK_SCRIPT(bodyFile, spec.method ?? 'GET', headers));
    const threads = Math.max(1, Math.min(2, spec.connections));
    const args = [
      `-t${threads}`,
      `-c${spec.connections}`,
      `-d${spec.durationS}s`,
      '--timeout',
      '10s',
      '-s',
      script,
      spec.urls[0] as string,
    ];
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(wrk, args, { encoding: 'utf8', timeout: (spec.durationS + 60) * 1000 }, (err, out, errOut) =>
        err ? reject(new Error(`wrk failed: ${err.message}\n${errOut}`)) : resolve(out),
      ),
    );
    const line = stdout.split('\n').find((l) => l.startsWith('BENCH_JSON '));
    if (!line) throw new Error(`wrk printed no result line:\n${stdout}`);
    const r = JSON.parse(line.slice('BENCH_JSON '.length)) as Record<string, number>;
    const socketErrors = (r.connect ?? 0) + (r.read ?? 0) + (r.write ?? 0) + (r.timeout ?? 0);
    const requests = r.requests ?? 0;
    return {
      generator: 'wrk',
      requests,
      rps: requests / ((r.duration_us ?? 1) / 1e6),
      p50Ms: (r.p50_us ?? Number.NaN) / 1000,
      p99Ms: (r.p99_us ?? Number.NaN) / 1000,
      failures: (r.status ?? 0) + socketErrors,
      statusCounts: { error: r.status ?? 0, socket: socketErrors },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runAutocannon(spec: LoadSpec): Promise<LoadResult> {
  const latencies: number[] = [];
  const statusCounts: Record<string, number> = {};
  // autocannon takes an array of URLs and spreads connections over them; its types say string only.
  const instance = autocannon({
    url: (spec.urls.length === 1 ? spec.urls[0] : spec.urls) as string,
    method: spec.method ?? 'GET',
    body: spec.body,
    headers: { ...(spec.body === undefined ? {} : { 'content-type': 'application/json' }), ...spec.headers },
    connections: spec.connections,
    duration: spec.durationS,
    timeout: 10,
    ...(spec.rate === undefined
      ? {}
      : // Each connection sends at rate/connections per second, far apart compared with the latency
        // measured, so coordinated omission does not arise; autocannon's correction assumes
        // millisecond intervals and would invent latencies that never happened.
        { overallRate: spec.rate, ignoreCoordinatedOmission: true }),
  }) as unknown as EventEmitter & PromiseLike<autocannon.Result>;
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTimeMs: number) => {
    latencies.push(responseTimeMs);
    const key = String(statusCode);
    statusCounts[key] = (statusCounts[key] ?? 0) + 1;
  });
  const result = await instance;
  const ok = Object.entries(statusCounts)
    .filter(([code]) => code.startsWith('2'))
    .reduce((sum, [, n]) => sum + n, 0);
  const socketErrors = result.errors + result.timeouts;
  if (socketErrors) statusCounts.socket = socketErrors;
  return {
    generator: 'autocannon',
    requests: latencies.length,
    rps: latencies.length / result.duration,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    failures: latencies.length - ok + socketErrors,
    statusCounts,
  };
}
