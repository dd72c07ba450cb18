/** `modelgate registry`: reads the environment, repairs the store after a crash, serves, and stops
 * cleanly on SIGTERM. Everything else is built by createApp. */
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Registry } from 'prom-client';
import { ConfigError } from '../common/config';
import { listen, onShutdown } from '../common/http';
import { createLogger } from '../common/logger';
import { trustForOutgoingCalls } from '../common/tls';
import { createExperimentGauges } from '../tracking/experiments/gauges';
import { createExperimentRepository } from '../tracking/experiments/repository';
import { listPredictions } from '../tracking/predictions-query';
import { DatabaseOpenError, openDatabase } from '../tracking/store/database';
import { createApp } from './app';
import { checkArtifactInTf } from './artifact-check';
import { loadConfig } from './config';
import { fetchMetrics } from './drift/readings';
import { auditedExperiments } from './experiment-audit';
import { createSnapshotWriter, loadSnapshot } from './instance-snapshot';
import { httpInstanceVerifier } from './instance-verify';
import { createInstances } from './instances';
import { createRegistryMetrics } from './metrics';
import { trackingEvidence } from './rollouts/evidence';
import { createRolloutController } from './rollouts/executor';
import { createRolloutMetrics } from './rollouts/metrics';
import { callWebhook } from './rollouts/webhooks';
import { createRoutesTable } from './routes';
import { createModelStore } from './store/model-store';

/** A model-server answers /metrics in milliseconds; one that takes longer is reported, not waited on. */
const DRIFT_READ_TIMEOUT_MS = 2000;

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
  trustForOutgoingCalls(config.tls.ca);
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
  // The registry starts before the gateways under `modelgate up`, so it applies pending migrations
  // first (Kysely's SQLite migration lock is a no-op; one process migrating at a time is the rule).
  let database: Awaited<ReturnType<typeof openDatabase>>;
  try {
    database = await openDatabase(config.databaseUrl, {
      onPoolError: (err) => logger.warn('evidence store connection lost', { error: err.message }),
    });
  } catch (err) {
    if (err instanceof DatabaseOpenError) {
      process.stderr.write(`modelgate registry: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const repository = auditedExperiments({
    repository: createExperimentRepository(database.db),
    root,
    metrics: metricsRegistry,
  });
  let refreshRoutes: () => Promise<void> = async () => undefined;
  const rollouts = createRolloutController({
    root,
    store,
    evidence: trackingEvidence({ db: database.db, repository, now, lookEveryMs: config.experimentLookMs }),
    logger,
    metrics: createRolloutMetrics(metricsRegistry),
    now,
    newId: randomUUID,
    webhook: ({ url, payload }) => callWebhook({ url, payload, ...config.webhook }),
    afterPolicyWrite: () => refreshRoutes(),
    tickMs: config.rolloutTickMs,
  });
  const instances = createInstances(config.instanceTtlMs, now);
  const restored = instances.restore(
    await loadSnapshot({ root, now, maxAgeMs: 5 * config.instanceTtlMs, logger }),
  );
  if (restored > 0) logger.info('restored instances saved before the restart', { restored });
  const snapshot = createSnapshotWriter({
    root,
    now,
    refreshMs: config.instanceTtlMs,
    logger,
    onError: (err) =>
      metrics.ioErrors.inc({ op: 'instance snapshot', code: String((err as { code?: string }).code) }),
  });
  const registry = createApp({
    config,
    logger,
    metricsRegistry,
    metrics,
    store,
    instances,
    onInstances: (list) => snapshot.save(list),
    routes: createRoutesTable(now()),
    checkArtifact: checkArtifactInTf,
    readMetrics: fetchMetrics(DRIFT_READ_TIMEOUT_MS),
    // dist/registry/main.js → dist/console, where `npm run build` puts the page.
    consoleDir: path.resolve(__dirname, '..', 'console'),
    verifyInstance: httpInstanceVerifier(config.instanceVerifyTimeoutMs),
    predictions: (filter) => listPredictions(database.db, filter),
    rollouts,
    now,
    experiments: {
      repository,
      db: database.db,
      now,
      lookEveryMs: config.experimentLookMs,
      gauges: createExperimentGauges(metricsRegistry),
    },
  });
  refreshRoutes = registry.refresh;
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
  const sweepTimer = setInterval(
    () => {
      registry.sweep();
      // Keeps the snapshot's saved_at recent while the table is unchanged.
      snapshot.save(instances.list());
    },
    Math.max(100, Math.min(1000, config.instanceTtlMs / 4)),
  );
  const scanTimer = setInterval(() => void registry.refresh().catch(() => undefined), config.storeScanMs);
  await rollouts.begin();
  const gaugeTimer = setInterval(
    () =>
      void registry.publishExperimentGauges().catch((err: unknown) => {
        logger.warn('could not compute experiment gauges', { error: String(err) });
      }),
    config.experimentGaugesMs,
  );
  const server = await listen(registry.app, config.port, config.host, logger, {
    headersTimeoutMs: config.headersTimeoutMs,
    requestTimeoutMs: config.requestTimeoutMs,
    tls: config.tls.server,
  });
  logger.info('registry ready', { store: root, models: (await store.catalog()).size });
  onShutdown(logger, async () => {
    clearInterval(sweepTimer);
    clearInterval(scanTimer);
    clearInterval(gaugeTimer);
    registry.close();
    await rollouts.close();
    await server.close();
    await database.close();
    await snapshot.flush();
  });
}
