/** The gateway process: reads the environment once, builds the dependencies, listens, and stops
 * cleanly on SIGTERM. */
import cluster from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { request } from 'undici';
import { ConfigError } from '../common/config';
import { listen, onShutdown } from '../common/http';
import { createLogger } from '../common/logger';
import { packageVersion } from '../common/package-info';
import { loadTls, type TlsSettings, trustForOutgoingCalls } from '../common/tls';
import { type Metadata, metadataSchema } from '../common/wire';
import type { EvidenceStore } from '../tracking/evidence-store';
import { createFeatureStore, usesRedis } from '../tracking/features/open';
import { startEvidenceStore } from '../tracking/service-store';
import { DatabaseOpenError, openDatabase } from '../tracking/store/database';
import { redact } from '../tracking/store/dialect';
import { createApp } from './app';
import { loadGatewayConfig } from './config';
import type { FetchRoutes } from './routing/table';
import { undiciClientFactory } from './upstream/pool';
import { clusterMetricsText, runPrimary } from './workers';

export function registryRoutesFetcher(registryUrl: string, waitSeconds: number): FetchRoutes {
  const base = registryUrl.replace(/\/+$/, '');
  return async (etag, signal) => {
    const url =
      etag === undefined || waitSeconds === 0 ? `${base}/routes` : `${base}/routes?wait=${waitSeconds}`;
    const res = await request(url, {
      headers: etag === undefined ? {} : { 'if-none-match': etag },
      signal,
      // A fresh connection per poll: a registry that is shutting down stops accepting connections
      // but may go on answering on a kept-alive one, with a table emptied by its own shutdown.
      reset: true,
      // the registry may hold a long-poll for waitSeconds; allow that plus slack
      headersTimeout: (waitSeconds + 10) * 1000,
      bodyTimeout: 30_000,
    });
    if (res.statusCode === 304) {
      await res.body.dump();
      return { status: 304 };
    }
    if (res.statusCode !== 200) {
      const text = await res.body.text();
      throw new Error(`registry answered ${res.statusCode} to GET /routes: ${text.slice(0, 200)}`);
    }
    const etagHeader = res.headers.etag;
    return {
      status: 200,
      etag: typeof etagHeader === 'string' ? etagHeader : undefined,
      routes: await res.body.json(),
    };
  };
}

function registryMetadataFetcher(registryUrl: string) {
  const base = registryUrl.replace(/\/+$/, '');
  return async (model: string, version: string): Promise<Metadata | undefined> => {
    const res = await request(
      `${base}/models/${encodeURIComponent(model)}/versions/${encodeURIComponent(version)}`,
      {
        headersTimeout: 5000,
        bodyTimeout: 5000,
      },
    );
    if (res.statusCode !== 200) {
      await res.body.dump();
      return undefined;
    }
    const body = (await res.body.json()) as { metadata?: unknown };
    const parsed = metadataSchema.safeParse(body.metadata ?? body);
    return parsed.success ? parsed.data : undefined;
  };
}

export async function runGateway(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  let config: ReturnType<typeof loadGatewayConfig>;
  let tls: TlsSettings;
  try {
    config = loadGatewayConfig(env);
    tls = loadTls(config);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`modelgate gateway: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger({ service: 'gateway', level: config.LOG_LEVEL, format: config.LOG_FORMAT });
  if (config.GATEWAY_WORKERS > 1 && cluster.isPrimary) {
    return runPrimary({
      workers: config.GATEWAY_WORKERS,
      logger,
      host: config.HOST,
      // Migrations once, before any worker opens the store.
      prepare: async () => {
        if (!config.TRACKING_ENABLED) return;
        const database = await openDatabase(config.DATABASE_URL).catch((err: unknown) => {
          if (err instanceof DatabaseOpenError) {
            process.stderr.write(`modelgate gateway: ${err.message}\n`);
            process.exit(1);
          }
          throw err;
        });
        await database.close();
      },
    });
  }
  // Route polls and metadata reads go through undici's request() and its global dispatcher.
  trustForOutgoingCalls(tls.ca);
  // The store must open at start-up (a wrong DATABASE_URL is a deployment error, said at once);
  // once open, its failures only cost records and 503s on the reads, never a prediction.
  const metrics = new Registry();
  let evidence: EvidenceStore | undefined;
  // The embedded feature store lives in the evidence store's database, so it opens without tracking too.
  let featureDatabase: Awaited<ReturnType<typeof openDatabase>> | undefined;
  try {
    if (config.TRACKING_ENABLED) {
      evidence = await startEvidenceStore({ config, metrics, warn: (m, fields) => logger.warn(m, fields) });
    } else if (!usesRedis(config)) {
      featureDatabase = await openDatabase(config.DATABASE_URL, {
        onPoolError: (err) => logger.warn('feature store connection lost', { error: err.message }),
      });
    }
  } catch (err) {
    if (err instanceof DatabaseOpenError) {
      process.stderr.write(`modelgate gateway: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const featureStore = createFeatureStore({
    config,
    db: evidence?.database?.db ?? featureDatabase?.db,
    now: Date.now,
    onError: (err) =>
      logger.warn('feature store unreachable', { event: 'feature_store', error: err.message }),
  });
  const gateway = createApp({
    featureStore,
    config,
    logger,
    metrics,
    now: Date.now,
    random: Math.random,
    fetchRoutes: registryRoutesFetcher(config.REGISTRY_URL, config.ROUTES_WAIT_S),
    fetchMetadata: registryMetadataFetcher(config.REGISTRY_URL),
    ...(tls.ca
      ? { upstreamClient: undiciClientFactory(config.UPSTREAM_MAX_CONCURRENCY, { ca: tls.ca }) }
      : {}),
    ...(evidence ? { evidence } : {}),
    ...(cluster.isWorker ? { metricsText: clusterMetricsText(metrics) } : {}),
    version: packageVersion(__dirname),
  });
  gateway.start();
  const server = await listen(gateway.handler, config.PORT, config.HOST, logger, {
    headersTimeoutMs: config.HEADERS_TIMEOUT_MS,
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
    tls: tls.server,
  });
  logger.info('gateway started', {
    registry: config.REGISTRY_URL,
    database: evidence ? redact(config.DATABASE_URL) : 'none (TRACKING_ENABLED=false)',
    instance: randomUUID(),
  });
  onShutdown(logger, async () => {
    await server.close();
    await gateway.close();
    await featureStore.close();
    await evidence?.close();
    await featureDatabase?.close();
  });
}
