/** A real stack for rollout tests: registry, one model-server per digits version, a gateway, all on
 * loopback over a temp copy of the shipped store and one SQLite evidence store (the traffic that
 * drives it is in tests/helpers/rollout-traffic.ts). */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli, type Service, startService } from '../../helpers/processes';
import { call } from '../../helpers/rollout-traffic';
import { createTestStore, type TestStore } from '../../helpers/test-store';

export const ADMIN_TOKEN = 'rollout-it-token';
export const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

export interface RolloutStack {
  store: TestStore;
  dataDir: string;
  registry: Service;
  servers: Map<string, Service>;
  gateway: Service;
  registryUrl: string;
  restartRegistry(signal?: NodeJS.Signals): Promise<void>;
  startServer(version: string): Promise<Service>;
  setPolicy(policy: Record<string, unknown>): Promise<void>;
  policy(): Promise<any>;
  rollout(): Promise<any>;
  audit(): Promise<any[]>;
  cli(args: string[]): ReturnType<typeof runCli>;
  stop(): Promise<void>;
}

function registryEnv(store: TestStore, dataDir: string, port: string) {
  return {
    MODEL_STORE: store.dir,
    ADMIN_TOKEN,
    HEARTBEAT_INTERVAL_MS: '500',
    DATABASE_URL: `sqlite:${path.join(dataDir, 'modelgate.db')}`,
    ROLLOUT_TICK_MS: '300',
    ROLLOUT_WEBHOOK_TIMEOUT_MS: '1000',
    ROLLOUT_WEBHOOK_ATTEMPTS: '2',
    ROLLOUT_WEBHOOK_BACKOFF_MS: '100',
    EXPERIMENT_LOOK_MS: '1000',
    PORT: port,
  };
}

/** digits 1 and 2 as shipped, and 3: a byte-for-byte copy of 1 under a new version (the A/A case). */
export async function startRolloutStack(): Promise<RolloutStack> {
  const store = await createTestStore();
  await cp(path.join(store.dir, 'digits', '1'), path.join(store.dir, 'digits', '3'), { recursive: true });
  const mdFile = path.join(store.dir, 'digits', '3', 'metadata.json');
  const md = JSON.parse(await readFile(mdFile, 'utf8'));
  await writeFile(mdFile, JSON.stringify({ ...md, version: '3', description: 'copy of v1 (A/A)' }, null, 2));
  const dataDir = await mkdtemp(path.join(tmpdir(), 'rollout-it-data-'));
  let registry = await startService(['registry'], { env: registryEnv(store, dataDir, '0') });
  const port = String(registry.port);
  const registryUrl = registry.url;
  const servers = new Map<string, Service>();
  const startServer = async (version: string) => {
    const s = await startService(['model-server', '--model', 'digits', '--version', version], {
      env: { MODEL_STORE: store.dir, REGISTRY_URL: registryUrl, ADMIN_TOKEN, HEARTBEAT_INTERVAL_MS: '500' },
      timeoutMs: 120_000,
    });
    servers.set(version, s);
    return s;
  };
  await Promise.all(['1', '2', '3'].map(startServer));
  const gateway = await startService(['gateway'], {
    env: {
      REGISTRY_URL: registryUrl,
      ADMIN_TOKEN,
      DATABASE_URL: `sqlite:${path.join(dataDir, 'modelgate.db')}`,
      TRACKING_FLUSH_MS: '50',
      EXPERIMENT_LOOK_MS: '1000',
      ROUTES_WAIT_S: '2',
      BREAKER_VOLUME_THRESHOLD: '3',
      BREAKER_RESET_TIMEOUT_MS: '1000',
    },
  });
  const stack: RolloutStack = {
    store,
    dataDir,
    get registry() {
      return registry;
    },
    servers,
    gateway,
    registryUrl,
    async restartRegistry(signal = 'SIGTERM') {
      await registry.stop(signal);
      registry = await startService(['registry'], { env: registryEnv(store, dataDir, port) });
    },
    startServer,
    async setPolicy(policy) {
      const current = await call(`${registryUrl}/models/digits/policy`, 'GET');
      const res = await call(`${registryUrl}/models/digits/policy`, 'PUT', policy, {
        ...auth,
        'if-match': current.headers.get('etag') ?? '',
      });
      if (res.status !== 200) throw new Error(`PUT policy: ${res.status} ${JSON.stringify(res.body)}`);
    },
    policy: async () => (await call(`${registryUrl}/models/digits/policy`, 'GET')).body,
    rollout: async () => (await call(`${registryUrl}/models/digits/rollouts/current`, 'GET')).body,
    audit: async () => (await call(`${registryUrl}/models/digits/audit?limit=1000`, 'GET')).body.entries,
    cli: (args) => runCli(args, { REGISTRY_URL: registryUrl, GATEWAY_URL: gateway.url, ADMIN_TOKEN }),
    async stop() {
      await gateway.stop();
      await Promise.all([...servers.values()].map((s) => s.stop()));
      await registry.stop();
      await store.cleanup();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return stack;
}
