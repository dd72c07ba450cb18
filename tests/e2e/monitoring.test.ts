/** The whole stack with a real Prometheus: registry, four model-servers (digits v1, a planted worse
 * digits v9, penguins v1 and v2), a gateway, and Prometheus scraping them every second with the
 * committed rule files. Drives normal traffic with feedback, then shifted traffic, and checks the
 * rules, the metrics format, every dashboard panel, the drift alert and the experiment report. */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, runCli, type Service, startService } from '../helpers/processes';
import { createTestStore, type TestStore } from '../helpers/test-store';
import { plantSwappedClasses } from './support/planted-version';
import { freePort, promtool, type RunningPrometheus, startPrometheus } from './support/prometheus';

const ADMIN_TOKEN = 'e2e-admin-token';
const DASHBOARDS = path.join(ROOT, 'monitoring', 'grafana', 'dashboards');
const sample = (model: string) => ({
  rows: JSON.parse(readFileSync(path.join(ROOT, 'models', model, 'sample.json'), 'utf8')) as number[][],
  labels: JSON.parse(
    readFileSync(path.join(ROOT, 'models', model, 'sample-labels.json'), 'utf8'),
  ) as string[],
});
/** Digits moved 5 pixels right: the model still sees digits, the drift monitor sees off-centre ones. */
const shiftRight = (row: number[], dx = 5) => row.map((_, i) => (i % 28 >= dx ? row[i - dx]! : 0));

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    // Prometheus scrapes and evaluates on its own 1 s clock; there is no event to await from it.
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, fn: (item: T, i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

describe('monitoring rules', () => {
  it('passes promtool check config on the compose prometheus.yml', () => {
    const r = promtool(['check', 'config', '--syntax-only', 'prometheus.yml']);
    expect(r.output).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  it('passes promtool check rules', () => {
    const r = promtool(['check', 'rules', 'rules/recording.yml', 'rules/alerts.yml']);
    expect(r.code).toBe(0);
  });

  it('passes promtool test rules for every rule file test', () => {
    const tests = readdirSync(path.join(ROOT, 'monitoring', 'prometheus', 'tests')).map((f) => `tests/${f}`);
    expect(tests.length).toBeGreaterThanOrEqual(2);
    const r = promtool(['test', 'rules', ...tests]);
    expect(r.output).not.toContain('FAILED');
    expect(r.code).toBe(0);
  });
});

describe('the stack under Prometheus', () => {
  let store: TestStore;
  let logDir: string;
  let prometheus: RunningPrometheus;
  const services: Service[] = [];
  let registry: Service;
  let gateway: Service;
  const servers: Record<string, Service> = {};

  const post = async (p: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${gateway.url}${p}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    store = await createTestStore();
    logDir = await mkdtemp(path.join(tmpdir(), 'modelgate-e2e-logs-'));
    await plantSwappedClasses(store.dir, 'digits', '1', '9', [0, 1]);
    await writeFile(
      path.join(store.dir, 'digits', 'policy.json'),
      JSON.stringify({
        variants: [
          { version: '1', weight: 50 },
          { version: '9', weight: 50 },
        ],
        sticky: null,
        shadow: { version: '9', percent: 50 },
        aliases: { stable: '1' },
        failover: true,
        revision: 1,
      }),
    );
    const common = { MODEL_STORE: store.dir };
    registry = await startService(['registry'], {
      env: { ...common, ADMIN_TOKEN, HEARTBEAT_INTERVAL_MS: '500' },
    });
    services.push(registry);
    const versions = [
      ['digits', '1'],
      ['digits', '9'],
      ['penguins', '1'],
      ['penguins', '2'],
    ] as const;
    const started = await Promise.all(
      versions.map(([model, version]) =>
        startService(['model-server', '--model', model, '--version', version], {
          env: {
            ...common,
            REGISTRY_URL: registry.url,
            ADMIN_TOKEN,
            HEARTBEAT_INTERVAL_MS: '500',
            DRIFT_WINDOW_ROWS: '300',
            DRIFT_WINDOW_SECONDS: '600',
          },
          timeoutMs: 120_000,
        }),
      ),
    );
    versions.forEach(([m, v], i) => {
      servers[`${m}/${v}`] = started[i]!;
      services.push(started[i]!);
    });
    const prometheusPort = await freePort();
    gateway = await startService(['gateway'], {
      env: {
        REGISTRY_URL: registry.url,
        DATABASE_URL: `sqlite:${path.join(logDir, 'modelgate.db')}`,
        ROUTES_WAIT_S: '1',
      },
    });
    services.push(gateway);
    const hostOf = (s: Service) => `127.0.0.1:${s.port}`;
    prometheus = await startPrometheus(prometheusPort, {
      gateway: [hostOf(gateway)],
      registry: [hostOf(registry)],
      'model-server': started.map(hostOf),
    });
    // Prometheus hands targets to its scrapers a few seconds after start; counting before the first
    // scrape would hide the traffic's start from every rate and report.
    const targetCount = started.length + 2;
    await until('Prometheus scraping every target', async () => {
      const r = await prometheus.query('count(up == 1)');
      return Number(r[0]?.value[1]) === targetCount ? true : undefined;
    });
    // The gateway routes once every version has a live instance in its table.
    await until('all four versions live in the gateway', async () => {
      const text = await (await fetch(`${gateway.url}/metrics`)).text();
      const live = versions.every(([m, v]) =>
        new RegExp(`modelgate_gateway_live_instances\\{[^}]*model="${m}",version="${v}"[^}]*\\} [1-9]`).test(
          text,
        ),
      );
      return live ? true : undefined;
    });
  }, 300_000);

  afterAll(async () => {
    await prometheus?.stop();
    await Promise.all(services.map((s) => s.stop()));
    await store?.cleanup();
    await rm(logDir, { recursive: true, force: true });
  });

  it('serves /metrics that promtool check metrics accepts, on every process', async () => {
    // One prediction per model first, so the per-version series exist.
    const digits = sample('digits');
    const penguins = sample('penguins');
    expect((await post('/predict', { model: 'digits', features: digits.rows[0] })).status).toBe(200);
    expect((await post('/predict', { model: 'penguins', features: penguins.rows[0] })).status).toBe(200);
    const problems: Record<string, string> = {};
    for (const s of services) {
      const text = await (await fetch(`${s.url}/metrics`)).text();
      const r = promtool(['check', 'metrics'], text);
      if (r.code !== 0 || r.output.trim())
        problems[s.lines[0]?.match(/"service":"([^"]+)"/)?.[1] ?? s.url] = r.output.trim();
    }
    expect(problems).toEqual({});
  });

  it('keeps the drift alert quiet on normal traffic and counts feedback per version', async () => {
    const digits = sample('digits');
    const penguins = sample('penguins');
    // Split traffic first; then every held-out row once to each digits version (pinned), so each
    // 300-row drift window ends up holding exactly the held-out sample.
    const jobs = [
      ...Array.from({ length: 300 }, (_, i) => ({
        model: 'digits',
        row: digits.rows[i]!,
        label: digits.labels[i]!,
        pin: '',
      })),
      ...Array.from({ length: 160 }, (_, i) => ({
        model: 'penguins',
        row: penguins.rows[i % 84]!,
        label: penguins.labels[i % 84]!,
        pin: '',
      })),
    ];
    const pinned = ['1', '9'].flatMap((pin) =>
      digits.rows.map((row, i) => ({ model: 'digits', row, label: digits.labels[i]!, pin })),
    );
    let feedbackOk = 0;
    const send = async (job: (typeof jobs)[number]) => {
      const answer = await post(
        '/predict',
        { model: job.model, features: job.row },
        job.pin ? { 'x-model-version': job.pin } : {},
      );
      expect(answer.status).toBe(200);
      const fb = await post('/feedback', { request_id: answer.body.request_id, label: job.label });
      expect(fb.status).toBe(201);
      feedbackOk++;
    };
    await pool(jobs, 8, send);
    await pool(pinned, 8, send);
    expect(feedbackOk).toBe(jobs.length + pinned.length);
    const trafficDoneAt = Date.now() / 1000;

    // Both digits windows are full of held-out rows: drift is exported and reads stable. Only a scrape
    // taken after the last request shows that; an earlier one may hold a window still mid-traffic.
    const psi = await until('digits drift in Prometheus, scraped after the traffic', async () => {
      const scrapedAt = await prometheus.query('timestamp(modelgate_drift_psi_max{model="digits"})');
      if (scrapedAt.length !== 2 || scrapedAt.some((s) => Number(s.value[1]) <= trafficDoneAt))
        return undefined;
      const r = await prometheus.query('modelgate_drift_psi_max{model="digits"}');
      return r.length === 2 ? r : undefined;
    });
    for (const s of psi) expect(Number(s.value[1])).toBeLessThan(0.1);
    await until('feedback counted in Prometheus', async () => {
      const r = await prometheus.query('sum(modelgate_feedback_total{model="digits"})');
      return Number(r[0]?.value[1]) === 900 ? true : undefined;
    });
    const drifting = (await prometheus.alerts()).filter(
      (a) => a.labels.alertname === 'ModelgateDriftSignificant' && a.labels.model === 'digits',
    );
    expect(drifting).toEqual([]);
  });

  it('puts the drift alert in pending on shifted digits', async () => {
    const digits = sample('digits');
    // 40 batches of 20 shifted rows: each version's 300-row window ends up all shifted.
    const batches = Array.from({ length: 40 }, (_, b) =>
      Array.from({ length: 20 }, (_, i) => shiftRight(digits.rows[(b * 20 + i) % 300]!)),
    );
    await pool(batches, 4, async (instances) => {
      const answer = await post('/predict/batch', { model: 'digits', instances });
      expect(answer.status).toBe(200);
    });
    const alert = await until('ModelgateDriftSignificant for digits', async () => {
      const found = (await prometheus.alerts()).find(
        (a) => a.labels.alertname === 'ModelgateDriftSignificant' && a.labels.model === 'digits',
      );
      return found;
    });
    expect(['pending', 'firing']).toContain(alert.state);
    // The split decides how many shifted rows each version saw; the alerting version's window is
    // the one that must show the shift (a version pinned-only in the last test keeps its old rows).
    const psi = await prometheus.query(
      `modelgate_drift_psi{model="digits",version="${alert.labels.version}",feature="center_of_mass_x"}`,
    );
    expect(psi).toHaveLength(1);
    expect(Number(psi[0]!.value[1])).toBeGreaterThan(0.25);
  });

  it('has data behind every panel query of every shipped dashboard', async () => {
    // A registry write, so the registry panels have something to show.
    const current = await fetch(`${registry.url}/models/penguins/policy`);
    const etag = current.headers.get('etag') ?? '"1"';
    const put = await fetch(`${registry.url}/models/penguins/policy`, {
      method: 'PUT',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${ADMIN_TOKEN}`,
        'if-match': etag,
      },
      body: JSON.stringify({
        variants: [
          { version: '1', weight: 60 },
          { version: '2', weight: 40 },
        ],
      }),
    });
    expect(put.status).toBeLessThan(300);

    const exprs: { dashboard: string; panel: string; expr: string }[] = [];
    for (const file of readdirSync(DASHBOARDS).filter((f) => f.endsWith('.json'))) {
      const d = JSON.parse(readFileSync(path.join(DASHBOARDS, file), 'utf8'));
      for (const p of d.panels)
        for (const t of p.targets ?? []) exprs.push({ dashboard: file, panel: p.title, expr: t.expr });
    }
    expect(exprs.length).toBeGreaterThan(30);
    const substitute = (expr: string, model: string) =>
      expr
        .replaceAll('$model', model)
        .replaceAll('$version', '.*')
        .replaceAll('$__rate_interval', '1m')
        .replaceAll('$__range', '1h');
    const empty = await until(
      'data for every panel',
      async () => {
        const missing: string[] = [];
        for (const e of exprs) {
          let found = false;
          for (const model of ['digits', 'penguins']) {
            if ((await prometheus.query(substitute(e.expr, model))).length > 0) {
              found = true;
              break;
            }
          }
          if (!found) missing.push(`${e.dashboard} / ${e.panel}: ${e.expr}`);
        }
        return missing.length === 0 ? missing : undefined;
      },
      45_000,
    ).catch(async () => {
      // Report exactly which panels are empty.
      const missing: string[] = [];
      for (const e of exprs) {
        const results = await Promise.all(
          ['digits', 'penguins'].map((m) => prometheus.query(substitute(e.expr, m))),
        );
        if (results.every((r) => r.length === 0)) missing.push(`${e.dashboard} / ${e.panel}: ${e.expr}`);
      }
      return missing;
    });
    expect(empty).toEqual([]);
  });

  it('finds the planted accuracy difference in the experiment report, from the evidence store', async () => {
    const res = await fetch(`${gateway.url}/experiments/digits`);
    expect(res.status).toBe(200);
    const report = (await res.json()) as {
      source: string;
      control: string;
      versions: {
        version: string;
        accuracy: { rate: number; labelled: number };
        vsControl: { accuracy: { differencePoints: number; p: number; significant: boolean } } | null;
        verdict: string;
      }[];
    };
    expect(report.source).toBe('store');
    expect(report.control).toBe('1');
    const v9 = report.versions.find((v) => v.version === '9')!;
    expect(v9.accuracy.labelled).toBeGreaterThan(200);
    expect(v9.vsControl?.accuracy.significant).toBe(true);
    expect(v9.vsControl?.accuracy.differencePoints).toBeLessThan(-10);
    expect(v9.verdict).toMatch(/^v9: accuracy -\d+\.\d points, p < 0\.001/);

    const cli = await runCli(['report', 'digits'], { GATEWAY_URL: gateway.url });
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain('1 (control)');
    expect(cli.stdout).toContain('v9: accuracy -');
    process.stdout.write(`\n${cli.stdout}\n`);
  });
});
