/** Security headers on every service, and /metrics behind METRICS_TOKEN when it is set, on real
 * processes: the registry and model-server used to send no security headers, and every /metrics
 * page (which names upstream URLs) was public. */
import type { Service } from '../../helpers/processes';
import { createTestStore, type TestStore } from '../../helpers/test-store';
import { startGateway, startModelServer, startRegistry } from '../gateway/stack';

jest.setTimeout(120_000);

const METRICS_TOKEN = 'scrape-me';
let store: TestStore;
let registry: Service;
let modelServer: Service;
let gateway: Service;

beforeAll(async () => {
  store = await createTestStore();
  const env = { METRICS_TOKEN };
  registry = await startRegistry(store, '0', env);
  modelServer = await startModelServer(store, registry.url, 'penguins', '1', env);
  gateway = await startGateway(registry.url, env);
}, 90_000);

afterAll(async () => {
  await Promise.all([gateway?.stop(), modelServer?.stop(), registry?.stop()]);
  await store?.cleanup();
});

const services: [string, () => Service, string][] = [
  ['registry', () => registry, '/models'],
  ['model-server', () => modelServer, '/v2/health/live'],
  ['gateway', () => gateway, '/health'],
];

describe.each(services)('the %s', (_name, service, path) => {
  it('sends the shared security headers on JSON answers and on errors', async () => {
    for (const p of [path, '/no-such-route']) {
      const res = await fetch(`${service().url}${p}`);
      await res.arrayBuffer();
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(res.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
      expect(res.headers.get('strict-transport-security')).toMatch(/max-age=/);
      expect(res.headers.get('x-powered-by')).toBeNull();
    }
  });

  it('refuses /metrics without the token (401, JSON) and serves it with the token', async () => {
    const anon = await fetch(`${service().url}/metrics`);
    const body = (await anon.json()) as { error: { code: string; message: string } | string };
    expect(anon.status).toBe(401);
    expect(JSON.stringify(body)).toMatch(/METRICS_TOKEN/);
    const wrong = await fetch(`${service().url}/metrics`, { headers: { authorization: 'Bearer nope' } });
    await wrong.arrayBuffer();
    expect(wrong.status).toBe(401);
    const ok = await fetch(`${service().url}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/^# HELP /m);
  });
});
