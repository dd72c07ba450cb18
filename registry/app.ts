/** The registry's HTTP surface. Reads come from a catalog of the store kept in memory (refreshed after
 * every write and on a timer, for writes made by another process); policy reads and every write go to
 * the files themselves under the store lock. */
import { rm } from 'node:fs/promises';
import express, { type Express, type Request, type RequestHandler, type Response } from 'express';
import type { Kysely } from 'kysely';
import type { Registry } from 'prom-client';
import { AppError, errorMiddleware, notFoundHandler, storageError } from '../common/errors';
import { jsonBody, metricsHandler, requestId } from '../common/http';
import type { Logger } from '../common/logger';
import { securityHeaders } from '../common/security-headers';
import { heartbeatSchema, inputWidth, type Policy } from '../common/wire';
import type { ExperimentGauges } from '../tracking/experiments/gauges';
import type { ExperimentRepository } from '../tracking/experiments/repository';
import { parsePredictionsQuery } from '../tracking/predictions-params';
import type { PredictionFilter, PredictionPage } from '../tracking/predictions-query';
import type { EvidenceSchema } from '../tracking/store/schema';
import { pageAudit, readAudit } from './audit-log';
import { requireAdmin, requireInstanceToken } from './auth';
import type { RegistryConfig } from './config';
import { consoleRouter } from './console';
import { fetchMetrics, type ReadMetrics, readModelDrift } from './drift/readings';
import { createRegistryExperiments } from './experiments';
import type { VerifyInstance } from './instance-verify';
import type { Instance, Instances } from './instances';
import type { RegistryMetrics } from './metrics';
import type { RolloutController } from './rollouts/executor';
import { rolloutRouter } from './rollouts/router';
import { buildRoutesModels, type RoutesTable } from './routes';
import type { Actor, Catalog, ModelStore } from './store/model-store';
import { assertName } from './store/paths';
import { defaultPolicy, parseIfMatch, readPolicy } from './store/policies';
import { type ArtifactCheck, receiveUpload, refuseBody, verifyUpload } from './upload';

export interface RegistryDeps {
  config: Pick<RegistryConfig, 'adminTokens' | 'instanceTokens' | 'maxUploadBytes' | 'instanceTtlMs'> &
    Partial<Pick<RegistryConfig, 'metricsToken'>>;
  logger: Logger;
  metricsRegistry: Registry;
  metrics: RegistryMetrics;
  store: ModelStore;
  instances: Instances;
  routes: RoutesTable;
  checkArtifact: ArtifactCheck;
  /** Fetches an instance's /metrics text, for the drift read (default: HTTP with a 2 s deadline). */
  readMetrics?: ReadMetrics;
  /** Stored prediction rows with their feedback, from the evidence store (DATABASE_URL); without
   * it GET /models/:m/predictions answers 404. */
  predictions?: (filter: PredictionFilter) => Promise<PredictionPage>;
  /** The built console (dist/console); undefined or missing answers /console with a 404 saying so. */
  consoleDir?: string;
  /** The rollout controller; without it the rollout endpoints answer 404. */
  rollouts?: RolloutController;
  now?: () => number;
  /** Proves a new instance serves the model and version it claims before it joins routing. */
  verifyInstance: VerifyInstance;
  /** Experiments in the evidence store (DATABASE_URL); without it the experiment API is absent. */
  experiments?: {
    repository: ExperimentRepository;
    db: Kysely<EvidenceSchema>;
    now(): number;
    lookEveryMs: number;
    gauges?: ExperimentGauges;
  };
  /** Called with the live instances whenever the routing table is rebuilt (main.ts saves them). */
  onInstances?(list: readonly Instance[]): void;
}

