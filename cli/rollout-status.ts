/** `modelgate rollout status M` as text: where the rollout is, what each gate says, and what it waits
 * for, in words. Pure, so it is tested without a registry. */
import type { RolloutView } from '../registry/rollouts/view';

const duration = (seconds: number) => {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
};

const stepText = (s: RolloutView['steps'][number]) =>
  'shadow' in s ? `shadow ${s.shadow}%` : `${s.weight}%`;

const gateMark = (ok: boolean | null) => (ok === true ? 'ok  ' : ok === false ? 'FAIL' : 'wait');

export function formatRolloutStatus(r: RolloutView): string {
  const final = ['promoted', 'rolled_back', 'aborted', 'timed_out'].includes(r.state);
  const split = Object.entries(r.weights)
    .map(([v, w]) => `${v}=${w}%`)
    .join(' ');
  const lines = [
    `${r.model}: rollout of v${r.candidate} against v${r.control} (${r.strategy}) — ${r.state.toUpperCase().replace('_', ' ')}`,
  ];
  if (r.strategy === 'steps') {
    const steps = r.steps
      .map((s, i) => (i === r.step_index && !final ? `[${stepText(s)}]` : stepText(s)))
      .join(' → ');
    lines.push(`step      ${r.step_index + 1} of ${r.steps.length}: ${steps}`);
    for (const log of r.step_log) {
      if (log.ended_at === null || log.seconds === null) continue;
      lines.push(
        `  step ${log.step_index + 1}  ${duration(log.seconds)} of ${duration(r.step_min_seconds)} minimum, ${log.counted} of ${r.step_min_labelled} ${log.unit}`,
      );
    }
  } else if (r.bandit) {
    const p = r.bandit.probability_best ?? {};
    lines.push(
      `bandit    ${r.bandit.updates} weight updates, floor ${r.bandit.floor_percent}%, P(best) ${
        Object.entries(p)
          .map(([v, x]) => `v${v} ${x.toFixed(3)}`)
          .join(', ') || 'not yet'
      }`,
    );
  }
  lines.push(`split     ${split}${r.shadow ? `, shadow v${r.shadow.version} ${r.shadow.percent}%` : ''}`);
  if (!final) {
    lines.push(`in step   ${duration(r.time_in_step_seconds)} (minimum ${duration(r.step_min_seconds)})`);
    const unit = r.strategy === 'bandit' ? 'labelled rows (thinner arm, burn-in)' : 'labelled rows';
    lines.push(`labelled  ${r.labelled_in_step} of ${r.step_min_labelled} ${unit}`);
  }
  lines.push('gates');
  if (r.gates.length === 0) lines.push('  (no evidence yet)');
  for (const g of r.gates)
    lines.push(`  ${gateMark(g.ok)}  ${g.name.padEnd(15)} ${g.verdict.padEnd(17)} ${g.text}`);
  lines.push(
    final
      ? `outcome   ${r.waiting_for}`
      : `${r.state === 'paused' ? 'paused   ' : 'waiting  '} ${r.waiting_for}`,
  );
  for (const w of r.warnings) lines.push(`note      ${w}`);
  lines.push('history');
  for (const h of r.history.slice(-8))
    lines.push(`  ${h.at}  ${(h.from ?? '-').padEnd(11)} → ${h.to.padEnd(11)} ${h.text}`);
  return lines.join('\n');
}
