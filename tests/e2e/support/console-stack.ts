/** The stack the console's browser tests drive: a registry (serving /console), one model-server per
 * shipped version and a gateway, on loopback over a temp copy of the shipped store, with an evidence
 * database of its own; and headless Debian chromium through playwright-core. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { type Service, startService } from '../../helpers/processes';
import { createTestStore, shippedModels, type TestStore } from '../../helpers/test-store';

export const ADMIN_TOKEN = 'console-e2e-token';
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface ConsoleStack {
  store: TestStore;
  registry: Service;
  gateway: Service;
  servers: Record<string, Service>;
  stop(): Promise<void>;
}

export async function startConsoleStack(env: Record<string, string> = {}): Promise<ConsoleStack> {
  const store = await createTestStore();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'modelgate-console-data-'));
  const services: Service[] = [];
  const common = {
    MODEL_STORE: store.dir,
    ADMIN_TOKEN,
    DATABASE_URL: `sqlite:${path.join(dataDir, 'modelgate.db')}`,
    HEARTBEAT_INTERVAL_MS: '500',
    // The experiment report looks at the evidence on a fixed grid; a short one gives the charts points soon.
    EXPERIMENT_LOOK_MS: '1000',
    ...env,
  };
  const stop = async () => {
    await Promise.all(services.map((s) => s.stop()));
    await store.cleanup();
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    const registry = await startService(['registry'], { env: common });
    services.push(registry);
    const versions = shippedModels().map((mv) => mv.split('/') as [string, string]);
    const started = await Promise.all(
      versions.map(([model, version]) =>
        startService(['model-server', '--model', model, '--version', version], {
          env: { ...common, REGISTRY_URL: registry.url, DRIFT_WINDOW_ROWS: '400' },
          timeoutMs: 120_000,
        }),
      ),
    );
    services.push(...started);
    const servers = Object.fromEntries(versions.map(([m, v], i) => [`${m}/${v}`, started[i]!]));
    const gateway = await startService(['gateway'], {
      env: { ...common, REGISTRY_URL: registry.url, LOG_DIR: dataDir, ROUTES_WAIT_S: '2' },
    });
    services.push(gateway);
    return { store, registry, gateway, servers, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export function launchChromium(): Promise<Browser> {
  // --no-sandbox: CI containers run as root, where chromium's sandbox cannot start.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
}

/** Polls until `probe` returns a value, for state another process reaches on its own schedule. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