export interface RegistryApp {
  app: Express;
  /** Re-reads the store and rebuilds the routing table; writes await it before they answer. */
  refresh(): Promise<void>;
  /** Drops expired instances; called on a timer and before every read of instances. */
  sweep(): void;
  /** Ends held long-polls (with 304) so the server can close promptly. */
  close(): void;
  /** Recomputes the verdict gauges of running experiments (on a timer in main.ts). */
  publishExperimentGauges(): Promise<void>;
}

const MAX_WAIT_SECONDS = 60;

function param(req: Request, name: string, kind: 'model' | 'version' | 'alias'): string {
  return assertName(kind, String(req.params[name] ?? ''));
}

function intQuery(req: Request, name: string, fallback: number, min: number, max: number): number {
  const raw = req.query[name];
  if (raw === undefined) return fallback;
  const n = typeof raw === 'string' && /^\d{1,6}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= min && n <= max)) {
    throw new AppError(
      'invalid_input',
      `query parameter ${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`,
    );
  }
  return n;
}

function etagMatches(header: string | undefined, revision: number): boolean {
  if (!header) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim().replace(/^W\//, '');
    return t === '*' || t === `"${revision}"` || t === String(revision);
  });
}

export function createApp(deps: RegistryDeps): RegistryApp {
  const { logger, store, instances, routes, metrics } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const admin = requireAdmin(deps.config.adminTokens);
  const readMetrics = deps.readMetrics ?? fetchMetrics(2000);
  const instanceAuth = requireInstanceToken(deps.config.instanceTokens);
  const json = jsonBody('256kb');
  const shutdown = new AbortController();
  let catalog: Catalog = new Map();
  let refreshing: Promise<void> = Promise.resolve();
  const experiments = deps.experiments
    ? createRegistryExperiments({
        ...deps.experiments,
        logger,
        admin,
        policyOf: (model) => modelEntry(model).policy,
        changed: () => refresh(),
      })
    : undefined;

  function publishRoutes(): void {
    if (routes.update(buildRoutesModels(catalog, instances, experiments?.routing()))) {
      metrics.routesRevision.set(routes.current().revision);
      deps.onInstances?.(instances.list());
    }
    metrics.liveInstances.reset();
    for (const [model, entry] of catalog) {
      for (const v of entry.versions.keys())
        metrics.liveInstances.set({ model, version: v }, instances.urlsOf(model, v).length);
    }
  }

  async function rescan(): Promise<void> {
    catalog = await store.catalog();
    if (experiments) {
      try {
        await experiments.sync(new Map([...catalog].map(([name, entry]) => [name, entry.policy])));
      } catch (err) {
        logger.warn('could not bring experiments in step with policies', { error: String(err) });
      }
    }
    metrics.policyRevision.reset();
    for (const [model, entry] of catalog) metrics.policyRevision.set({ model }, entry.policy.revision);
    publishRoutes();
  }

  function refresh(): Promise<void> {
    const next = refreshing.then(rescan);
    refreshing = next.catch((err: unknown) => {
      logger.error('could not read the model store', { error: String(err) });
    });
    return next;
  }

  function sweep(): void {
    if (instances.expire()) publishRoutes();
  }

  const actorOf = (res: Response): Actor => ({
    who: String(res.locals.actor ?? 'unknown'),
    requestId: res.locals.requestId as string | undefined,
  });

  function modelEntry(model: string) {
    const entry = catalog.get(model);
    if (!entry)
      throw new AppError(
        'model_not_found',
        `model "${model}" does not exist; \`modelgate models\` lists the models`,
      );
    return entry;
  }

  function sendPolicy(res: Response, policy: Policy, status = 200): void {
    res.setHeader('ETag', `"${policy.revision}"`);
    res.status(status).json(policy);
  }

  function instanceView(model: string, version: string) {
    return instances
      .list()
      .filter((i) => i.model === model && i.version === version)
      .map((i) => ({
        url: i.url,
        backend: i.backend ?? null,
        last_seen: new Date(i.lastSeenMs).toISOString(),
      }));
  }

  const countRequests: RequestHandler = function countRequests(req, res, next) {
    res.on('finish', () => {
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      metrics.requests.inc({ route, method: req.method, status: String(res.statusCode) });
    });
    next();
  };

  app.use(requestId(), securityHeaders().middleware, countRequests);

  app.get('/health', (_req, res) => {
    res.json({
      status: 'healthy',
      service: 'registry',
      models: catalog.size,
      routes_revision: routes.current().revision,
    });
  });
  app.get('/metrics', metricsHandler(deps.metricsRegistry, deps.config.metricsToken));
  app.use('/console', consoleRouter(deps.consoleDir));

  app.get('/models', (_req, res) => {
    sweep();
    res.json({
      models: [...catalog.values()].map((e) => ({
        name: e.name,
        versions: [...e.versions.keys()],
        weights: Object.fromEntries(e.policy.variants.map((v) => [v.version, v.weight])),
        aliases: e.policy.aliases,
        revision: e.policy.revision,
        live_instances: [...e.versions.keys()].reduce((n, v) => n + instances.urlsOf(e.name, v).length, 0),
      })),
    });
  });

  app.get('/models/:model', (req, res) => {
    sweep();
    const model = param(req, 'model', 'model');
    const entry = modelEntry(model);
    res.json({
      name: model,
      policy: entry.policy,
      aliases: entry.policy.aliases,
      versions: [...entry.versions.values()].map((md) => ({
        version: md.version,
        created: md.created,
        description: md.description,
        framework: md.framework,
        format: md.format,
        input_width: inputWidth(md),
        features: md.inputs[0]!.features.length,
        labels: md.outputs[0]!.labels,
        metrics: md.metrics,
        weight: entry.policy.variants.find((v) => v.version === md.version)?.weight ?? 0,
        aliases: Object.entries(entry.policy.aliases)
          .filter(([, v]) => v === md.version)
          .map(([a]) => a),
        instances: instanceView(model, md.version),
      })),
    });
  });

  app.get('/models/:model/versions/:version', (req, res) => {
    sweep();
    const model = param(req, 'model', 'model');
    const version = param(req, 'version', 'version');
    const entry = modelEntry(model);
    const metadata = entry.versions.get(version);
    if (!metadata)
      throw new AppError(
        'version_not_found',
        `model "${model}" has no version "${version}" (versions: ${[...entry.versions.keys()].join(', ')})`,
      );
    res.json({
      model,
      version,
      weight: entry.policy.variants.find((v) => v.version === version)?.weight ?? 0,
      aliases: Object.entries(entry.policy.aliases)
        .filter(([, v]) => v === version)
        .map(([a]) => a),
      instances: instanceView(model, version),
      metadata,
    });
  });

  const adminUpload: RequestHandler = function adminUpload(req, res, next) {
    admin(req, res, (err?: unknown) => {
      if (err === undefined) return next();
      refuseBody(req, deps.config.maxUploadBytes);
      next(err);
    });
  };

  app.post('/models/:model/versions', adminUpload, async (req, res) => {
    let model: string;
    try {
      model = param(req, 'model', 'model');
    } catch (err) {
      refuseBody(req, deps.config.maxUploadBytes);
      throw err;
    }
    const upload = await receiveUpload(req, store.root, deps.config.maxUploadBytes);
    try {
      const staged = await verifyUpload(upload, model, deps.checkArtifact);
      const published = await store.publishVersion(model, staged, actorOf(res));
      await refresh();
      logger.info('version published', {
        model,
        version: published.version,
        bytes: staged.bytes,
        who: actorOf(res).who,
      });
      res.setHeader('Location', `/models/${model}/versions/${published.version}`);
      res.status(201).json({
        model,
        version: published.version,
        created_model: published.createdModel,
        metadata: published.metadata,
        policy: published.policy,
      });
    } finally {
      await rm(upload.dir, { recursive: true, force: true });
    }
  });

  app.delete('/models/:model/versions/:version', admin, async (req, res) => {
    const model = param(req, 'model', 'model');
    const version = param(req, 'version', 'version');
    const policy = await store.deleteVersion(model, version, actorOf(res));
    instances.forgetVersion(model, version);
    await refresh();
    res.json({ deleted: { model, version }, policy });
  });

  app.get('/models/:model/policy', async (req, res) => {
    const model = param(req, 'model', 'model');
    const policy =
      (await readPolicy(store.root, model)) ?? defaultPolicy([...modelEntry(model).versions.keys()]);
    if (!policy) throw new AppError('model_not_found', `model "${model}" does not exist`);
    res.setHeader('Cache-Control', 'no-cache');
    sendPolicy(res, policy);
  });

  app.put('/models/:model/policy', admin, ...json, async (req, res) => {
    const model = param(req, 'model', 'model');
    const ifMatch = parseIfMatch(req.get('if-match'));
    if (ifMatch === undefined) {
      throw new AppError(
        'precondition_required',
        'PUT /models/:m/policy needs If-Match with the revision you read, e.g. If-Match: "7" (GET the policy for its ETag)',
      );
    }
    const policy = await store.updatePolicy(model, req.body, ifMatch, actorOf(res));
    await refresh();
    deps.rollouts?.poke(model);
    logger.info('policy updated', { model, revision: policy.revision, who: actorOf(res).who });
    sendPolicy(res, policy);
  });

  app.put('/models/:model/aliases/:alias', admin, ...json, async (req, res) => {
    const model = param(req, 'model', 'model');
    const alias = param(req, 'alias', 'alias');
    const body = req.body as { version?: unknown } | null;
    const version =
      typeof body === 'object' && body !== null && typeof body.version === 'string'
        ? body.version
        : undefined;
    if (version === undefined)
      throw new AppError('invalid_input', 'send {"version": "<version>"} to point the alias at a version');
    const policy = await store.setAlias(
      model,
      alias,
      assertName('version', version),
      parseIfMatch(req.get('if-match')),
      actorOf(res),
    );
    await refresh();
    deps.rollouts?.poke(model);
    sendPolicy(res, policy);
  });

  app.delete('/models/:model/aliases/:alias', admin, async (req, res) => {
    const model = param(req, 'model', 'model');
    const alias = param(req, 'alias', 'alias');
    const policy = await store.deleteAlias(model, alias, parseIfMatch(req.get('if-match')), actorOf(res));
    await refresh();
    deps.rollouts?.poke(model);
    sendPolicy(res, policy);
  });

  app.get('/models/:model/drift', async (req, res) => {
    sweep();
    const model = param(req, 'model', 'model');
    const entry = modelEntry(model);
    res.setHeader('Cache-Control', 'no-cache');
    res.json(
      await readModelDrift({
        model,
        versions: [...entry.versions.values()],
        instancesOf: (version) => instances.urlsOf(model, version),
        readMetrics,
      }),
    );
  });

  // Stored rows are an admin read, as on the gateway's GET /predictions: they hold what callers sent.
  app.get('/models/:model/predictions', admin, async (req, res) => {
    const model = param(req, 'model', 'model');
    modelEntry(model);
    const filter = parsePredictionsQuery(req.query, {
      modelInQuery: false,
      usage:
        'GET /models/:m/predictions takes version, feedback (correct|incorrect|unlabelled), since, until, limit, cursor',
    });
    if (!deps.predictions)
      throw new AppError(
        'not_found',
        'this registry has no evidence store, so it holds no stored predictions',
      );
    let page: PredictionPage;
    try {
      page = await deps.predictions({ ...filter, model });
    } catch (err) {
      logger.warn('evidence store call failed', { what: 'listing predictions', error: String(err) });
      throw new AppError(
        'not_ready',
        'the evidence store (DATABASE_URL) did not answer; retry shortly',
        undefined,
        {
          'Retry-After': '2',
        },
      );
    }
    res.setHeader('Cache-Control', 'no-store');
    res.json(page);
  });

  app.get('/models/:model/audit', async (req, res) => {
    const model = param(req, 'model', 'model');
    modelEntry(model);
    const limit = intQuery(req, 'limit', 50, 1, 1000);
    const offset = intQuery(req, 'offset', 0, 0, 1_000_000);
    res.json(pageAudit(await readAudit(store.root, model), offset, limit));
  });

  app.post('/instances', instanceAuth, ...jsonBody('16kb'), async (req, res) => {
    const parsed = heartbeatSchema.safeParse(req.body);
    if (!parsed.success) {
      const details = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`);
      throw new AppError('invalid_input', `heartbeat is invalid: ${details.join('; ')}`, details);
    }
    const beat = parsed.data;
    if (!/^https?:\/\//.test(beat.url)) {
      throw new AppError(
        'invalid_input',
        `heartbeat url must be the instance's http(s) base URL, got ${JSON.stringify(beat.url)}`,
      );
    }
    if (!catalog.get(beat.model)?.versions.has(beat.version)) await refresh();
    const entry = catalog.get(beat.model);
    if (!entry) throw new AppError('model_not_found', `model "${beat.model}" is not in the registry's store`);
    if (!entry.versions.has(beat.version))
      throw new AppError(
        'version_not_found',
        `model "${beat.model}" has no version "${beat.version}" in the registry's store`,
      );
    sweep();
    if (beat.ready && !instances.has(beat.model, beat.version, beat.url)) await deps.verifyInstance(beat);
    if (instances.heartbeat(beat)) {
      publishRoutes();
      logger.info(beat.ready ? 'instance joined' : 'instance left', {
        model: beat.model,
        version: beat.version,
        url: beat.url,
      });
    }
    res.json({ ttl_ms: deps.config.instanceTtlMs });
  });

  app.get('/routes', async (req, res) => {
    const waitSeconds = intQuery(req, 'wait', 0, 0, MAX_WAIT_SECONDS);
    sweep();
    let table = routes.current();
    if (etagMatches(req.get('if-none-match'), table.revision) && waitSeconds > 0) {
      const gone = new AbortController();
      res.on('close', () => gone.abort());
      const stop = AbortSignal.any([gone.signal, shutdown.signal]);
      await routes.waitForChange(table.revision, waitSeconds * 1000, stop);
      table = routes.current();
    }
    res.setHeader('ETag', `"${table.revision}"`);
    res.setHeader('Cache-Control', 'no-cache');
    if (etagMatches(req.get('if-none-match'), table.revision)) {
      res.status(304).end();
      return;
    }
    res.json(table);
  });

  if (deps.rollouts) {
    app.use(rolloutRouter({ controller: deps.rollouts, admin, json, actorOf, now: deps.now ?? Date.now }));
  }
  if (experiments) app.use(experiments.router);

  app.use(notFoundHandler());
  app.use(function countIoErrors(err: unknown, req: Request, _res: Response, next: (e: unknown) => void) {
    const failure = storageError(err) ?? (err instanceof AppError ? err : undefined);
    if (failure?.code === 'insufficient_storage') {
      const op = req.route?.path ? `${req.method} ${req.baseUrl}${String(req.route.path)}` : req.method;
      const code = String((failure.details as { errno?: string } | undefined)?.errno ?? 'unknown');
      metrics.ioErrors.inc({ op, code });
      logger.error('store write failed', { op, code, requestId: req.res?.locals.requestId });
      return next(failure);
    }
    next(err);
  });
  app.use(errorMiddleware(logger));

  return {
    app,
    refresh,
    sweep,
    close: () => shutdown.abort(),
    publishExperimentGauges: () => experiments?.publishGauges() ?? Promise.resolve(),
  };
}
