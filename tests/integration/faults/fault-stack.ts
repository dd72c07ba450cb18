/** A real registry, model-servers and gateway(s) on loopback over a temporary copy of the shipped
 * penguins versions, tuned for fault tests: fast heartbeats and breaker resets so failures and
 * recoveries show within seconds. Plus a small closed-loop load loop that records every answer. */
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, type Service, startService } from '../../helpers/processes';

export const MODEL = 'penguins';
export const SAMPLE_ROWS = JSON.parse(
  readFileSync(path.join(ROOT, 'models', MODEL, 'sample.json'), 'utf8'),
) as number[][];

export const FAST = {
  registry: { HEARTBEAT_INTERVAL_MS: '300', INSTANCE_TTL_MS: '1200', STORE_SCAN_MS: '500' },
  modelServer: { HEARTBEAT_INTERVAL_MS: '300', SHUTDOWN_DEADLINE_MS: '8000' },
  gateway: {
    BREAKER_RESET_TIMEOUT_MS: '1000',
    BREAKER_VOLUME_THRESHOLD: '3',
    BREAKER_TIMEOUT_MS: '1500',
    ROUTES_WAIT_S: '5',
  },
};

export interface FaultStack {
  dir: string;
  store: string;
  token: string;
  registry: Service;
  gateways: Service[];
  servers: { version: string; service: Service }[];
  startModelServer(version: string, env?: Record<string, string>): Promise<Service>;
  startRegistry(port?: number): Promise<Service>;
  setPolicy(policy: Record<string, unknown>): Promise<number>;
  stop(): Promise<void>;
}

export async function startFaultStack(
  options: {
    versions?: string[];
    gateways?: number;
    gatewayEnv?: Record<string, string>;
    registryEnv?: Record<string, string>;
    modelServerEnv?: Record<string, Record<string, string>>;
  } = {},
): Promise<FaultStack> {
  const dir = mkdtempSync(path.join(tmpdir(), 'modelgate-faults-'));
  const store = path.join(dir, 'store');
  for (const v of ['1', '2']) {
    cpSync(path.join(ROOT, 'models', MODEL, v), path.join(store, MODEL, v), { recursive: true });
  }
  const token = randomBytes(12).toString('hex');
  const stack: FaultStack = {
    dir,
    store,
    token,
    registry: undefined as unknown as Service,
    gateways: [],
    servers: [],
    startRegistry: async (port?: number) => {
      const registry = await startService(['registry'], {
        env: {
          MODEL_STORE: store,
          ADMIN_TOKEN: token,
          ...FAST.registry,
          ...options.registryEnv,
          ...(port === undefined ? {} : { PORT: String(port) }),
        },
      });
      stack.registry = registry;
      return registry;
    },
    startModelServer: async (version, env = {}) => {
      const service = await startService(['model-server', '--model', MODEL, '--version', version], {
        env: {
          MODEL_STORE: store,
          REGISTRY_URL: stack.registry.url,
          ADMIN_TOKEN: token,
          ...FAST.modelServer,
          ...options.modelServerEnv?.[version],
          ...env,
        },
      });
      stack.servers.push({ version, service });
      return service;
    },
    setPolicy: async (policy) => {
      const url = `${stack.registry.url}/models/${MODEL}/policy`;
      const auth = { authorization: `Bearer ${token}` };
      const current = await fetch(url, { headers: auth });
      await current.arrayBuffer();
      const res = await fetch(url, {
        method: 'PUT',
        headers: {
          ...auth,
          'content-type': 'application/json',
          'if-match': current.headers.get('etag') ?? '',
        },
        body: JSON.stringify(policy),
      });
      const body = (await res.json()) as { revision?: number };
      if (!res.ok) throw new Error(`PUT policy answered ${res.status}: ${JSON.stringify(body)}`);
      return body.revision ?? -1;
    },
    stop: async () => {
      await Promise.all([
        ...stack.gateways.map((g) => g.stop('SIGKILL')),
        ...stack.servers.map((s) => s.service.stop('SIGKILL')),
        stack.registry?.stop('SIGKILL'),
      ]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await stack.startRegistry();
    for (const v of options.versions ?? ['1', '2']) await stack.startModelServer(v);
    for (let i = 0; i < (options.gateways ?? 1); i++) {
      stack.gateways.push(
        await startService(['gateway'], {
          env: {
            REGISTRY_URL: stack.registry.url,
            // gateways of one stack share a store, as replicas behind one database do
            DATABASE_URL: `sqlite:${path.join(dir, 'modelgate.db')}`,
            ...FAST.gateway,
            ...options.gatewayEnv,
          },
        }),
      );
    }
  } catch (err) {
    await stack.stop();
    throw err;
  }
  return stack;
}

export interface Answer {
  /** ms since the loop started, when the request was sent. */
  sentAt: number;
  status: number;
  ms: number;
  version: string | null;
}

export function predictOnce(gatewayUrl: string, headers: Record<string, string> = {}, row = 0) {
  return fetch(`${gatewayUrl}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: MODEL, features: SAMPLE_ROWS[row % SAMPLE_ROWS.length] }),
  });
}

/** `workers` concurrent clients sending /predict back to back until stopped; status 0 means the
 * request failed at the socket (connection refused or reset). */
export class LoadLoop {
  readonly answers: Answer[] = [];
  private running = true;
  private readonly done: Promise<unknown>;
  private readonly t0 = performance.now();

  constructor(gatewayUrl: () => string, workers = 6, headers: Record<string, string> = {}) {
    this.done = Promise.all(
      Array.from({ length: workers }, async (_, w) => {
        let i = w;
        while (this.running) {
          const sentAt = performance.now() - this.t0;
          let status = 0;
          let version: string | null = null;
          try {
            const res = await predictOnce(gatewayUrl(), headers, i++);
            await res.arrayBuffer();
            status = res.status;
            version = res.headers.get('x-model-version');
          } catch {
            await new Promise((r) => setTimeout(r, 20));
          }
          this.answers.push({ sentAt, status, ms: performance.now() - this.t0 - sentAt, version });
        }
      }),
    );
  }

  now(): number {
    return performance.now() - this.t0;
  }

  since(t: number): Answer[] {
    return this.answers.filter((a) => a.sentAt >= t);
  }

  async stop(): Promise<Answer[]> {
    this.running = false;
    await this.done;
    return this.answers;
  }
}

/** Polls `check` every 100 ms until it returns a value other than undefined. */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Value of one series of a gauge on a /metrics page, or undefined when absent. */
export async function gauge(
  url: string,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      return Number(line.split(' ').pop());
  }
  return undefined;
}

export function countBy<T>(items: T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
}
