/** Registry metrics (docs/metrics.md), all on the Registry passed in. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { collectProcessMetrics } from '../common/process-metrics';

export interface RegistryMetrics {
  requests: Counter<'route' | 'method' | 'status'>;
  policyRevision: Gauge<'model'>;
  liveInstances: Gauge<'model' | 'version'>;
  writeDuration: Histogram<'kind'>;
  routesRevision: Gauge;
  ioErrors: Counter<'op' | 'code'>;
}

export function createRegistryMetrics(registry: Registry, { defaults = true } = {}): RegistryMetrics {
  if (defaults) collectProcessMetrics(registry);
  return {
    requests: new Counter({
      name: 'modelgate_registry_requests_total',
      help: 'Answered registry requests by route template, method and status.',
      labelNames: ['route', 'method', 'status'],
      registers: [registry],
    }),
    policyRevision: new Gauge({
      name: 'modelgate_registry_policy_revision',
      help: 'Current traffic policy revision per model.',
      labelNames: ['model'],
      registers: [registry],
    }),
    liveInstances: new Gauge({
      name: 'modelgate_registry_live_instances',
      help: 'Model-server instances with a fresh heartbeat, per version.',
      labelNames: ['model', 'version'],
      registers: [registry],
    }),
    writeDuration: new Histogram({
      name: 'modelgate_registry_write_duration_seconds',
      help: 'Durable store writes (lock, temp file, fsync, rename, fsync of the folder, audit line).',
      labelNames: ['kind'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    ioErrors: new Counter({
      name: 'modelgate_registry_io_errors_total',
      help: 'Store writes that failed on the file system (answered 507), by route and errno (ENOSPC, EIO, ...).',
      labelNames: ['op', 'code'],
      registers: [registry],
    }),
    routesRevision: new Gauge({
      name: 'modelgate_registry_routes_revision',
      help: 'Revision of the routing table served at GET /routes.',
      registers: [registry],
    }),
  };
}
