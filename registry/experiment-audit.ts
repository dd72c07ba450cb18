/** Experiment starts and stops as changes to a model: each writes an audit.jsonl line (who, when,
 * before, after, as policy changes do) and moves a gauge Grafana annotates. Wrapping the repository,
 * rather than the HTTP routes, covers every path that starts or ends one: the API, the rollout
 * controller, and a policy write that drops a candidate. */
import { Gauge, type Registry } from 'prom-client';
import { experimentView } from '../tracking/experiments/experiment';
import type { ExperimentRepository } from '../tracking/experiments/repository';
import { appendAudit } from './audit-log';

export function auditedExperiments(o: {
  repository: ExperimentRepository;
  /** The model store; audit.jsonl sits beside each model's policy. */
  root: string;
  metrics: Registry;
}): ExperimentRepository {
  const { repository, root } = o;
  // A timestamp rather than a counter: Grafana draws it with "series value as timestamp", one marker
  // per change at its exact time, and a series that appears with its first change still shows it
  // (changes()/increase() see nothing in a series' first sample).
  const lastChange = new Gauge({
    name: 'modelgate_experiment_last_change_seconds',
    help: 'When (Unix seconds) an experiment of the model last started or stopped, by change; Grafana annotates each one',
    labelNames: ['model', 'change'],
    registers: [o.metrics],
  });
  return {
    ...repository,
    async start(input) {
      const started = await repository.start(input);
      await appendAudit(root, {
        at: new Date(started.startedAt).toISOString(),
        who: input.createdBy ?? 'registry',
        action: 'experiment.start',
        model: started.model,
        before: null,
        after: experimentView(started),
      });
      lastChange.set({ model: started.model, change: 'started' }, started.startedAt / 1000);
      return started;
    },
    async stop(input) {
      const before = await repository.get(input.model, input.id);
      const stopped = await repository.stop(input);
      if (before?.status !== 'running') return stopped;
      await appendAudit(root, {
        at: new Date(stopped.endedAt ?? input.now).toISOString(),
        who: input.who ?? 'registry',
        action: 'experiment.stop',
        model: stopped.model,
        before: experimentView(before),
        after: experimentView(stopped),
        why: input.reason,
      });
      lastChange.set({ model: stopped.model, change: 'stopped' }, (stopped.endedAt ?? input.now) / 1000);
      return stopped;
    },
  };
}
