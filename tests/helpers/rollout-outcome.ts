/** What a finished rollout must look like given the evidence its last transition carried (DESIGN
 * Part 2, "Rollouts"): rolled back on a gate violated with always-valid evidence, with weights and
 * every alias exactly as before; or promoted with every gate holding, the candidate at 100 and the
 * `stable` alias on it. Real stacks decide which by their own latency and accuracy, so the test reads
 * the evidence and holds the outcome to it. */
import { call } from './rollout-traffic';

/** `modelgate rollout start M V` with short steps, as the `npm start` and compose tests run it.
 * Accuracy and latency decide within minutes; "error rate not worse" with no errors on either arm
 * needs about 15,000 labelled rows per arm (docs/rollouts.md), so it is left out. A stack whose
 * latency depends on a loaded CI machine's neighbours may pass `accuracy` alone. */
export const shortRolloutArgs = (model: string, version: string, gates = 'accuracy,latency_p95_ms=+20%') =>
  `rollout start ${model} ${version} --steps 50,100 --step-min-seconds 5 --step-min-labelled 50 --max-seconds 400 --gates ${gates}`.split(
    ' ',
  );

const withoutRevision = ({ revision: _r, ...rest }: any) => rest;

export async function expectOutcomeOfEvidence(options: {
  registryUrl: string;
  model: string;
  candidate: string;
  /** The policy before the rollout started. */
  before: any;
}): Promise<{ state: string; why: string }> {
  const { registryUrl, model, candidate, before } = options;
  const rollout = (await call(`${registryUrl}/models/${model}/rollouts/current`, 'GET')).body;
  const policy = (await call(`${registryUrl}/models/${model}/policy`, 'GET')).body;
  const audit = (await call(`${registryUrl}/models/${model}/audit?limit=1000`, 'GET')).body.entries;
  // One string, so a failure prints what the rollout was still waiting for.
  expect(`${rollout.state}: ${rollout.waiting_for}`).toMatch(/^(promoted|rolled_back): /);
  const line = audit.find(
    (e: any) =>
      e.action === 'rollout.transition' && e.request_id === rollout.id && e.after?.state === rollout.state,
  );
  expect(line).toMatchObject({ who: 'rollout' });
  const gates: { name: string; ok: boolean | null; violated: boolean; text: string }[] = line.evidence.gates;
  expect(gates.length).toBeGreaterThan(0);
  if (rollout.state === 'rolled_back') {
    const violated = gates.filter((g) => g.violated);
    expect(violated.map((g) => g.name)).not.toEqual([]);
    for (const g of violated) expect(line.why).toContain(g.text);
    expect(withoutRevision(policy)).toEqual(withoutRevision(before));
  } else {
    expect(gates.filter((g) => g.ok !== true)).toEqual([]);
    expect(rollout.step_index).toBe(rollout.steps.length - 1);
    expect(policy.variants.filter((v: any) => v.weight > 0)).toEqual([{ version: candidate, weight: 100 }]);
    expect(policy.aliases).toEqual({ ...before.aliases, stable: candidate, canary: candidate });
  }
  return { state: rollout.state, why: line.why };
}
