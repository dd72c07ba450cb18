/** prom-client's default process metrics with the `modelgate_` prefix, minus the three gauges
 * promtool's linter rejects (`nodejs_active_{handles,requests,resources}_total` are gauges with a
 * counter's suffix). Their per-type siblings (`modelgate_nodejs_active_handles{type}` …) remain, so
 * nothing is lost: the totals are a `sum()` away. */
import { collectDefaultMetrics, type Registry } from 'prom-client';

const PROMTOOL_REJECTS = [
  'modelgate_nodejs_active_handles_total',
  'modelgate_nodejs_active_requests_total',
  'modelgate_nodejs_active_resources_total',
];

export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, prefix: 'modelgate_' });
  for (const name of PROMTOOL_REJECTS) registry.removeSingleMetric(name);
}
