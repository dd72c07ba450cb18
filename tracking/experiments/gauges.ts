/** The verdicts as Prometheus gauges, so Grafana can show who wins. Served by the registry only
 * (one source, not one copy per gateway replica). Series of an experiment that ended are removed. */
import { Gauge, type Registry } from 'prom-client';
import type { ExperimentReport } from './report';

export interface ExperimentGauges {
  publish(reports: readonly ExperimentReport[]): void;
}

export function createExperimentGauges(registry: Registry): ExperimentGauges {
  const labelNames = ['model', 'candidate', 'metric'] as const;
  const difference = new Gauge({
    name: 'modelgate_experiment_difference',
    help: 'Candidate minus control for each metric of the running experiment (a difference of rates; accuracy up is good, error rate and slow-request share up are bad)',
    labelNames,
    registers: [registry],
  });
  const low = new Gauge({
    name: 'modelgate_experiment_difference_low',
    help: 'Lower end of the always-valid confidence interval of modelgate_experiment_difference',
    labelNames,
    registers: [registry],
  });
  const high = new Gauge({
    name: 'modelgate_experiment_difference_high',
    help: 'Upper end of the always-valid confidence interval of modelgate_experiment_difference',
    labelNames,
    registers: [registry],
  });
  const pValue = new Gauge({
    name: 'modelgate_experiment_p_value',
    help: 'Always-valid p-value of each comparison, Holm-adjusted over the experiment (safe to read at any time)',
    labelNames,
    registers: [registry],
  });
  const n = new Gauge({
    name: 'modelgate_experiment_observations',
    help: 'Observations (labelled rows or requests) of the candidate arm behind each comparison',
    labelNames,
    registers: [registry],
  });
  const srm = new Gauge({
    name: 'modelgate_experiment_srm_p_value',
    help: 'Sample-ratio-mismatch chi-square p-value of the running experiment (below 0.001: the split is broken)',
    labelNames,
    registers: [registry],
  });
  return {
    publish(reports) {
      for (const g of [difference, low, high, pValue, n, srm]) g.reset();
      for (const r of reports) {
        for (const candidate of r.experiment.candidates)
          srm.set({ model: r.model, candidate, metric: 'assignment' }, r.srm.p_value);
        for (const c of r.comparisons) {
          const labels = { model: r.model, candidate: c.candidate, metric: c.metric };
          n.set(labels, c.n.candidate);
          if (c.estimate !== null) difference.set(labels, c.estimate);
          if (c.ci) {
            low.set(labels, c.ci[0]);
            high.set(labels, c.ci[1]);
          }
          if (c.p_value_adjusted !== null) pValue.set(labels, c.p_value_adjusted);
        }
      }
    },
  };
}
