/** The A/B experiment dashboard: one row of "who wins" figures per version, then split, traffic,
 * errors, latency, accuracy, predictions, shadow agreement and circuits, every panel by version. */
import { AnnotationQueryBuilder, MappingType, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { DATASOURCE, newDashboard, query, SEL, statPanel, thresholds, timeseriesPanel } from './panels';

/** Rollout candidates among the selected versions. */
const ROLLOUT_SEL = 'model="$model",candidate=~"$version"';

/** A marker on every panel where the rollout controller changed step or state, with the reason. */
function rolloutAnnotation() {
  return new AnnotationQueryBuilder()
    .name('Rollout transitions')
    .datasource(DATASOURCE)
    .enable(true)
    .iconColor('orange')
    .expr(`sum by (candidate, reason) (changes(modelgate_rollout_transitions_total{${ROLLOUT_SEL}}[1m])) > 0`)
    .step('30s')
    .titleFormat('rollout: {{reason}}')
    .textFormat('candidate v{{candidate}}: {{reason}}')
    .tagKeys('candidate,reason');
}

export function abExperimentDashboard() {
  return (
    newDashboard(
      'modelgate-ab-experiment',
      'modelgate / A/B experiment',
      'Versions of one model side by side: configured vs actual split, errors, latency, accuracy from feedback, class mix, confidence, shadow agreement and circuit state. `modelgate report <model>` adds the significance tests.',
    )
      // Policy changes (weights, aliases: the revision moves) and experiment starts, drawn on every panel.
      .annotation(
        new AnnotationQueryBuilder()
          .name('policy and label changes')
          .datasource(DATASOURCE)
          .enable(true)
          .iconColor('orange')
          .expr('changes(modelgate_registry_policy_revision{model="$model"}[1m]) > 0')
          .step('30s')
          .titleFormat('policy of {{model}} changed (weights or labels)'),
      )
      // Experiment starts and stops (registry/experiment-audit.ts): the gauge holds the time of the last
      // change, drawn as one marker at that exact time.
      .annotation(
        new AnnotationQueryBuilder()
          .name('experiment started or stopped')
          .datasource(DATASOURCE)
          .enable(true)
          .iconColor('purple')
          .expr('max by (model, change) (modelgate_experiment_last_change_seconds{model="$model"}) * 1000')
          .step('30s')
          .useValueForTime(true)
          .titleFormat('experiment of {{model}} {{change}}')
          .tagKeys('change'),
      )
      .withRow(new RowBuilder('Who wins'))
      .withPanel(
        statPanel({
          title: 'Accuracy from feedback (1 h)',
          description:
            'Share of predictions that feedback (POST /feedback) confirmed, per version. Higher is better.',
          unit: 'percentunit',
          queries: [
            query(`model_version:modelgate_feedback_accuracy:ratio_1h{${SEL}}`, 'v{{version}}', {
              instant: true,
            }),
          ],
          thresholds: thresholds('red', [
            [0.8, 'yellow'],
            [0.9, 'green'],
          ]),
          min: 0,
          max: 1,
        }),
      )
      .withPanel(
        statPanel({
          title: 'Error ratio (5 m)',
          description: 'Share of answers that were 5xx, per version. Lower is better.',
          unit: 'percentunit',
          queries: [
            query(`model_version:modelgate_gateway_error_ratio:rate5m{${SEL}}`, 'v{{version}}', {
              instant: true,
            }),
          ],
          thresholds: thresholds('green', [
            [0.01, 'yellow'],
            [0.05, 'red'],
          ]),
        }),
      )
      .withPanel(
        statPanel({
          title: 'p95 latency (5 m)',
          description: 'Gateway request duration, 95th percentile, per version. SLO: p99 under 500 ms.',
          unit: 's',
          queries: [
            query(`model_version:modelgate_gateway_request_duration_seconds:p95_5m{${SEL}}`, 'v{{version}}', {
              instant: true,
            }),
          ],
          thresholds: thresholds('green', [
            [0.25, 'yellow'],
            [0.5, 'red'],
          ]),
        }),
      )
      .withPanel(
        statPanel({
          title: 'Circuit state',
          description: 'Worst breaker state over the upstreams of each version: closed, half-open or open.',
          unit: 'none',
          queries: [
            query(`max by (version) (modelgate_gateway_circuit_state{${SEL}})`, 'v{{version}}', {
              instant: true,
            }),
          ],
          thresholds: thresholds('green', [
            [1, 'yellow'],
            [2, 'red'],
          ]),
          mappings: [
            {
              type: MappingType.ValueToText,
              options: {
                '0': { text: 'closed', color: 'green' },
                '1': { text: 'half-open', color: 'yellow' },
                '2': { text: 'open', color: 'red' },
              },
            },
          ],
        }),
      )
      .withRow(new RowBuilder('Who wins: always-valid verdicts of the running experiment'))
      .withPanel(
        statPanel({
          title: 'Difference vs control, with its always-valid interval',
          description:
            'Candidate minus control per metric (a difference of rates: accuracy up is good; error rate and the share of requests slower than the control p95 up are bad), with the low and high ends of the always-valid confidence interval. From modelgate_experiment_difference (registry). An interval that excludes 0 is a verdict.',
          unit: 'percentunit',
          width: 12,
          queries: [
            query(
              'modelgate_experiment_difference{model="$model",candidate=~".+"}',
              'v{{candidate}} {{metric}}',
              {
                instant: true,
              },
            ),
            query(
              'modelgate_experiment_difference_low{model="$model",candidate=~".+"}',
              'v{{candidate}} {{metric}} low',
              {
                instant: true,
              },
            ),
            query(
              'modelgate_experiment_difference_high{model="$model",candidate=~".+"}',
              'v{{candidate}} {{metric}} high',
              {
                instant: true,
              },
            ),
          ],
        }),
      )
      .withPanel(
        statPanel({
          title: 'Always-valid p-value (Holm-adjusted)',
          description:
            'Safe to read at any time, as often as wanted: below 0.05 the difference is real (better or worse by its sign). From modelgate_experiment_p_value.',
          unit: 'none',
          queries: [
            query(
              'modelgate_experiment_p_value{model="$model",candidate=~".+"}',
              'v{{candidate}} {{metric}}',
              {
                instant: true,
              },
            ),
          ],
          thresholds: thresholds('green', [[0.05, 'text']]),
          min: 0,
          max: 1,
        }),
      )
      .withPanel(
        statPanel({
          title: 'Observations (candidate arm)',
          description: 'Labelled rows (accuracy) or requests (error rate, latency) behind each comparison.',
          unit: 'short',
          queries: [
            query(
              'modelgate_experiment_observations{model="$model",candidate=~".+"}',
              'v{{candidate}} {{metric}}',
              {
                instant: true,
              },
            ),
          ],
        }),
      )
      .withPanel(
        statPanel({
          title: 'Split check (SRM p-value)',
          description:
            'Chi-square test of the observed split against the weights (split and sticky assignments only). Below 0.001 the assignment is broken: fix it before reading any verdict.',
          unit: 'none',
          queries: [
            query(
              'max by (candidate) (modelgate_experiment_srm_p_value{model="$model"})',
              'v{{candidate}} split',
              {
                instant: true,
              },
            ),
          ],
          thresholds: thresholds('red', [[0.001, 'green']]),
          min: 0,
          max: 1,
        }),
      )
      .withRow(new RowBuilder('Traffic'))
      .withPanel(
        timeseriesPanel({
          title: 'Configured weight vs actual share',
          description:
            'Policy weight (dashed in the legend as "configured") beside the share of requests each version really answered; a gap means failover, stickiness or a missing instance.',
          unit: 'percent',
          min: 0,
          max: 100,
          queries: [
            query(
              `max by (version) (modelgate_gateway_traffic_weight_percent{${SEL}})`,
              'v{{version}} configured',
            ),
            query(
              `model_version:modelgate_gateway_routed_share_percent:rate5m{${SEL}}`,
              'v{{version}} actual',
            ),
          ],
        })
          // The configured weights (query A) are drawn dashed, as the description promises.
          .overrideByQuery('A', [{ id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } }]),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Requests per second',
          description: 'Answered requests per version, by status class.',
          unit: 'reqps',
          queries: [
            // 200, 404, 503 → 2xx, 4xx, 5xx: one series per class, not per code.
            query(
              `sum by (version, status_class) (label_replace(rate(modelgate_gateway_requests_total{${SEL}}[$__rate_interval]), "status_class", "\${1}xx", "status", "([0-9])[0-9][0-9]"))`,
              'v{{version}} {{status_class}}',
            ),
          ],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Error ratio',
          description:
            '5xx answers over all answers, per version (5 m). The alert fires when a version runs 2 points above its control for 5 m.',
          unit: 'percentunit',
          min: 0,
          showThresholds: true,
          thresholds: thresholds('green', [
            [0.01, 'yellow'],
            [0.05, 'red'],
          ]),
          queries: [query(`model_version:modelgate_gateway_error_ratio:rate5m{${SEL}}`, 'v{{version}}')],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Latency p50 / p95 / p99',
          description: 'Gateway request duration quantiles per version (5 m). SLO: p99 under 500 ms.',
          unit: 's',
          showThresholds: true,
          thresholds: thresholds('green', [[0.5, 'red']]),
          queries: [
            query(
              `model_version:modelgate_gateway_request_duration_seconds:p50_5m{${SEL}}`,
              'v{{version}} p50',
            ),
            query(
              `model_version:modelgate_gateway_request_duration_seconds:p95_5m{${SEL}}`,
              'v{{version}} p95',
            ),
            query(
              `model_version:modelgate_gateway_request_duration_seconds:p99_5m{${SEL}}`,
              'v{{version}} p99',
            ),
          ],
        }),
      )
      .withRow(new RowBuilder('Quality'))
      .withPanel(
        timeseriesPanel({
          title: 'Accuracy from feedback',
          description: 'Share of labelled predictions that were right, per version (1 h window).',
          unit: 'percentunit',
          min: 0,
          max: 1,
          queries: [query(`model_version:modelgate_feedback_accuracy:ratio_1h{${SEL}}`, 'v{{version}}')],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Feedback by correctness',
          description: 'Labels joined to predictions per second, split into right and wrong.',
          unit: 'reqps',
          stack: true,
          queries: [
            query(
              `sum by (version, correct) (rate(modelgate_feedback_total{${SEL}}[$__rate_interval]))`,
              'v{{version}} correct={{correct}}',
            ),
          ],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Predicted class distribution',
          description:
            'Share of predictions per class, per version; a version that favours one class shows here first.',
          unit: 'percentunit',
          queries: [
            query(
              `sum by (version, class) (rate(modelgate_predictions_total{${SEL}}[$__rate_interval])) / on (version) group_left () sum by (version) (rate(modelgate_predictions_total{${SEL}}[$__rate_interval]))`,
              'v{{version}} {{class}}',
            ),
          ],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Confidence (top-class probability)',
          description:
            'Median and 10th percentile of the top-class probability per version; a falling p10 means more unsure answers.',
          unit: 'percentunit',
          min: 0,
          max: 1,
          queries: [
            query(
              `histogram_quantile(0.5, sum by (version, le) (rate(modelgate_prediction_confidence_bucket{${SEL}}[$__rate_interval])))`,
              'v{{version}} p50',
            ),
            query(
              `histogram_quantile(0.1, sum by (version, le) (rate(modelgate_prediction_confidence_bucket{${SEL}}[$__rate_interval])))`,
              'v{{version}} p10',
            ),
          ],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Shadow agreement',
          description:
            'Share of shadow copies whose answer matched the served one, per served version and shadow version (5 m).',
          unit: 'percentunit',
          min: 0,
          max: 1,
          thresholds: thresholds('red', [
            [0.8, 'yellow'],
            [0.95, 'green'],
          ]),
          queries: [
            query(
              `model_version:modelgate_shadow_agreement:ratio_5m{model="$model"}`,
              'v{{version}} vs shadow v{{shadow_version}}',
            ),
          ],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Circuit state over time',
          description: '0 closed, 1 half-open, 2 open, per upstream of each version.',
          unit: 'none',
          min: 0,
          max: 2,
          showThresholds: true,
          thresholds: thresholds('green', [
            [1, 'yellow'],
            [2, 'red'],
          ]),
          queries: [
            query(
              `max by (version, upstream) (modelgate_gateway_circuit_state{${SEL}})`,
              'v{{version}} {{upstream}}',
            ),
          ],
        }),
      )
      .annotation(rolloutAnnotation())
      .withRow(new RowBuilder('Rollout'))
      .withPanel(
        timeseriesPanel({
          title: 'Rollout step of the candidate version',
          description:
            'Step of the running rollout (from 1) per candidate version; orange markers are transitions (step advanced, promoted, rolled back, paused), with their reason. `modelgate rollout status <model>` says what it waits for.',
          unit: 'none',
          min: 0,
          queries: [
            query(`max by (candidate) (modelgate_rollout_step{${ROLLOUT_SEL}})`, 'v{{candidate}} step'),
          ],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Rollout state and transitions by reason',
          description:
            'Which state the rollout of the model is in (1 = current), and transitions per reason over 5 m: a gate_violated or manual_change bar explains a rollback or a pause.',
          unit: 'short',
          min: 0,
          queries: [
            query(
              `max by (candidate, state) (modelgate_rollout_state{${ROLLOUT_SEL}}) > 0`,
              'v{{candidate}} {{state}}',
            ),
            query(
              `sum by (candidate, reason) (increase(modelgate_rollout_transitions_total{${ROLLOUT_SEL}}[5m]))`,
              'v{{candidate}} {{reason}}',
            ),
          ],
        }),
      )
  );
}
