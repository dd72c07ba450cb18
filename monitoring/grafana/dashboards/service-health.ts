/** The service health dashboard: are the processes up, how fast do they answer, how do the batcher
 * and the event loop cope, how much memory, and what the registry writes. */
import { RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { newDashboard, query, SEL, statPanel, thresholds, timeseriesPanel } from './panels';

const JOBS = 'job=~"gateway|registry|model-server"';

export function serviceHealthDashboard() {
  return newDashboard(
    'modelgate-service-health',
    'modelgate / Service health',
    'Scrape health, latency, batching, queueing, event-loop lag, memory and registry writes of every modelgate process.',
  )
    .withRow(new RowBuilder('Processes'))
    .withPanel(
      statPanel({
        title: 'Targets up',
        description: 'Prometheus can scrape the process (1) or not (0).',
        unit: 'none',
        width: 12,
        thresholds: thresholds('red', [[1, 'green']]),
        queries: [query(`up{${JOBS}}`, '{{job}} {{instance}}', { instant: true })],
      }),
    )
    .withPanel(
      statPanel({
        title: 'Live instances per version',
        description: "Model-server instances with a fresh heartbeat in the gateway's routing table.",
        unit: 'short',
        width: 6,
        thresholds: thresholds('red', [[1, 'green']]),
        queries: [
          query(`max by (version) (modelgate_gateway_live_instances{${SEL}})`, 'v{{version}}', {
            instant: true,
          }),
        ],
      }),
    )
    .withPanel(
      statPanel({
        title: 'Routing table age',
        description:
          'Seconds since the registry last answered each gateway; the stale-table alert fires after 2 m stale.',
        unit: 's',
        width: 6,
        thresholds: thresholds('green', [
          [30, 'yellow'],
          [120, 'red'],
        ]),
        queries: [
          query('max by (instance) (modelgate_gateway_routing_table_age_seconds)', '{{instance}}', {
            instant: true,
          }),
        ],
      }),
    )
    .withRow(new RowBuilder('Latency and batching'))
    .withPanel(
      timeseriesPanel({
        title: 'Gateway latency p99 vs upstream p99',
        description:
          "Whole request at the gateway beside the time spent waiting on the model-server; the gap is the gateway's own cost.",
        unit: 's',
        showThresholds: true,
        thresholds: thresholds('green', [[0.5, 'red']]),
        queries: [
          query(
            `model_version:modelgate_gateway_request_duration_seconds:p99_5m{${SEL}}`,
            'v{{version}} gateway p99',
          ),
          query(
            `model_version:modelgate_gateway_upstream_duration_seconds:p99_5m{${SEL}}`,
            'v{{version}} upstream p99',
          ),
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Inference duration p99',
        description: 'One batched predict call in the model-server, by TF.js backend.',
        unit: 's',
        queries: [
          query(
            `histogram_quantile(0.99, sum by (version, backend, le) (rate(modelgate_model_inference_duration_seconds_bucket{${SEL}}[$__rate_interval])))`,
            'v{{version}} {{backend}}',
          ),
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Batch size',
        description:
          'Mean rows per executed batch (5 m); near 1 under light load, up to MAX_BATCH_SIZE under heavy load.',
        unit: 'short',
        queries: [query(`model_version:modelgate_model_batch_size_rows:mean5m{${SEL}}`, 'v{{version}}')],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Queue wait p99',
        description:
          'Time a row waited for its batch, 99th percentile (5 m); MAX_BATCH_DELAY_MS bounds it unless the server is saturated.',
        unit: 's',
        queries: [query(`model_version:modelgate_model_queue_wait_seconds:p99_5m{${SEL}}`, 'v{{version}}')],
      }),
    )
    .withRow(new RowBuilder('Runtime'))
    .withPanel(
      timeseriesPanel({
        title: 'Event-loop lag p99',
        description:
          'Node.js event-loop delay per process; sustained lag above 100 ms means the process is CPU-bound.',
        unit: 's',
        showThresholds: true,
        thresholds: thresholds('green', [
          [0.05, 'yellow'],
          [0.1, 'red'],
        ]),
        queries: [
          query(
            `max by (job, instance) (modelgate_nodejs_eventloop_lag_p99_seconds{${JOBS}})`,
            '{{job}} {{instance}}',
          ),
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Resident memory',
        description: 'Resident set size per process.',
        unit: 'bytes',
        queries: [
          query(
            `max by (job, instance) (modelgate_process_resident_memory_bytes{${JOBS}})`,
            '{{job}} {{instance}}',
          ),
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Registry writes',
        description: 'Durable writes per second by kind (policy, version, audit...), and their p99 duration.',
        unit: 'ops',
        queries: [
          query(
            'sum by (kind) (rate(modelgate_registry_write_duration_seconds_count[$__rate_interval]))',
            '{{kind}} writes/s',
          ),
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Registry write duration p99',
        description: 'Temp file, fsync, rename, fsync of the directory: what a policy change costs.',
        unit: 's',
        queries: [
          query(
            'histogram_quantile(0.99, sum by (kind, le) (rate(modelgate_registry_write_duration_seconds_bucket[$__rate_interval])))',
            '{{kind}} p99',
          ),
        ],
      }),
    );
}
