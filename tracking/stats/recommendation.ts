/** What a careful experimenter would do now, from the SRM check and the verdicts:
 * 1. `fix_split` when the sample-ratio check fails: the assignment is broken, so every comparison
 *    below it may be biased, whatever it says.
 * 2. `roll_back` when any candidate is significantly worse on any metric.
 * 3. `safe_to_promote` when a candidate has a verdict on every metric (better or no difference),
 *    none worse; the best by accuracy estimate is named.
 * 4. `keep_collecting` otherwise (inconclusive or too little data somewhere). */
import type { Judgement } from './verdict';

export type Action = 'keep_collecting' | 'safe_to_promote' | 'roll_back' | 'fix_split';

export interface Recommendation {
  action: Action;
  text: string;
}

const list = (xs: readonly string[]) => xs.map((x) => `v${x}`).join(', ');

export function recommend(options: {
  srm: { ok: boolean; pValue: number };
  control: string;
  candidates: readonly string[];
  judgements: readonly Judgement[];
}): Recommendation {
  const { srm, control, candidates, judgements } = options;
  if (!srm.ok) {
    return {
      action: 'fix_split',
      text: `fix the split: the observed assignments do not match the weights (SRM p = ${srm.pValue.toExponential(1)}); no verdict below can be trusted until they do`,
    };
  }
  const of = (c: string) => judgements.filter((j) => j.candidate === c);
  const worse = candidates.filter((c) => of(c).some((j) => j.verdict === 'worse'));
  if (worse.length > 0) {
    const metrics = [
      ...new Set(
        worse.flatMap((c) =>
          of(c)
            .filter((j) => j.verdict === 'worse')
            .map((j) => j.metric),
        ),
      ),
    ];
    return {
      action: 'roll_back',
      text: `roll back ${list(worse)}: worse than v${control} on ${metrics.join(', ').replace(/_/g, ' ')}`,
    };
  }
  const settled = candidates.filter((c) => {
    const js = of(c);
    return js.length > 0 && js.every((j) => j.verdict === 'better' || j.verdict === 'no_difference');
  });
  if (settled.length > 0) {
    const accuracy = (c: string) => of(c).find((j) => j.metric === 'accuracy')?.estimate ?? 0;
    const best = [...settled].sort((a, b) => accuracy(b) - accuracy(a))[0]!;
    const gains = of(best)
      .filter((j) => j.verdict === 'better')
      .map((j) => j.metric.replace(/_/g, ' '));
    const why =
      gains.length > 0
        ? `better on ${gains.join(', ')}, no worse elsewhere`
        : 'no worse than the control on any metric';
    return { action: 'safe_to_promote', text: `safe to promote v${best}: ${why}` };
  }
  const waiting = judgements.filter((j) => j.verdict === 'inconclusive' || j.verdict === 'insufficient_data');
  const most = waiting.reduce((m, j) => Math.max(m, j.moreObservationsNeeded ?? 0), 0);
  return {
    action: 'keep_collecting',
    text: waiting.some((j) => j.verdict === 'insufficient_data')
      ? 'keep collecting: some comparisons do not have the minimum evidence yet'
      : `keep collecting: about ${Math.round(most).toLocaleString('en-US')} more observations per arm would settle the slowest comparison`,
  };
}
