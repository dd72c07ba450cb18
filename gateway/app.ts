/** Wires the gateway from its dependencies; never listens (main.ts does). */
import type { RequestListener } from 'node:http';
import express from 'express';
import type { Registry } from 'prom-client';
import swaggerUi from 'swagger-ui-express';
import { parseByteLimit } from '../common/body-limit';
import { errorMiddleware, notFoundHandler } from '../common/errors';
import { metricsHandler } from '../common/http';
import type { Logger } from '../common/logger';
import { securityHeaders } from '../common/security-headers';
import type { Metadata, Routes } from '../common/wire';
import type { EvidenceStore } from '../tracking/evidence-store';
import type { FeatureStore } from '../tracking/features/store';
import type { PredictionRecord } from '../tracking/record';
import { type AccessLogWriter, createAccessLogWriter } from './access-log';
import type { GatewayConfig } from './config';
import { gatewayCors } from './cors';
import { DataPlane } from './dataplane';
import { createExperiments, experimentIdOf } from './experiments';
import { createFeatureLookup } from './features/lookup';
import { type AccessEntry, frontDoor } from './front-door';
import { graphqlHandler } from './graphql';
import { fetchRollout } from './graphql/rollout';
import { jsonApi } from './json-api/predict';
import { liveUpstreamCount, modelInfoBody, statusRouter } from './json-api/status';
import { createGatewayMetrics, type GatewayMetrics } from './metrics';
import { buildOpenApiDocument } from './openapi/document';
import { predictionRoutes } from './prediction-routes';
import { oipV2Router } from './protocol/oip-v2';
import { tfServingRouter } from './protocol/tf-serving';
import { ResponseCache } from './response-cache';
import { buildRouteState, type RouteState } from './routing/route-state';
import { type FetchRoutes, RoutingTable, type TableStatus } from './routing/table';
import { createRateLimiter } from './security';
import { ShadowSender } from './shadow';
import { Breakers, type CircuitState } from './upstream/breakers';
import { AdaptiveLimit, DEFAULT_LIMIT_SETTINGS } from './upstream/concurrency-limit';
import { DEFAULT_OUTLIER_SETTINGS } from './upstream/outlier-detector';
import { type UpstreamClientFactory, UpstreamPools, undiciClientFactory } from './upstream/pool';

export interface GatewayDeps {
  config: GatewayConfig;
  logger: Logger;
  /** One prom-client Registry per app. */
  metrics: Registry;
  now(): number;
  random(): number;
  fetchRoutes: FetchRoutes;
  /** metadata.json of a version from the registry, for /model/info; optional. */
  fetchMetadata?(model: string, version: string): Promise<Metadata | undefined>;
  upstreamClient?: UpstreamClientFactory;
  /** The evidence store (tracking/): prediction records, POST /feedback, GET /experiments/:model and
   * GET /predictions. Without it (unit tests of routing) nothing is recorded and those routes 404. */
  evidence?: EvidenceStore;
  /** The online feature store, for requests naming an entity (tracking/features). */
  featureStore?: FeatureStore;
  version?: string;
  /** /metrics text for the whole node:cluster when GATEWAY_WORKERS > 1 (gateway/workers.ts). */
  metricsText?(): Promise<string>;
}

export interface Gateway {
  /** What the server listens with (front-door.ts): tests drive it with supertest. */
  handler: RequestListener;
  table: RoutingTable;
  metrics: GatewayMetrics;
  /** Starts polling the registry. */
  start(): void;
  close(): Promise<void>;
}

/** A store that is down usually comes back within seconds (a Redis restart, a failover). */
const FEATURE_STORE_RETRY_AFTER_S = 2;

const CIRCUIT_VALUE: Record<CircuitState, number> = { closed: 0, 'half-open': 1, open: 2 };

function routeLabel(path: string): string {
  if (path === '/predict' || path === '/predict/batch' || path === '/model/info') return path;
  if (path.startsWith('/v2/models/') && path.endsWith('/infer')) return '/v2/infer';
  if (path.startsWith('/v1/models/') && path.endsWith(':predict')) return '/v1/predict';
  if (path.startsWith('/v2')) return '/v2';
  if (path.startsWith('/v1')) return '/v1';
  if (path.startsWith('/experiments')) return '/experiments';
  if (path.startsWith('/docs')) return '/docs';
  if (path === '/graphql') return path;
  if (['/health', '/ready', '/metrics', '/openapi.json', '/feedback', '/predictions'].includes(path))
    return path;
  return 'other';
}

