/** The drift dashboard: how far live inputs and predictions moved from the training baseline in
 * each version's metadata.json. PSI reading: < 0.1 stable, 0.1-0.25 moderate, > 0.25 significant. */
import { RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { newDashboard, query, SEL, statPanel, thresholds, timeseriesPanel } from './panels';

const psiThresholds = () =>
  thresholds('green', [
    [0.1, 'yellow'],
    [0.25, 'red'],
  ]);

export function driftDashboard() {
  return newDashboard(
    'modelgate-drift',
    'modelgate / Drift',
    "Population stability index (PSI) and Kolmogorov-Smirnov statistics of each model-server's recent window against the training baseline. PSI < 0.1 stable, 0.1-0.25 moderate, > 0.25 significant (alert after 10 m).",
  )
    .withRow(new RowBuilder('Now'))
    .withPanel(
      statPanel({
        title: 'Worst feature PSI',
        description: "Largest per-feature PSI of each version's window.",
        unit: 'none',
        width: 8,
        thresholds: psiThresholds(),
        queries: [
          query(`max by (version) (modelgate_drift_psi_max{${SEL}})`, 'v{{version}}', { instant: true }),
        ],
      }),
    )
    .withPanel(
      statPanel({
        title: 'Prediction PSI',
        description: 'PSI of the predicted classes against the training class frequencies.',
        unit: 'none',
        width: 8,
        thresholds: psiThresholds(),
        queries: [
          query(`max by (version) (modelgate_drift_prediction_psi{${SEL}})`, 'v{{version}}', {
            instant: true,
          }),
        ],
      }),
    )
    .withPanel(
      statPanel({
        title: 'Rows in the drift window',
        description: "Rows each version's drift is computed over (drift is exported from 200 rows on).",
        unit: 'short',
        width: 8,
        thresholds: thresholds('yellow', [[200, 'green']]),
        queries: [
          query(`sum by (version) (modelgate_drift_window_rows{${SEL}})`, 'v{{version}}', { instant: true }),
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Top drifting features',
        description: 'The ten feature/version pairs with the highest PSI right now, over time.',
        unit: 'none',
        width: 24,
        showThresholds: true,
        thresholds: psiThresholds(),
        queries: [
          query(
            `topk(10, max by (version, feature) (modelgate_drift_psi{${SEL}}))`,
            'v{{version}} {{feature}}',
          ),
        ],
      }),
    )
    .withRow(new RowBuilder('Over time'))
    .withPanel(
      timeseriesPanel({
        title: 'PSI per feature',
        description:
          'PSI of every drift feature named in metadata.json (summary features such as mean intensity for image inputs).',
        unit: 'none',
        showThresholds: true,
        thresholds: psiThresholds(),
        queries: [
          query(`max by (version, feature) (modelgate_drift_psi{${SEL}})`, 'v{{version}} {{feature}}'),
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Prediction drift',
        description: 'PSI of the predicted-class mix against the training class frequencies, per version.',
        unit: 'none',
        showThresholds: true,
        thresholds: psiThresholds(),
        queries: [query(`max by (version) (modelgate_drift_prediction_psi{${SEL}})`, 'v{{version}}')],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'PSI max and mean per version',
        description:
          'Summary over features: the max drives the alert, the mean tells broad shifts from one odd feature.',
        unit: 'none',
        showThresholds: true,
        thresholds: psiThresholds(),
        queries: [
          query(`max by (version) (modelgate_drift_psi_max{${SEL}})`, 'v{{version}} max'),
          query(`max by (version) (modelgate_drift_psi_mean{${SEL}})`, 'v{{version}} mean'),
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'KS statistic per continuous feature',
        description:
          "Largest gap between the window's and the training sample's cumulative distributions (0-1).",
        unit: 'none',
        min: 0,
        max: 1,
        queries: [
          query(`max by (version, feature) (modelgate_drift_ks{${SEL}})`, 'v{{version}} {{feature}}'),
        ],
      }),
    );
}
