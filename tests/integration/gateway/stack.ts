/** Starts a real registry, model-servers and a gateway on loopback over a temp store, and small
 * HTTP helpers for the tests that drive them. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Service, startService } from '../../helpers/processes';
import { createTestStore, type TestStore } from '../../helpers/test-store';

export const ADMIN_TOKEN = 'gateway-it-token';
export const ROW = [0.5, -1, 2, 0.25];

export interface Answer {
  status: number;
  headers: Headers;
  body: any;
  startedAt: number;
}

export async function call(
  url: string,
  method: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const startedAt = Date.now();
  const res = await fetch(url, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    // leave as text
  }
  return { status: res.status, headers: res.headers, body: json, startedAt };
}

export async function startRegistry(
  store: TestStore,
  port = '0',
  env: Record<string, string> = {},
): Promise<Service> {
  return startService(['registry'], {
    env: { MODEL_STORE: store.dir, ADMIN_TOKEN, HEARTBEAT_INTERVAL_MS: '500', PORT: port, ...env },
  });
}

export function startModelServer(
  store: TestStore,
  registryUrl: string,
  model: string,
  version: string,
  env: Record<string, string> = {},
): Promise<Service> {
  return startService(['model-server', '--model', model, '--version', version], {
    env: {
      MODEL_STORE: store.dir,
      REGISTRY_URL: registryUrl,
      HEARTBEAT_INTERVAL_MS: '500',
      ADMIN_TOKEN,
      ...env,
    },
  });
}

export async function startGateway(
  registryUrl: string,
  env: Record<string, string> = {},
): Promise<Service & { logDir: string }> {
  const logDir = mkdtempSync(path.join(tmpdir(), 'gw-it-data-'));
  const service = await startService(['gateway'], {
    env: {
      REGISTRY_URL: registryUrl,
      ADMIN_TOKEN,
      // A store of its own per gateway unless the test shares one on purpose.
      DATABASE_URL: `sqlite:${path.join(logDir, 'modelgate.db')}`,
      TRACKING_FLUSH_MS: '50',
      ROUTES_WAIT_S: '5',
      BREAKER_VOLUME_THRESHOLD: '3',
      BREAKER_RESET_TIMEOUT_MS: '1000',
      BREAKER_TIMEOUT_MS: '3000',
      ...env,
    },
  });
  return Object.assign(service, { logDir });
}

export async function setPolicy(registryUrl: string, model: string, policy: unknown): Promise<number> {
  const current = await call(`${registryUrl}/models/${model}/policy`, 'GET');
  const res = await call(`${registryUrl}/models/${model}/policy`, 'PUT', policy, {
    authorization: `Bearer ${ADMIN_TOKEN}`,
    'if-match': current.headers.get('etag') ?? '',
  });
  if (res.status !== 200) throw new Error(`PUT policy failed: ${res.status} ${JSON.stringify(res.body)}`);
  const body = res.body as { revision?: number; policy?: { revision: number } };
  return body.revision ?? body.policy!.revision;
}

/** Polls the gateway's /model/info until `check` holds: the gateway has no event to await here. */
export async function waitForInfo(
  gatewayUrl: string,
  check: (info: any) => boolean,
  timeoutMs = 20_000,
): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    last = (await call(`${gatewayUrl}/model/info`, 'GET')).body;
    if (check(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `gateway never reached the expected state; last /model/info: ${JSON.stringify(last).slice(0, 2000)}`,
  );
}

/** Runs `total` requests with `concurrency` in flight at once. */
export async function load<T>(
  total: number,
  concurrency: number,
  one: (i: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = new Array(total);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        results[i] = await one(i);
      }
    }),
  );
  return results;
}

/** The smallest whole stack: a registry, one tiny model with one version at 100%, its model-server
 * and a gateway started with `gatewayEnv`, returned once the gateway routes to the live instance. */
export async function startOneVersionStack(model: string, gatewayEnv: Record<string, string>) {
  const store = await createTestStore({ shipped: false });
  await store.addModel({ model, version: '1', width: 4, labels: ['a', 'b'], seed: 1, hidden: 8 });
  const registry = await startRegistry(store);
  await setPolicy(registry.url, model, {
    variants: [{ version: '1', weight: 100 }],
    sticky: null,
    shadow: null,
    aliases: {},
    failover: true,
  });
  const server = await startModelServer(store, registry.url, model, '1');
  const gateway = await startGateway(registry.url, gatewayEnv);
  await waitForInfo(gateway.url, (info) =>
    info.models?.some(
      (m: { name: string; versions: { live_instances: number }[] }) =>
        m.name === model && m.versions[0]?.live_instances === 1,
    ),
  );
  return {
    store,
    registry,
    server,
    gateway,
    async stop() {
      await gateway.stop();
      await server.stop();
      await registry.stop();
      await store.cleanup();
    },
  };
}