export function createApp(deps: GatewayDeps): Gateway {
  const { config, logger, now } = deps;
  let tableStatus: TableStatus = {
    revision: undefined,
    stale: false,
    lastError: undefined,
    lastAnsweredAt: undefined,
  };
  let state: RouteState | undefined;
  const metrics = createGatewayMetrics(
    deps.metrics,
    () =>
      tableStatus.lastAnsweredAt === undefined ? undefined : (now() - tableStatus.lastAnsweredAt) / 1000,
    // Read at scrape time, after `breakers` below exists.
    { upstreamDeadlines: () => breakers.deadlinesMs(), responseCache: () => cache },
  );

  const pools = new UpstreamPools(
    deps.upstreamClient ?? undiciClientFactory(config.UPSTREAM_MAX_CONCURRENCY),
  );
  const cache = new ResponseCache(config.RESPONSE_CACHE_BYTES);
  const breakers = new Breakers({
    breaker: {
      errorThresholdPercent: config.BREAKER_ERROR_THRESHOLD_PERCENT,
      volumeThreshold: config.BREAKER_VOLUME_THRESHOLD,
      resetTimeoutMs: config.BREAKER_RESET_TIMEOUT_MS,
    },
    outliers: {
      ...DEFAULT_OUTLIER_SETTINGS,
      consecutiveFailures: config.OUTLIER_CONSECUTIVE_FAILURES,
      baseEjectionMs: config.OUTLIER_BASE_EJECTION_MS,
      maxEjectionMs: config.OUTLIER_MAX_EJECTION_MS,
      latencyFactor: config.OUTLIER_LATENCY_FACTOR,
    },
    deadlines: {
      p99Multiple: config.UPSTREAM_DEADLINE_P99_MULTIPLE,
      floorMs: config.UPSTREAM_DEADLINE_FLOOR_MS,
      maxMs: config.BREAKER_TIMEOUT_MS,
      minSamples: config.UPSTREAM_DEADLINE_MIN_SAMPLES,
    },
    concurrency: {
      ...DEFAULT_LIMIT_SETTINGS,
      max: config.UPSTREAM_MAX_CONCURRENCY,
      initial: Math.min(DEFAULT_LIMIT_SETTINGS.initial, config.UPSTREAM_MAX_CONCURRENCY),
      min: Math.min(DEFAULT_LIMIT_SETTINGS.min, config.UPSTREAM_MAX_CONCURRENCY),
      adaptive: config.UPSTREAM_CONCURRENCY_ADAPTIVE,
    },
    clientFor: (url) => pools.get(url),
    now,
    onStateChange: (key, circuit) => {
      metrics.circuitState.labels(key.model, key.version, key.url).set(CIRCUIT_VALUE[circuit]);
      logger.log(circuit === 'open' ? 'warn' : 'info', 'circuit state changed', {
        event: 'circuit',
        ...key,
        state: circuit,
      });
    },
    onEjection: (key, ejection) => {
      metrics.ejections.labels(key.model, key.version, ejection.reason).inc();
      logger.warn('upstream ejected', {
        event: 'ejection',
        ...key,
        reason: ejection.reason,
        ejections: ejection.ejections,
        until: new Date(ejection.untilMs).toISOString(),
      });
    },
  });

  const metadataCache = new Map<string, Metadata>();
  const fetchMissingMetadata = (routes: Routes) => {
    if (!deps.fetchMetadata) return;
    for (const [model, m] of Object.entries(routes.models)) {
      for (const version of Object.keys(m.versions)) {
        const key = `${model}/${version}`;
        if (metadataCache.has(key)) continue;
        deps.fetchMetadata(model, version).then(
          (meta) => meta && metadataCache.set(key, meta),
          () => undefined, // /model/info simply omits what it could not fetch
        );
      }
    }
  };

  const onTable = (routes: Routes) => {
    state = buildRouteState(routes, breakers);
    pools.retain(
      new Set(
        [...state.models.values()].flatMap((m) =>
          [...m.versions.values()].flatMap((v) => v.upstreams.map((u) => u.url)),
        ),
      ),
    );
    metrics.trafficWeight.reset();
    metrics.liveInstances.reset();
    metrics.circuitState.reset();
    for (const m of state.models.values()) {
      for (const v of m.versions.values()) {
        metrics.trafficWeight.labels(m.name, v.version).set(v.weightPercent);
        metrics.liveInstances.labels(m.name, v.version).set(v.upstreams.length);
        for (const u of v.upstreams)
          metrics.circuitState.labels(m.name, v.version, u.url).set(CIRCUIT_VALUE[u.state()]);
      }
    }
    metrics.tableRevision.set(routes.revision);
    logger.info('routing table applied', {
      event: 'routes',
      revision: routes.revision,
      models: state.modelNames,
    });
    fetchMissingMetadata(routes);
  };

  const table = new RoutingTable({
    fetchRoutes: deps.fetchRoutes,
    logger,
    now,
    onTable,
    emptyGraceMs: config.ROUTES_EMPTY_GRACE_MS,
    onStatus: (s) => {
      tableStatus = s;
      metrics.tableStale.set(s.stale ? 1 : 0);
    },
  });

  const evidence = deps.evidence;
  const experiments = evidence
    ? createExperiments({
        evidence,
        registry: deps.metrics,
        logger,
        now,
        routes: () => table.current(),
        adminToken: config.ADMIN_TOKEN,
        experimentLookMs: config.EXPERIMENT_LOOK_MS,
      })
    : undefined;
  const record = evidence ? (r: PredictionRecord) => evidence.record(r) : () => undefined;
  const plane = new DataPlane({
    config,
    logger,
    metrics,
    now,
    random: deps.random,
    state: () => state,
    record,
    experimentId: (model) => experimentIdOf(table.current(), model) ?? null,
    shadow: new ShadowSender(config.SHADOW_MAX_CONCURRENCY, logger),
    cache,
    featureLookup: deps.featureStore
      ? createFeatureLookup({
          store: deps.featureStore,
          registry: deps.metrics,
          now,
          retryAfterSeconds: FEATURE_STORE_RETRY_AFTER_S,
        })
      : undefined,
  });

  // One JSON API for /predict (front door and Express) and GraphQL's mutations.
  const json = jsonApi({ plane, maxBatchRows: config.MAX_BATCH_ROWS });
  const accessLogWriter = createAccessLogWriter(logger, { format: config.LOG_FORMAT, service: 'gateway' });
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');

  const isReady = () => state !== undefined && liveUpstreamCount(state) > 0;
  const openapi = buildOpenApiDocument({
    maxBatchRows: config.MAX_BATCH_ROWS,
    version: deps.version ?? '0.1.0',
  });
  app.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  app.use('/docs', swaggerUi.serve, swaggerUi.setup(openapi));
  // A cluster worker answers with the whole cluster's metrics, behind the same token check.
  app.get('/metrics', metricsHandler(deps.metrics, config.METRICS_TOKEN, deps.metricsText));
  const statusDeps = {
    plane,
    now,
    startedAt: now(),
    state: () => state,
    tableStatus: () => tableStatus,
    metadata: (m: string, v: string) => metadataCache.get(`${m}/${v}`),
  };
  app.use(statusRouter(statusDeps));
  const protocolDeps = {
    plane,
    logger,
    maxBatchRows: config.MAX_BATCH_ROWS,
    isReady,
    serverVersion: deps.version ?? '0.1.0',
  };
  app.use('/v2', oipV2Router(protocolDeps));
  app.use('/v1', tfServingRouter(protocolDeps));
  if (experiments) app.use(experiments.router);
  app.use(
    '/graphql',
    graphqlHandler({
      predict: json,
      modelInfo: () => modelInfoBody(statusDeps),
      metadata: statusDeps.metadata,
      experiments,
      rollout: (model) => fetchRollout(config.REGISTRY_URL, model),
      maxBatchRows: config.MAX_BATCH_ROWS,
      limits: {
        maxDepth: config.GRAPHQL_MAX_DEPTH,
        maxAliases: config.GRAPHQL_MAX_ALIASES,
        maxComplexity: config.GRAPHQL_MAX_COMPLEXITY,
      },
      maxBatchOperations: config.GRAPHQL_MAX_BATCH,
      introspection: config.GRAPHQL_INTROSPECTION ?? config.NODE_ENV !== 'production',
      adminToken: config.ADMIN_TOKEN,
    }),
  );
  app.use(notFoundHandler());
  app.use(errorMiddleware(logger));

  const handler = frontDoor({
    logger,
    now,
    apiKeys: config.API_KEYS,
    admission: new AdaptiveLimit(
      {
        ...DEFAULT_LIMIT_SETTINGS,
        initial: Math.min(256, config.MAX_CONCURRENT_REQUESTS),
        min: Math.min(32, config.MAX_CONCURRENT_REQUESTS),
        max: config.MAX_CONCURRENT_REQUESTS,
        adaptive: config.UPSTREAM_CONCURRENCY_ADAPTIVE,
      },
      now,
    ),
    rateLimiter: createRateLimiter(config.RATE_LIMIT_RPS, now),
    securityHeaders: securityHeaders().headers,
    cors: gatewayCors(config.CORS_ORIGINS),
    access: accessRecorder(
      accessLogWriter,
      metrics,
      now,
      record,
      (m) => experimentIdOf(table.current(), m) ?? null,
    ),
    predictions: predictionRoutes({
      protocol: protocolDeps,
      json,
      logger,
      bodyLimitBytes: parseByteLimit(config.BODY_LIMIT, 'BODY_LIMIT'),
    }),
    app: app as unknown as RequestListener,
  });

  return {
    handler,
    table,
    metrics,
    start: () => table.start(),
    close: async () => {
      await table.stop();
      breakers.shutdown();
      await pools.close();
      accessLogWriter.flush();
    },
  };
}

