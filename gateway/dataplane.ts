/** Protocol-neutral core (as kserve's dataplane): resolve the model, choose a version, check the
 * input width, forward with failover, and record the outcome off the hot path. The seed routes and
 * the OIP v2 / TF Serving routers are thin translations onto it. */
import { AppError } from '../common/errors';
import type { Logger } from '../common/logger';
import type { PredictionRecord } from '../tracking/record';
import type { RouteReason as RecordedReason } from '../tracking/store/schema';
import type { GatewayConfig } from './config';
import { encodeRows, type FeatureLookup, type RowInput } from './features/rows';
import type { GatewayMetrics } from './metrics';
import { predictionsFromAnswer } from './oip-rows';
import type { ResponseCache } from './response-cache';
import { type Dispatched, dispatch } from './routing/dispatch';
import type { ModelRoute, RouteState, VersionRoute } from './routing/route-state';
import { pickVersion, type RouteReason, type Selection } from './routing/split';
import type { RowPrediction } from './schemas';
import type { ShadowSender } from './shadow';
import type { UpstreamRequest } from './upstream/pool';

export interface DataPlaneDeps {
  config: GatewayConfig;
  logger: Logger;
  metrics: GatewayMetrics;
  now(): number;
  random(): number;
  state(): RouteState | undefined;
  /** Hands a prediction record to the evidence store (buffered; never blocks). */
  record(record: PredictionRecord): void;
  /** The experiment the model is running, from the routing table; null when none. */
  experimentId(model: string): string | null;
  shadow: ShadowSender;
  cache?: ResponseCache;
  /** The online feature store, for requests that name an entity; undefined: none configured. */
  featureLookup?: FeatureLookup | undefined;
}

export interface Choice {
  model: ModelRoute;
  version: VersionRoute;
  reason: RouteReason;
  /** Assignment unit: the sticky key's value (sticky header, else user_id), if any. */
  unit: string | undefined;
}

export interface ForwardResult extends Dispatched {
  model: ModelRoute;
  /** How the answering version was chosen, as the evidence store records it. */
  reason: RecordedReason;
  unit: string | undefined;
  /** Answered from the response cache: never compared with a shadow version. */
  cached?: boolean;
}

/** The store's spelling of a routing reason. */
export function recordedReason(reason: RouteReason): RecordedReason {
  return reason === 'pinned' ? 'pin' : reason;
}

/** A version's metric children, bound once per routing table: prom-client's `labels()` hashes its
 * arguments into a key on every call, which the profile showed on the hot path. Keyed by the
 * table's VersionRoute object, so a new table starts fresh and an old one is collected. */
interface VersionMetrics {
  routed: Map<string, { inc(): void }>;
  upstreamSeconds: { observe(v: number): void };
  confidence: { observe(v: number): void };
  predictions: Map<string, { inc(): void }>;
}

const RETRY_AFTER_S = 1;
const MAX_FEATURE_NAMES_IN_ERROR = 32;

export class DataPlane {
  readonly now: () => number;
  private readonly versionMetrics = new WeakMap<VersionRoute, VersionMetrics>();

  constructor(private readonly deps: DataPlaneDeps) {
    this.now = deps.now;
  }

  private metricsOf(model: string, version: VersionRoute): VersionMetrics {
    let m = this.versionMetrics.get(version);
    if (!m) {
      const { metrics } = this.deps;
      m = {
        routed: new Map(),
        upstreamSeconds: metrics.upstreamDuration.labels(model, version.version),
        confidence: metrics.confidence.labels(model, version.version),
        predictions: new Map(),
      };
      this.versionMetrics.set(version, m);
    }
    return m;
  }

  private countRouted(model: string, version: VersionRoute, reason: string): void {
    const routed = this.metricsOf(model, version).routed;
    let counter = routed.get(reason);
    if (!counter) {
      counter = this.deps.metrics.routed.labels(model, version.version, reason);
      routed.set(reason, counter);
    }
    counter.inc();
  }

  table(): RouteState {
    const state = this.deps.state();
    if (!state) {
      throw new AppError(
        'not_ready',
        `no routing table yet: the registry at ${this.deps.config.REGISTRY_URL} has not answered`,
        undefined,
        { 'Retry-After': String(RETRY_AFTER_S) },
      );
    }
    return state;
  }

  defaultModelName(): string | undefined {
    const state = this.deps.state();
    if (!state) return undefined;
    const configured = this.deps.config.DEFAULT_MODEL;
    if (configured && state.models.has(configured)) return configured;
    return state.modelNames[0];
  }

