/** A real Prometheus for the e2e suite: Debian's binary (installed by .ci/run), a temp config whose
 * scrape targets are the test's ports, and the committed rule files unchanged. */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../../bench/harness/free-port';
import { ROOT } from '../../helpers/processes';

export { freePort };

export const RULE_FILES = ['recording.yml', 'alerts.yml'].map((f) =>
  path.join(ROOT, 'monitoring', 'prometheus', 'rules', f),
);

export function promtool(args: string[], input?: string): { code: number | null; output: string } {
  const r = spawnSync('promtool', args, {
    cwd: path.join(ROOT, 'monitoring', 'prometheus'),
    input,
    encoding: 'utf8',
  });
  if (r.error) throw new Error(`promtool is not installed (apt-get install prometheus): ${r.error.message}`);
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

export interface Targets {
  gateway: string[];
  registry: string[];
  'model-server': string[];
}

export interface RunningPrometheus {
  url: string;
  query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  alerts(): Promise<{ labels: Record<string, string>; state: string }[]>;
  stop(): Promise<void>;
}

export async function startPrometheus(port: number, targets: Targets): Promise<RunningPrometheus> {
  const dir = await mkdtemp(path.join(tmpdir(), 'modelgate-prom-'));
  const jobs = Object.entries(targets)
    .map(
      ([job, hosts]) =>
        `  - job_name: ${job}\n    static_configs:\n      - targets: [${hosts.map((h: string) => `"${h}"`).join(', ')}]`,
    )
    .join('\n');
  const config = [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    'rule_files:',
    ...RULE_FILES.map((f) => `  - ${f}`),
    'scrape_configs:',
    jobs,
    '',
  ].join('\n');
  await writeFile(path.join(dir, 'prometheus.yml'), config);
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited: ${stderr}`);
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`prometheus not ready after 60 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 250)); // no readiness event to await: poll its endpoint
  }
  const api = async <T>(p: string): Promise<T> => {
    const res = await fetch(`${url}${p}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${p}: ${body.error}`);
    return body.data;
  };
  return {
    url,
    query: async (promql) =>
      (
        await api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(
          `/api/v1/query?query=${encodeURIComponent(promql)}`,
        )
      ).result,
    alerts: async () =>
      (await api<{ alerts: { labels: Record<string, string>; state: string }[] }>('/api/v1/alerts')).alerts,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
