/** The gateway's series, per docs/metrics.md. Built once per app on the registry passed in. Gauges
 * carry a cluster aggregator (GATEWAY_WORKERS > 1): workers agree on them, so summing would multiply. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { collectProcessMetrics } from '../common/process-metrics';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface GatewayMetrics {
  requests: Counter<'model' | 'version' | 'route' | 'status'>;
  requestDuration: Histogram<'model' | 'version' | 'route'>;
  upstreamDuration: Histogram<'model' | 'version'>;
  routed: Counter<'model' | 'version' | 'reason'>;
  failovers: Counter<'model' | 'from_version' | 'to_version'>;
  trafficWeight: Gauge<'model' | 'version'>;
  circuitState: Gauge<'model' | 'version' | 'upstream'>;
  ejections: Counter<'model' | 'version' | 'reason'>;
  upstreamDeadline: Gauge<'model' | 'version'>;
  responseCacheLookups: Counter<'result'>;
  responseCacheHitRatio: Gauge;
  responseCacheBytes: Gauge;
  liveInstances: Gauge<'model' | 'version'>;
  tableRevision: Gauge;
  tableAge: Gauge;
  tableStale: Gauge;
  predictions: Counter<'model' | 'version' | 'class'>;
  confidence: Histogram<'model' | 'version'>;
  shadowRequests: Counter<'model' | 'version' | 'shadow_version' | 'outcome'>;
}

export function createGatewayMetrics(
  registry: Registry,
  tableAgeSeconds: () => number | undefined,
  options: {
    defaultMetrics?: boolean;
    /** Current per-request deadline of each version, read at scrape time. */
    upstreamDeadlines?(): Iterable<{ model: string; version: string; ms: number }>;
    responseCache?(): { enabled: boolean; hits: number; misses: number; sizeBytes: number };
  } = {},
): GatewayMetrics {
  const registers = [registry];
  if (options.defaultMetrics ?? true) collectProcessMetrics(registry);
  return {
    requests: new Counter({
      name: 'modelgate_gateway_requests_total',
      help: 'Answered requests (version "none" when none was chosen).',
      labelNames: ['model', 'version', 'route', 'status'],
      registers,
    }),
    requestDuration: new Histogram({
      name: 'modelgate_gateway_request_duration_seconds',
      help: 'Time from request to response.',
      labelNames: ['model', 'version', 'route'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    upstreamDuration: new Histogram({
      name: 'modelgate_gateway_upstream_duration_seconds',
      help: 'Time spent waiting on the model-server.',
      labelNames: ['model', 'version'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    routed: new Counter({
      name: 'modelgate_gateway_routed_total',
      help: 'Routing decisions by reason: pinned, label, sticky, split, failover.',
      labelNames: ['model', 'version', 'reason'],
      registers,
    }),
    failovers: new Counter({
      name: 'modelgate_gateway_failovers_total',
      help: 'Requests answered by another version than the one chosen.',
      labelNames: ['model', 'from_version', 'to_version'],
      registers,
    }),
    trafficWeight: new Gauge({
      name: 'modelgate_gateway_traffic_weight_percent',
      help: 'Configured weight from the policy.',
      labelNames: ['model', 'version'],
      registers,
      aggregator: 'max',
    }),
    circuitState: new Gauge({
      name: 'modelgate_gateway_circuit_state',
      help: 'Circuit breaker state per upstream instance: 0 closed, 1 half-open (or back from an ejection), 2 open or ejected.',
      labelNames: ['model', 'version', 'upstream'],
      registers,
      aggregator: 'max',
    }),
    upstreamDeadline: new Gauge({
      name: 'modelgate_gateway_upstream_deadline_seconds',
      help: 'Deadline each upstream call of a version gets now: a multiple of its recent p99, floored and capped.',
      labelNames: ['model', 'version'],
      registers,
      aggregator: 'max',
      collect() {
        this.reset();
        for (const d of options.upstreamDeadlines?.() ?? []) this.labels(d.model, d.version).set(d.ms / 1000);
      },
    }),
    responseCacheLookups: new Counter({
      name: 'modelgate_gateway_response_cache_lookups_total',
      help: 'Response cache lookups by result (hit, miss); only while RESPONSE_CACHE_BYTES > 0.',
      labelNames: ['result'],
      registers,
    }),
    responseCacheHitRatio: new Gauge({
      name: 'modelgate_gateway_response_cache_hit_ratio',
      help: 'Share of response cache lookups answered from the cache since start (0 while the cache is off or unused).',
      registers,
      aggregator: 'average',
      collect() {
        const c = options.responseCache?.();
        if (c?.enabled && c.hits + c.misses > 0) this.set(c.hits / (c.hits + c.misses));
      },
    }),
    responseCacheBytes: new Gauge({
      name: 'modelgate_gateway_response_cache_bytes',
      help: 'Bytes held by the response cache (bounded by RESPONSE_CACHE_BYTES).',
      registers,
      collect() {
        const c = options.responseCache?.();
        if (c?.enabled) this.set(c.sizeBytes);
      },
    }),
    ejections: new Counter({
      name: 'modelgate_gateway_ejections_total',
      help: 'Upstream instances taken out of rotation by outlier detection, by reason: consecutive_failures, latency.',
      labelNames: ['model', 'version', 'reason'],
      registers,
    }),
    liveInstances: new Gauge({
      name: 'modelgate_gateway_live_instances',
      help: 'Instances in the routing table.',
      labelNames: ['model', 'version'],
      registers,
      aggregator: 'max',
    }),
    tableRevision: new Gauge({
      name: 'modelgate_gateway_routing_table_revision',
      help: 'Revision of the routing table in use.',
      registers,
      aggregator: 'max',
    }),
    tableAge: new Gauge({
      name: 'modelgate_gateway_routing_table_age_seconds',
      help: 'Seconds since the registry last answered.',
      registers,
      aggregator: 'max',
      collect() {
        const age = tableAgeSeconds();
        if (age !== undefined) this.set(age);
      },
    }),
    tableStale: new Gauge({
      name: 'modelgate_gateway_routing_table_stale',
      help: '1 when serving from a table the registry could not refresh.',
      registers,
      aggregator: 'max',
    }),
    predictions: new Counter({
      name: 'modelgate_predictions_total',
      help: 'Predicted class of every answered row.',
      labelNames: ['model', 'version', 'class'],
      registers,
    }),
    confidence: new Histogram({
      name: 'modelgate_prediction_confidence',
      help: 'Top-class probability of every answered row.',
      labelNames: ['model', 'version'],
      buckets: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1],
      registers,
    }),
    shadowRequests: new Counter({
      name: 'modelgate_shadow_requests_total',
      help: 'Shadow copies by outcome: agree, disagree, error, dropped.',
      labelNames: ['model', 'version', 'shadow_version', 'outcome'],
      registers,
    }),
  };
}