  resolveModel(name: string | undefined): ModelRoute {
    const state = this.table();
    const wanted = name ?? this.defaultModelName();
    const model = wanted === undefined ? undefined : state.models.get(wanted);
    if (!model) {
      const known = state.modelNames.length ? state.modelNames.map((m) => `"${m}"`).join(', ') : 'none';
      throw new AppError(
        'model_not_found',
        wanted === undefined ? 'no model is registered yet' : `no model "${wanted}"; models: ${known}`,
        { models: state.modelNames },
      );
    }
    return model;
  }

  choose(model: ModelRoute, selection: Selection): Choice {
    const picked = pickVersion(
      {
        model: model.name,
        ranges: model.ranges,
        aliases: model.policy.aliases,
        versions: model.versionNames,
      },
      selection,
      this.deps.random,
    );
    if (!picked.ok) {
      const versions = [...model.versionNames];
      if (picked.kind === 'unknown_label') {
        const labels = Object.entries(model.policy.aliases).map(([l, v]) => `${l} -> ${v}`);
        throw new AppError(
          'version_not_found',
          `model "${model.name}" has no label "${picked.name}"; labels: ${labels.join(', ') || 'none'}`,
          { labels: model.policy.aliases },
        );
      }
      if (picked.kind === 'unknown_version') {
        throw new AppError(
          'version_not_found',
          `model "${model.name}" has no version "${picked.name}"; versions: ${versions.join(', ')}`,
          { versions },
        );
      }
      throw new AppError('no_healthy_upstream', `model "${model.name}" has no variant with weight above 0`, {
        versions,
      });
    }
    return {
      model,
      version: model.versions.get(picked.version)!,
      reason: picked.reason,
      unit: selection.stickyKey === '' ? undefined : selection.stickyKey,
    };
  }

  /** Rows for the chosen version from positional, named or entity inputs (see features/rows.ts). */
  encodeRows(
    model: ModelRoute,
    version: VersionRoute,
    inputs: readonly RowInput[],
  ): number[][] | Promise<number[][]> {
    return encodeRows({ model, version, inputs, lookup: this.deps.featureLookup });
  }

  /** Every row must have exactly the chosen version's input width. */
  checkRows(model: ModelRoute, version: VersionRoute, rows: readonly (readonly number[])[]): void {
    const width = version.inputWidth;
    const bad = rows.findIndex((r) => r.length !== width);
    if (bad < 0) return;
    const names = version.features.slice(0, MAX_FEATURE_NAMES_IN_ERROR);
    const more = version.features.length > names.length ? `, … (${version.features.length} in all)` : '';
    throw new AppError(
      'invalid_input',
      `model "${model.name}" version "${version.version}" takes ${width} features per row ` +
        `(${names.join(', ')}${more}); ${rows.length > 1 ? `row ${bad} has` : 'got'} ${rows[bad]!.length}`,
      { expected_width: width, features: version.features, row: bad, got: rows[bad]!.length },
    );
  }

  async forward(
    choice: Choice,
    request: (version: VersionRoute) => UpstreamRequest,
    options: {
      accepts?: (version: VersionRoute) => boolean;
      /** What determines the answer, for the response cache (off unless RESPONSE_CACHE_BYTES). */
      cacheInput?: Buffer | string;
    } = {},
  ): Promise<ForwardResult> {
    const { model, version, reason } = choice;
    const { metrics, now, cache } = this.deps;
    const { accepts } = options;
    this.countRouted(model.name, version, reason);
    const cacheKey =
      cache?.enabled && options.cacheInput !== undefined
        ? cache.key(model.name, version.version, options.cacheInput)
        : undefined;
    const hit = cacheKey === undefined ? undefined : cache!.get(cacheKey);
    if (cacheKey !== undefined) metrics.responseCacheLookups.labels(hit ? 'hit' : 'miss').inc();
    if (hit)
      return {
        version,
        response: hit,
        model,
        reason: recordedReason(reason),
        unit: choice.unit,
        cached: true,
      };
    const allowFailover = reason === 'sticky' || reason === 'split';
    const result = await dispatch(model, version.version, {
      allowFailover,
      request,
      ...(accepts ? { accepts } : {}),
      now,
      // An open breaker lets a probe through after its reset timeout: that is when to come back.
      retryAfterSeconds: Math.max(RETRY_AFTER_S, Math.ceil(this.deps.config.BREAKER_RESET_TIMEOUT_MS / 1000)),
      observeUpstream: (v, seconds) => this.metricsOf(model.name, v).upstreamSeconds.observe(seconds),
    });
    if (result.failoverFrom !== undefined) {
      metrics.failovers.labels(model.name, result.failoverFrom, result.version.version).inc();
      this.countRouted(model.name, result.version, 'failover');
    }
    if (cacheKey !== undefined && result.failoverFrom === undefined) cache!.set(cacheKey, result.response);
    const recorded = result.failoverFrom !== undefined ? 'failover' : recordedReason(reason);
    return { ...result, model, reason: recorded, unit: choice.unit };
  }