/** One access line and the request metrics per answered request, written once the answer is out.
 * Metric children are cached per label set: `.labels()` hashes its arguments on every call. */
const PREDICTION_ROUTES = new Set(['/predict', '/predict/batch', '/v2/infer', '/v1/predict']);

function accessRecorder(
  log: AccessLogWriter,
  metrics: GatewayMetrics,
  now: () => number,
  record: (r: PredictionRecord) => void,
  experimentId: (model: string) => string | null,
): (entry: AccessEntry) => void {
  const counters = new Map<string, { inc(): void }>();
  const histograms = new Map<string, { observe(v: number): void }>();
  return function recordAccess(e) {
    const seconds = (now() - e.startedAt) / 1000;
    const route = routeLabel(e.url.split('?', 1)[0]!);
    const model = e.model ?? 'none';
    const version = e.version ?? 'none';
    const key = `${model}\u0000${version}\u0000${route}`;
    const statusKey = `${key}\u0000${e.status}`;
    let counter = counters.get(statusKey);
    if (!counter) {
      counter = metrics.requests.labels(model, version, route, String(e.status));
      if (counters.size < 10_000) counters.set(statusKey, counter);
    }
    counter.inc();
    let histogram = histograms.get(key);
    if (!histogram) {
      histogram = metrics.requestDuration.labels(model, version, route);
      if (histograms.size < 10_000) histograms.set(key, histogram);
    }
    histogram.observe(seconds);
    // Answered predictions are recorded per row by the data plane; failures of the chosen version
    // once, here. A 4xx is the caller's mistake, not the version's, so it is not evidence.
    if (e.status >= 500 && version !== 'none' && PREDICTION_ROUTES.has(route)) {
      record({
        requestId: e.requestId,
        row: 0,
        model,
        version,
        experimentId: experimentId(model),
        unit: e.unit ?? null,
        route,
        reason: e.reason ?? 'split',
        status: e.status,
        ok: false,
        latencyMs: seconds * 1000,
        predictedClass: null,
        confidence: null,
        at: now(),
      });
    }
    log.write({
      requestId: e.requestId,
      method: e.method,
      path: e.url.slice(0, 256),
      status: e.status,
      durationMs: Math.round(seconds * 1e4) / 10,
      model,
      version,
    });
  };
}
