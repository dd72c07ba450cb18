import type { Metadata } from '../../../common/wire';
import { driftFromMetrics, ksCritical, parseSamples, readModelDrift } from '../../../registry/drift/readings';

const metadata = {
  model: 'penguins',
  version: '2',
  baseline: {
    features: [
      {
        name: 'bill_length_mm',
        source: { kind: 'column', index: 0 },
        continuous: true,
        deciles: [],
        proportions: [],
        reference: new Array(400).fill(0),
      },
      {
        name: 'island_torgersen',
        source: { kind: 'column', index: 5 },
        continuous: false,
        deciles: [],
        proportions: [],
        reference: [],
      },
    ],
    classes: {},
  },
} as unknown as Metadata;

const TEXT = `# HELP modelgate_drift_psi PSI of the recent window
# TYPE modelgate_drift_psi gauge
modelgate_drift_psi{model="penguins",version="2",feature="bill_length_mm"} 0.31
modelgate_drift_psi{model="penguins",version="2",feature="island_torgersen"} 0.04
modelgate_drift_psi{model="penguins",version="1",feature="bill_length_mm"} 9
modelgate_drift_ks{model="penguins",version="2",feature="bill_length_mm"} 0.27
modelgate_drift_prediction_psi{model="penguins",version="2"} 0.012
modelgate_drift_psi_max{model="penguins",version="2"} 0.31
modelgate_drift_window_rows{model="penguins",version="2"} 250
modelgate_requests_total{model="penguins"} 5
`;

describe('drift readings from a model-server', () => {
  it('computes the two-sample KS critical value at 5 % (c = 1.3581, as scipy.special.kolmogi(0.05))', () => {
    // 1.3581 * sqrt((250 + 400) / (250 * 400)) = 0.10949
    expect(ksCritical(250, 400)).toBeCloseTo(0.10949, 4);
    expect(ksCritical(0, 400)).toBeNull();
  });

  it('parses the exposition, labels and all, keeping only the prefix asked for', () => {
    const samples = parseSamples(
      'modelgate_drift_psi{model="a\\"b",feature="x"} 1.5e-2 1700000000\nother 3\n',
      'modelgate_drift_',
    );
    expect(samples).toEqual([
      { name: 'modelgate_drift_psi', labels: { model: 'a"b', feature: 'x' }, value: 0.015 },
    ]);
  });

  it("reads this version's series per feature and gives KS its critical value", () => {
    const d = driftFromMetrics(TEXT, metadata, 'http://127.0.0.1:1');
    expect(d).toEqual({
      url: 'http://127.0.0.1:1',
      ok: true,
      error: null,
      window_rows: 250,
      prediction_psi: 0.012,
      psi_max: 0.31,
      features: [
        {
          name: 'bill_length_mm',
          continuous: true,
          psi: 0.31,
          ks: 0.27,
          ks_critical: ksCritical(250, 400),
          reference_rows: 400,
        },
        {
          name: 'island_torgersen',
          continuous: false,
          psi: 0.04,
          ks: null,
          ks_critical: null,
          reference_rows: 0,
        },
      ],
    });
  });

  it('gives null readings while the window is too small for the monitor to export', () => {
    const d = driftFromMetrics(
      'modelgate_drift_window_rows{model="penguins",version="2"} 12\n',
      metadata,
      'u',
    );
    expect(d.window_rows).toBe(12);
    expect(d.features.map((f) => f.psi)).toEqual([null, null]);
  });

  it('reports an instance that does not answer instead of failing the whole read', async () => {
    const answer = await readModelDrift({
      model: 'penguins',
      versions: [metadata],
      instancesOf: () => ['http://a', 'http://b'],
      readMetrics: async (url) => {
        if (url === 'http://b') throw new Error('connect ECONNREFUSED');
        return TEXT;
      },
    });
    expect(answer.thresholds).toEqual({ psi_moderate: 0.1, psi_significant: 0.25, ks_alpha: 0.05 });
    const [a, b] = answer.versions[0]!.instances;
    expect(a!.ok).toBe(true);
    expect(b).toMatchObject({
      ok: false,
      error: 'could not read http://b/metrics: connect ECONNREFUSED',
      features: [],
    });
  });
});
