/** Builds a gateway app around a fixed routing table for unit tests. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { createSilentLogger } from '../../../common/logger';
import type { Policy, Routes } from '../../../common/wire';
import { createApp, type Gateway, type GatewayDeps } from '../../../gateway/app';
import { loadGatewayConfig } from '../../../gateway/config';

export function policy(partial: Partial<Policy> & Pick<Policy, 'variants'>): Policy {
  return { sticky: null, shadow: null, aliases: {}, failover: true, revision: 1, ...partial };
}

export function routesFor(
  model: string,
  p: Policy,
  instances: Record<string, string[]>,
  width = 4,
  labels = ['a', 'b', 'c'],
): Routes {
  const versions: Routes['models'][string]['versions'] = {};
  for (const [v, urls] of Object.entries(instances)) {
    versions[v] = {
      instances: urls,
      input_width: width,
      features: ['f0', 'f1', 'f2', 'f3'].slice(0, width),
      labels,
    };
  }
  return { revision: 1, models: { [model]: { policy: p, versions } } };
}

export interface Fixture {
  gateway: Gateway;
  registry: Registry;
  logDir: string;
}

export function createFixture(
  routes: Routes | undefined,
  env: Record<string, string> = {},
  overrides: Partial<GatewayDeps> = {},
): Fixture {
  const logDir = mkdtempSync(path.join(tmpdir(), 'gw-unit-'));
  const registry = new Registry();
  const gateway = createApp({
    // A fixed 1 s deadline: a stalled test process must not turn into timeouts and failovers.
    config: loadGatewayConfig({
      LOG_DIR: logDir,
      BREAKER_TIMEOUT_MS: '1000',
      UPSTREAM_DEADLINE_P99_MULTIPLE: '0',
      ...env,
    }),
    logger: createSilentLogger(),
    metrics: registry,
    now: Date.now,
    random: Math.random,
    fetchRoutes: () => new Promise(() => undefined),
    ...overrides,
  });
  if (routes) gateway.table.apply({ status: 200, routes });
  return { gateway, registry, logDir };
}
