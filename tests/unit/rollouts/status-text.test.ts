import { parseGates, parseSteps, startBody } from '../../../cli/commands/rollout';
import { formatRolloutStatus } from '../../../cli/rollout-status';
import { decide, pause, startRollout } from '../../../registry/rollouts/decide';
import { rolloutView } from '../../../registry/rollouts/view';
import { allHold, basePolicy, report, spec } from './fixtures';

const T0 = Date.UTC(2026, 11, 2, 1, 0, 0);

function waitingRollout() {
  const s = spec({ step_min_seconds: 60, step_min_labelled: 100 });
  const { state } = startRollout({
    id: 'r1',
    model: 'digits',
    spec: s,
    policy: basePolicy,
    experimentId: 'e1',
    now: T0,
  });
  const r = report({
    candidate: { labelled: 130 },
    verdicts: { ...allHold, accuracy: { verdict: 'inconclusive', p: 0.4 } },
  });
  return decide(state, { report: r, policy: state.expected }, T0 + 95_000).next;
}

describe('rollout status text', () => {
  it('shows the step, time in step, labelled rows against the minimum, every gate and what it waits for', () => {
    const text = formatRolloutStatus(rolloutView(waitingRollout(), T0 + 95_000));
    expect(text).toMatch(/digits: rollout of v2 against v1 \(steps\) — WAITING/);
    expect(text).toMatch(/step {6}1 of 4: \[5%\] → 25% → 50% → 100%/);
    expect(text).toMatch(/split {5}1=95% 2=5%/);
    expect(text).toMatch(/in step {3}95 s \(minimum 60 s\)/);
    expect(text).toMatch(/labelled {2}130 of 100 labelled rows/);
    expect(text).toMatch(/wait {2}accuracy {8}inconclusive/);
    expect(text).toMatch(/ok {4}error_rate/);
    expect(text).toMatch(
      /waiting {3}evidence: accuracy: inconclusive; about 1200 more labelled rows per arm/,
    );
  });

  it('lists each step left behind with its time and labelled rows against the minimums', () => {
    const r = report({ candidate: { labelled: 130 }, verdicts: allHold });
    const waiting = waitingRollout();
    const advanced = decide(waiting, { report: r, policy: waiting.expected }, T0 + 100_000).next;
    expect(advanced.stepIndex).toBe(1);
    const text = formatRolloutStatus(rolloutView(advanced, T0 + 110_000));
    expect(text).toMatch(/step {6}2 of 4: 5% → \[25%\]/);
    expect(text).toContain('  step 1  100 s of 60 s minimum, 130 of 100 labelled rows');
    expect(text).not.toContain('  step 2  ');
    expect(text).toMatch(/in step {3}10 s \(minimum 60 s\)/);
  });

  it('says when and why a rollout is paused', () => {
    const paused = pause(
      waitingRollout(),
      'someone changed the policy during the rollout (split 1=95 2=5 → 1=100); paused',
      T0 + 100_000,
    ).next;
    const text = formatRolloutStatus(rolloutView(paused, T0 + 100_000));
    expect(text).toMatch(/— PAUSED/);
    expect(text).toMatch(/paused {4}someone changed the policy/);
  });
});

describe('rollout start options', () => {
  it('turns --steps and --shadow into the API body', () => {
    expect(
      startBody('3', { steps: '5,25,100', shadow: 10, stepMinSeconds: 30, stepMinLabelled: 50 }),
    ).toEqual({
      candidate: '3',
      steps: [{ shadow: 10 }, { weight: 5 }, { weight: 25 }, { weight: 100 }],
      step_min_seconds: 30,
      step_min_labelled: 50,
    });
    expect(startBody('3', {})).toEqual({ candidate: '3' });
    expect(() => parseSteps('5,x')).toThrow(/--steps takes weights/);
  });

  it('turns --gates into the API gates: a name alone takes its usual setting, none is no gate', () => {
    expect(startBody('2', { gates: 'accuracy, latency_p95_ms=+50%, drift_psi_max=0.3' }).gates).toEqual({
      accuracy: 'not_worse',
      latency_p95_ms: '+50%',
      drift_psi_max: 0.3,
    });
    expect(parseGates('error_rate,latency_p95_ms,accuracy=better')).toEqual({
      error_rate: 'not_worse',
      latency_p95_ms: '+20%',
      accuracy: 'better',
    });
    expect(parseGates('none')).toEqual({});
    // Unknown names go to the registry, which names the gates it knows.
    expect(parseGates('auc')).toEqual({ auc: 'not_worse' });
    expect(() => parseGates('accuracy,,')).toThrow(/--gates takes gates like/);
  });
});
