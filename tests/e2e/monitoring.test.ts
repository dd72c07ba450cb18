/** The whole stack with a real Prometheus: registry, four model-servers (digits v1, a planted worse
 * digits v9, penguins v1 and v2), a gateway, and Prometheus scraping them every second with the
 * committed rule files. An experiment runs on digits (v9 against control v1) and a rollout of
 * penguins v2 (with its own experiment), so the verdict and rollout panels have data. Drives normal
 * traffic with feedback, then shifted traffic, and checks the rules, the metrics format, every
 * dashboard panel, the drift alert and the experiment report. */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ExperimentReport } from '../../tracking/experiments/report';
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
  let digitsExperiment: string;
  const servers: Record<string, Service> = {};
  const admin = { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` };
  const experimentOnGateway = (model: string) =>
    until(`the gateway to report the experiment of ${model}`, async () => {
      const body = (await (await fetch(`${gateway.url}/experiments/${model}`)).json()) as {
        experiment: { id: string } | null;
      };
      return body.experiment?.id;
    });

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
    // Registry and gateway share the evidence store: the registry keeps experiments there and
    // recomputes their verdict gauges every second; looks of 1 s let verdicts form within the test.
    const evidence = {
      DATABASE_URL: `sqlite:${path.join(logDir, 'modelgate.db')}`,
      EXPERIMENT_LOOK_MS: '1000',
    };
    registry = await startService(['registry'], {
      env: {
        ...common,
        ...evidence,
        ADMIN_TOKEN,
        HEARTBEAT_INTERVAL_MS: '500',
        EXPERIMENT_GAUGES_MS: '1000',
        ROLLOUT_TICK_MS: '500',
      },
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
        ...evidence,
        REGISTRY_URL: registry.url,
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

    // Before any traffic: an experiment on digits, and a rollout of penguins v2 whose first step
    // (25%) holds for the whole test, so its policy stays put while the panel test edits it.
    const experiment = await fetch(`${registry.url}/models/digits/experiments`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ control: '1', candidates: ['9'] }),
    });
    expect(experiment.status).toBe(201);
    digitsExperiment = ((await experiment.json()) as { id: string }).id;
    expect(await experimentOnGateway('digits')).toBe(digitsExperiment);
    const rollout = await fetch(`${registry.url}/models/penguins/rollouts`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({
        candidate: '2',
        steps: [{ weight: 25 }, { weight: 100 }],
        step_min_seconds: 3600,
        step_min_labelled: 0,
      }),
    });
    expect(rollout.status).toBe(201);
    await experimentOnGateway('penguins');
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
    // Split traffic first (1,200 requests: about 600 labelled per arm, enough for the experiment to
    // call the planted gap), then every held-out row once to each digits version (pinned), so each
    // 300-row drift window ends up holding exactly the held-out sample.
    const jobs = [
      ...Array.from({ length: 1200 }, (_, i) => ({
        model: 'digits',
        row: digits.rows[i % 300]!,
        label: digits.labels[i % 300]!,
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
      return Number(r[0]?.value[1]) === 1200 + 2 * 300 ? true : undefined;
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
    // A registry write, so the registry panels have something to show; coming during the penguins
    // rollout, it also pauses that (a manual_change transition).
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

    // The experiment annotation marks the digits experiment's start at its exact time, in ms.
    const ab = JSON.parse(readFileSync(path.join(DASHBOARDS, 'ab-experiment.json'), 'utf8'));
    const marker = (ab.annotations.list as { name: string; expr: string; useValueForTime?: boolean }[]).find(
      (a) => a.name === 'experiment started or stopped',
    )!;
    expect(marker.useValueForTime).toBe(true);
    const experiment = (await (
      await fetch(`${registry.url}/models/digits/experiments/${digitsExperiment}`)
    ).json()) as { started_at: string };
    const marks = await prometheus.query(substitute(marker.expr, 'digits'));
    expect(marks.map((m) => [m.metric.change, Math.round(Number(m.value[1]))])).toEqual([
      ['started', Date.parse(experiment.started_at)],
    ]);
  });

  it('finds the planted accuracy difference in the experiment report, from the evidence store', async () => {
    const res = await fetch(`${gateway.url}/experiments/digits`);
    expect(res.status).toBe(200);
    const report = (await res.json()) as ExperimentReport;
    expect(report.experiment).toMatchObject({ id: digitsExperiment, control: '1', candidates: ['9'] });
    // Shadow copies of v9 and the pinned rows are not assignments: the split check holds.
    expect(report.srm.ok).toBe(true);
    const accuracy = report.comparisons.find((c) => c.candidate === '9' && c.metric === 'accuracy')!;
    expect(accuracy.n.candidate).toBeGreaterThan(400);
    expect(accuracy.n.control).toBeGreaterThan(400);
    expect(accuracy.verdict).toBe('worse');
    expect(accuracy.estimate).toBeLessThan(-0.1);
    expect(accuracy.ci![1]).toBeLessThan(0);
    expect(accuracy.text).toMatch(/^v9 vs v1: accuracy -\d+\.\d points \[.*\], worse \(p [<=] /);
    expect(report.recommendation.action).toBe('roll_back');

    const cli = await runCli(['report', 'digits'], { GATEWAY_URL: gateway.url });
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain(`experiment ${digitsExperiment} (running), control v1`);
    expect(cli.stdout).toContain('v9 vs v1: accuracy -');
    process.stdout.write(`\n${cli.stdout}\n`);
  });
});
