/** Starts one model-server: reads the environment once, loads and verifies the artifact, listens,
 * warms up every batch-size class, then reports ready (health + heartbeat). On SIGTERM it reports
 * not-ready first so the registry drops it from routing, then stops accepting connections, answers
 * what is in flight and exits 0 within SHUTDOWN_DEADLINE_MS. */
import path from 'node:path';
import { Registry } from 'prom-client';
import { listen, onShutdown } from '../common/http';
import { createLogger } from '../common/logger';
import { ArtifactError } from '../common/model-artifact';
import { packageVersion } from '../common/package-info';
import { tellSupervisor } from '../common/supervised';
import { loadTf } from '../common/tfjs';
import { loadTls, trustForOutgoingCalls } from '../common/tls';
import { createApp } from './app';
import { loadConfig, type ModelFlags } from './config';
import { createDriftMonitor } from './drift/monitor';
import { createHeartbeat } from './heartbeat';
import { createModelServerMetrics } from './metrics';
import { loadServedModel } from './model-loader';

const HEARTBEAT_TIMEOUT_MS = 1500;

export async function runModelServer(flags: ModelFlags): Promise<void> {
  const config = loadConfig(flags);
  const tls = loadTls(config);
  trustForOutgoingCalls(tls.ca);
  const logger = createLogger({
    service: 'model-server',
    level: config.LOG_LEVEL,
    format: config.LOG_FORMAT,
  });
  const tf = await loadTf(config.TFJS_BACKEND);
  const store = path.resolve(config.MODEL_STORE);
  let model: Awaited<ReturnType<typeof loadServedModel>>;
  try {
    model = await loadServedModel({ store, model: config.model, version: config.version, tf });
  } catch (err) {
    const details =
      err instanceof ArtifactError && Array.isArray(err.details) ? `: ${err.details.join('; ')}` : '';
    const message = `cannot serve ${config.model}/${config.version}: ${(err as Error).message}${details}`;
    logger.error(message, { event: 'load_failed' });
    throw new Error(message);
  }

  const registry = new Registry();
  const metrics = createModelServerMetrics(registry, {
    model: model.name,
    version: model.version,
    backend: model.backend,
    numTensors: model.numTensors,
  });
  const drift = createDriftMonitor({
    metadata: model.metadata,
    registry,
    windowRows: config.DRIFT_WINDOW_ROWS,
    windowMs: config.DRIFT_WINDOW_SECONDS * 1000,
    now: Date.now,
  });
  const server = createApp({
    config,
    logger,
    registry,
    metrics,
    model,
    drift,
    now: () => performance.now(),
    serverVersion: packageVersion(__dirname),
  });

  const running = await listen(server.app, config.PORT, config.HOST, logger, {
    headersTimeoutMs: config.HEADERS_TIMEOUT_MS,
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
    tls: tls.server,
  });
  const publicUrl = config.PUBLIC_URL ?? running.url;
  const heartbeat = createHeartbeat({
    registryUrl: config.REGISTRY_URL,
    intervalMs: config.HEARTBEAT_INTERVAL_MS,
    timeoutMs: HEARTBEAT_TIMEOUT_MS,
    token: config.INSTANCE_TOKEN ?? config.ADMIN_TOKEN,
    logger,
    payload: () => ({
      model: model.name,
      version: model.version,
      url: publicUrl,
      ready: server.isReady(),
      backend: model.backend,
    }),
  });

  onShutdown(
    logger,
    async () => {
      server.stopBeingReady();
      await heartbeat.stop();
      const closed = running.close();
      await server.batcher.drain();
      // Keep-alive sockets that finish their last response after close() stay open as idle
      // connections and would hold close() until their timeout; sweep them as they go idle.
      const sweep = setInterval(() => running.server.closeIdleConnections(), 25);
      await closed;
      clearInterval(sweep);
      model.dispose();
      logger.info('stopped', { event: 'stopped' });
    },
    config.SHUTDOWN_DEADLINE_MS,
  );

  const startedAt = performance.now();
  const sizes = server.warmUp();
  logger.info('ready', {
    event: 'ready',
    model: model.name,
    version: model.version,
    backend: model.backend,
    warmupMs: Math.round(performance.now() - startedAt),
    batchSizes: sizes,
    url: publicUrl,
  });
  void tellSupervisor({ type: 'ready' });
  heartbeat.start();
}
