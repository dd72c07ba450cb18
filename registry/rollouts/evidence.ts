/** The rollout's view of the evidence store: the experiment it runs (in the `experiments` table)
 * and its report, computed by the same shared function the gateway and the experiments API use. */
import type { Kysely } from 'kysely';
import { DEFAULT_METRICS, isAdaptive } from '../../tracking/experiments/experiment';
import { experimentReport } from '../../tracking/experiments/report';
import type { ExperimentRepository } from '../../tracking/experiments/repository';
import type { EvidenceSchema } from '../../tracking/store/schema';
import type { RolloutEvidenceSource } from './executor';
import type { RolloutReport } from './report';

export function trackingEvidence(o: {
  db: Kysely<EvidenceSchema>;
  repository: ExperimentRepository;
  now: () => number;
  lookEveryMs: number;
}): RolloutEvidenceSource {
  const { repository } = o;
  return {
    async startExperiment({ model, control, candidates, unit, weights, adaptive }) {
      // One running experiment per model: the rollout's replaces whatever a person left running.
      for (const e of await repository.list(model)) {
        if (e.status !== 'running') continue;
        if (
          e.control === control &&
          e.candidates.join() === candidates.join() &&
          e.unit === unit &&
          isAdaptive(e) === adaptive
        )
          return e.id;
        await repository.stop({
          model,
          id: e.id,
          now: o.now(),
          reason: `a rollout of ${candidates.join(', ')} started`,
          who: 'rollout',
        });
      }
      const started = await repository.start({
        model,
        control,
        candidates,
        unit,
        metrics: DEFAULT_METRICS,
        weights,
        adaptive,
        now: o.now(),
        createdBy: 'rollout',
      });
      return started.id;
    },
    async stopExperiment({ model, id }) {
      const e = await repository.get(model, id);
      if (e?.status === 'running')
        await repository.stop({ model, id, now: o.now(), reason: 'the rollout ended', who: 'rollout' });
    },
    async report({ model, experimentId, alpha }) {
      if (experimentId === null) return null;
      const experiment = await repository.get(model, experimentId);
      if (!experiment) return null;
      const report = await experimentReport({
        db: o.db,
        experiment,
        now: o.now(),
        lookEveryMs: o.lookEveryMs,
        alpha,
      });
      return report as unknown as RolloutReport;
    },
  };
}
