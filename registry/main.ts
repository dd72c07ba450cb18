/** `modelgate registry`: reads the environment, repairs the store after a crash, serves, and stops
 * cleanly on SIGTERM. Everything else is built by createApp. */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Registry } from 'prom-client';
import { ConfigError } from '../common/config';
import { listen, onShutdown } from '../common/http';
import { createLogger } from '../common/logger';
import { createApp } from './app';
import { checkArtifactInTf } from './artifact-check';
import { loadConfig } from './config';
import { httpInstanceVerifier } from './instance-verify';
import { createInstances } from './instances';
import { createRegistryMetrics } from './metrics';
import { createRoutesTable } from './routes';
import { createModelStore } from './store/model-store';

export async function runRegistry(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`modelgate registry: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger({ service: 'registry', level: config.logLevel, format: config.logFormat });
  const root = path.resolve(config.modelStore);
  await mkdir(root, { recursive: true });
  const metricsRegistry = new Registry();
  const metrics = createRegistryMetrics(metricsRegistry);
  const now = Date.now;
  const store = createModelStore({
    root,
    logger,
    now,
    observeWrite: (kind, seconds) => metrics.writeDuration.observe({ kind }, seconds),
  });
  await store.recover();
  const registry = createApp({
    config,
    logger,
    metricsRegistry,
    metrics,
    store,
    instances: createInstances(config.instanceTtlMs, now),
    routes: createRoutesTable(now()),
    checkArtifact: checkArtifactInTf,
    verifyInstance: httpInstanceVerifier(config.instanceVerifyTimeoutMs),
  });
  await registry.refresh();
  if (config.adminTokens.length === 0) {
    logger.warn(
      'no ADMIN_TOKEN set: reads work, every write is refused until the registry is restarted with one',
    );
  }
  if (config.instanceTokens.length === 0) {
    logger.warn(
      'no INSTANCE_TOKEN or ADMIN_TOKEN set: model-servers cannot register, so nothing is routable; set one here and the same value on every model-server',
    );
  }
  const sweepTimer = setInterval(registry.sweep, Math.max(100, Math.min(1000, config.instanceTtlMs / 4)));
  const scanTimer = setInterval(() => void registry.refresh().catch(() => undefined), config.storeScanMs);
  const server = await listen(registry.app, config.port, config.host, logger);
  logger.info('registry ready', { store: root, models: (await store.catalog()).size });
  onShutdown(logger, async () => {
    clearInterval(sweepTimer);
    clearInterval(scanTimer);
    registry.close();
    await server.close();
  });
}
