/** The rollout's view of the evidence store. Until the registry opens DATABASE_URL there is no
 * report: rollouts then wait ("the experiment report") and never promote on no evidence. */
import type { RolloutEvidenceSource } from './executor';

export function noEvidence(): RolloutEvidenceSource {
  return {
    startExperiment: async () => null,
    stopExperiment: async () => undefined,
    report: async () => null,
  };
}
