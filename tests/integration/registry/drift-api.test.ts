/** GET /models/:m/drift and `modelgate drift M` against a real registry and model-server: the numbers
 * are the ones the model-server exports on /metrics, an instance whose metrics cannot be read is reported in the answer,
 * bad names and unknown models are 4xx with a message, and the registry serves /console. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type InstanceStandIn, startInstanceStandIn } from '../../helpers/instance-stand-in';
import { ROOT, runCli, type Service, startService } from '../../helpers/processes';
import { createTestStore, type TestStore } from '../../helpers/test-store';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field with expect()
type Body = any;

const TOKEN = 'drift-it-token';
let store: TestStore;
let registry: Service;
let server: Service;
let standIn: InstanceStandIn;

const json = async (url: string, init?: RequestInit) => {
  const res = await fetch(url, init);
  return { status: res.status, headers: res.headers, body: (await res.json()) as Body };
};

/** An instance that passes the registry's readiness check but has no /metrics to read. INSTANCE_TTL_MS
 * is long so it outlives a CLI start-up; each test that needs it beats again all the same. */
async function heartbeatBlindInstance() {
  const beat = await fetch(`${registry.url}/instances`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ model: 'penguins', version: '1', url: standIn.url }),
  });
  expect(beat.status).toBe(200);
}

beforeAll(async () => {
  store = await createTestStore();
  const env = {
    MODEL_STORE: store.dir,
    ADMIN_TOKEN: TOKEN,
    HEARTBEAT_INTERVAL_MS: '500',
    INSTANCE_TTL_MS: '30000',
  };
  registry = await startService(['registry'], { env });
  standIn = await startInstanceStandIn('penguins');
  server = await startService(['model-server', '--model', 'penguins', '--version', '2'], {
    env: { ...env, REGISTRY_URL: registry.url, DRIFT_WINDOW_ROWS: '500' },
    timeoutMs: 120_000,
  });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const drift = await json(`${registry.url}/models/penguins/drift`);
    if (drift.body.versions.find((v: Body) => v.version === '2')?.instances.length) break;
    await new Promise((r) => setTimeout(r, 200));
  }
});

afterAll(async () => {
  await server?.stop();
  await standIn?.close();
  await registry?.stop();
  await store?.cleanup();
});

describe('GET /models/:m/drift', () => {
  it('lists every version, with no reading while the window is below the monitor minimum', async () => {
    const res = await json(`${registry.url}/models/penguins/drift`);
    expect(res.status).toBe(200);
    expect(res.body.model).toBe('penguins');
    expect(res.body.versions.map((v: Body) => v.version)).toEqual(['1', '2']);
    expect(res.body.versions[0].instances).toEqual([]);
    const [instance] = res.body.versions[1].instances;
    expect(instance).toMatchObject({ url: server.url, ok: true, error: null, window_rows: 0 });
    expect(instance.features.length).toBeGreaterThan(0);
    for (const f of instance.features) expect(f.psi).toBeNull();
  });

  it("answers the model-server's own drift numbers once its window is full enough", async () => {
    const rows = JSON.parse(
      readFileSync(path.join(ROOT, 'models', 'penguins', 'sample.json'), 'utf8'),
    ) as number[][];
    const instances = [...rows, ...rows, ...rows];
    const infer = await fetch(`${server.url}/v1/models/penguins:predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances }),
    });
    expect(infer.status).toBe(200);
    let instance: Body;
    const deadline = Date.now() + 15_000;
    do {
      instance = (await json(`${registry.url}/models/penguins/drift`)).body.versions[1].instances[0];
    } while (instance.window_rows < instances.length && Date.now() < deadline);
    expect(instance.window_rows).toBe(instances.length);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    for (const f of instance.features) {
      const m = new RegExp(`^modelgate_drift_psi\\{[^}]*feature="${f.name}"[^}]*\\} (\\S+)$`, 'm').exec(
        metrics,
      );
      expect(m).not.toBeNull();
      expect(f.psi).toBeCloseTo(Number(m![1]), 12);
      if (f.continuous) {
        expect(f.ks).toBeGreaterThanOrEqual(0);
        // c(0.05) * sqrt((n + m) / (n m)) with the window and the training sample sizes
        expect(f.ks_critical).toBeCloseTo(
          1.3581015 *
            Math.sqrt((instances.length + f.reference_rows) / (instances.length * f.reference_rows)),
          6,
        );
      } else expect(f.ks).toBeNull();
    }
  });

  it('reports an instance whose /metrics cannot be read, and still answers 200', async () => {
    await heartbeatBlindInstance();
    const res = await json(`${registry.url}/models/penguins/drift`);
    expect(res.status).toBe(200);
    const [blind] = res.body.versions[0].instances;
    expect(blind).toMatchObject({ url: standIn.url, ok: false, features: [] });
    expect(blind.error).toBe(`could not read ${standIn.url}/metrics: HTTP 404`);
  });

  it('answers a bad model name with 400 and an unknown model with 404, as JSON', async () => {
    const bad = await json(`${registry.url}/models/Bad%20Name/drift`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_input');
    const unknown = await json(`${registry.url}/models/nope/drift`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ code: 'model_not_found' });
    expect(unknown.body.error.message).toContain('nope');
  });

  it('prints the readings as a table with `modelgate drift`', async () => {
    await heartbeatBlindInstance();
    const out = await runCli(['drift', 'penguins'], { REGISTRY_URL: registry.url });
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^VERSION\s+INSTANCE\s+WINDOW ROWS\s+FEATURE\s+PSI\s+KS/);
    expect(out.stdout).toMatch(
      new RegExp(`^2\\s+${server.url.replace(/[.:/]/g, '\\$&')}\\s+258\\s+\\S+\\s+\\d\\.\\d{3}`, 'm'),
    );
    expect(out.stdout).toContain(`could not read ${standIn.url}/metrics: HTTP 404`);
    const unknown = await runCli(['drift', 'nope'], { REGISTRY_URL: registry.url });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/model "nope" does not exist/);
  });
});

describe('GET /console', () => {
  it('serves the built page with its CSP, and its script', async () => {
    const page = await fetch(`${registry.url}/console/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/^default-src 'none'; script-src 'self'/);
    const html = await page.text();
    const script = /<script type="module" src="([^"]+)"/.exec(html)?.[1];
    expect(script).toBe('/console/app.js');
    const js = await fetch(`${registry.url}${script}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
  });
});