  /** After the answer is sent: metrics and one evidence record per row (batch rows by index). */
  recordRows(
    ctx: { requestId: string; route: string; startedAt: number; batch: boolean },
    result: ForwardResult,
    rows: readonly RowPrediction[],
  ): void {
    const { metrics, now } = this.deps;
    const model = result.model.name;
    const version = result.version.version;
    const latencyMs = now() - ctx.startedAt;
    const at = now();
    const bound = this.metricsOf(model, result.version);
    const experimentId = this.deps.experimentId(model);
    rows.forEach((row, i) => {
      let predicted = bound.predictions.get(row.prediction);
      if (!predicted) {
        predicted = metrics.predictions.labels(model, version, row.prediction);
        // Classes come from the upstream's answer: bounded by the version's labels when it is sane.
        if (bound.predictions.size < 1024) bound.predictions.set(row.prediction, predicted);
      }
      predicted.inc();
      bound.confidence.observe(row.confidence);
      this.deps.record({
        requestId: ctx.requestId,
        row: i,
        model,
        version,
        experimentId,
        unit: result.unit ?? null,
        route: ctx.route,
        reason: result.reason,
        status: 200,
        ok: true,
        latencyMs,
        predictedClass: row.prediction,
        confidence: row.confidence,
        at,
      });
    });
  }

  /** For protocol routes, whose answers are relayed as they came: read the rows in the background. */
  recordAnswer(ctx: { requestId: string; route: string; startedAt: number }, result: ForwardResult): void {
    setImmediate(() => {
      const rows = predictionsFromAnswer(result.response.body, result.version.labels);
      if (rows) this.recordRows({ ...ctx, batch: rows.length > 1 }, result, rows);
    });
  }

  /** Sends a copy to the policy's shadow version when this request falls in its percentage. */
  maybeShadow(
    result: ForwardResult,
    primary: readonly string[] | undefined,
    request: (version: VersionRoute) => UpstreamRequest,
    ctx: { requestId: string; route: string },
    /** Rows encoded from named features: the shadow version must share the feature spec. */
    named = false,
  ): void {
    if (result.cached) return;
    const shadow = result.model.policy.shadow;
    if (!shadow || shadow.version === result.version.version) return;
    if (this.deps.random() * 100 >= shadow.percent) return;
    const target = result.model.versions.get(shadow.version);
    const { metrics } = this.deps;
    const model = result.model;
    const version = result.version.version;
    const count = (outcome: string) =>
      metrics.shadowRequests.labels(model.name, version, shadow.version, outcome).inc();
    if (
      !target ||
      target.inputWidth !== result.version.inputWidth ||
      (named && target.specKey !== result.version.specKey)
    ) {
      count('error');
      return;
    }
    this.deps.shadow.send(
      () =>
        primary ??
        (predictionsFromAnswer(result.response.body, result.version.labels) ?? []).map((r) => r.prediction),
      async () => {
        const startedAt = this.deps.now();
        const answer = await dispatch(model, shadow.version, {
          allowFailover: false,
          request,
          now: this.deps.now,
          retryAfterSeconds: RETRY_AFTER_S,
        });
        const rows = predictionsFromAnswer(answer.response.body, target.labels);
        this.recordShadow(ctx, result, shadow.version, startedAt, rows);
        return rows?.map((r) => r.prediction);
      },
      count,
    );
  }

  /** Shadow answers are evidence too (agreement with the served version), kept apart by reason. */
  private recordShadow(
    ctx: { requestId: string; route: string },
    result: ForwardResult,
    version: string,
    startedAt: number,
    rows: readonly RowPrediction[] | undefined,
  ): void {
    const at = this.deps.now();
    const model = result.model.name;
    const experimentId = this.deps.experimentId(model);
    (rows ?? []).forEach((row, i) => {
      this.deps.record({
        requestId: ctx.requestId,
        row: i,
        model,
        version,
        experimentId,
        unit: result.unit ?? null,
        route: ctx.route,
        reason: 'shadow',
        status: 200,
        ok: true,
        latencyMs: at - startedAt,
        predictedClass: row.prediction,
        confidence: row.confidence,
        at,
      });
    });
  }
}
