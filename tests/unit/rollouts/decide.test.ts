import {
  abort,
  decide,
  type Evidence,
  HOOK_RETRY_MS,
  pause,
  resume,
  startRollout,
} from '../../../registry/rollouts/decide';
import { bodyOf } from '../../../registry/rollouts/policy-shapes';
import type { RolloutState } from '../../../registry/rollouts/state';
import { allHold, basePolicy, report, spec } from './fixtures';

const T0 = 1_700_000_000_000;
const sec = (s: number) => T0 + s * 1000;
const baseline = bodyOf(basePolicy);

function started(body: Record<string, unknown> = {}) {
  const s = spec({
    step_min_seconds: 60,
    step_min_labelled: 100,
    steps: [{ weight: 10 }, { weight: 50 }],
    ...body,
  });
  return startRollout({
    id: 'r1',
    model: 'digits',
    spec: s,
    policy: basePolicy,
    experimentId: 'e1',
    now: T0,
  });
}

const ev = (state: RolloutState, r: Evidence['report'], extra: Partial<Evidence> = {}): Evidence => ({
  report: r,
  policy: state.expected,
  ...extra,
});

describe('startRollout', () => {
  it('writes the first step: the candidate at its weight, canary on it, the rest of the policy kept', () => {
    const { state, actions } = started();
    expect(actions[0]).toEqual({
      type: 'write_policy',
      policy: {
        ...baseline,
        variants: [
          { version: '1', weight: 90 },
          { version: '2', weight: 10 },
        ],
        aliases: { stable: '1', canary: '2', legacy: '1' },
      },
    });
    expect(state).toMatchObject({ phase: 'running', stepIndex: 0, baseline });
    expect(actions[1]).toMatchObject({ type: 'audit', transition: { reason: 'started', to: 'running' } });
  });
});

describe('decide', () => {
  it('waits for the step minimum time even when every gate holds, and wakes exactly when it ends', () => {
    const { state } = started();
    const d = decide(state, ev(state, report({ candidate: { labelled: 500 }, verdicts: allHold })), sec(30));
    expect(d.next.phase).toBe('running');
    expect(d.actions).toEqual([]);
    expect(d.wakeAt).toBe(sec(60));
    expect(d.next.waitingFor).toMatch(/30 s more in step 1/);
  });

  it('waits for the minimum labelled rows of the step and says how many are missing', () => {
    const { state } = started();
    const d = decide(state, ev(state, report({ candidate: { labelled: 40 }, verdicts: allHold })), sec(90));
    expect(d.next.phase).toBe('running');
    expect(d.next.waitingFor).toMatch(/60 more labelled rows for v2 \(40 of 100\)/);
    expect(d.wakeAt).toBe(sec(86400));
  });

  it('advances a step when the minimums are met and every gate holds, and counts the next step from there', () => {
    const { state } = started();
    const d = decide(state, ev(state, report({ candidate: { labelled: 150 }, verdicts: allHold })), sec(61));
    expect(d.next).toMatchObject({
      phase: 'running',
      stepIndex: 1,
      stepStartedAt: sec(61),
      labelledAtStepStart: 150,
    });
    expect(d.actions[0]).toMatchObject({
      type: 'write_policy',
      policy: {
        variants: [
          { version: '1', weight: 50 },
          { version: '2', weight: 50 },
        ],
      },
    });
    expect(d.actions[1]).toMatchObject({
      type: 'audit',
      transition: { reason: 'step_advanced', step_index: 1 },
    });
    const later = decide(
      d.next,
      ev(d.next, report({ candidate: { labelled: 200 }, verdicts: allHold })),
      sec(200),
    );
    expect(later.next.stepIndex).toBe(1);
    expect(later.next.waitingFor).toMatch(/50 more labelled rows/);
  });

  it('on inconclusive evidence waits (never fails) and names what it waits for', () => {
    const { state } = started();
    const r = report({
      candidate: { labelled: 150 },
      verdicts: { ...allHold, accuracy: { verdict: 'inconclusive', p: 0.3 } },
    });
    const d = decide(state, ev(state, r), sec(61));
    expect(d.next.phase).toBe('waiting');
    expect(d.next.waitingFor).toMatch(/accuracy: inconclusive; about 1200 more labelled rows per arm/);
    expect(d.actions).toEqual([
      expect.objectContaining({
        type: 'audit',
        transition: expect.objectContaining({ reason: 'evidence_inconclusive' }),
      }),
    ]);
    const again = decide(d.next, ev(d.next, r), sec(3000));
    expect(again.next.phase).toBe('waiting');
    expect(again.actions).toEqual([]);
  });

  it('rolls back at once, even inside the step minimum, when a gate is worse with p below alpha', () => {
    const { state } = started();
    const r = report({
      candidate: { labelled: 5 },
      verdicts: { ...allHold, error_rate: { verdict: 'worse', p: 0.001 } },
    });
    const d = decide(state, ev(state, r), sec(5));
    expect(d.next.phase).toBe('rolled_back');
    expect(d.actions).toContainEqual({ type: 'write_policy', policy: baseline });
    expect(d.actions).toContainEqual({ type: 'stop_experiment' });
    expect(d.next.history.at(-1)).toMatchObject({ reason: 'gate_violated', to: 'rolled_back' });
    expect(d.next.history.at(-1)!.text).toMatch(/error_rate/);
  });

  it('does not roll back on a worse point estimate whose p-value is not below alpha', () => {
    const { state } = started();
    const r = report({
      candidate: { labelled: 150 },
      verdicts: { ...allHold, accuracy: { verdict: 'worse', p: 0.2 } },
    });
    expect(decide(state, ev(state, r), sec(61)).next.phase).toBe('waiting');
  });

  it('rolls back when the candidate p95 is over the latency budget and significantly slower', () => {
    const { state } = started();
    const r = report({
      candidate: { labelled: 150, p95: 20 },
      control: { p95: 10 },
      verdicts: { ...allHold, latency_p95: { verdict: 'worse', p: 0.001, ci: [5, 9], estimate: 7 } },
    });
    const d = decide(state, ev(state, r), sec(61));
    expect(d.next.phase).toBe('rolled_back');
    expect(d.next.gates.find((g) => g.name === 'latency_p95_ms')).toMatchObject({
      ok: false,
      violated: true,
    });
  });

  it('holds a candidate slower than the control but within the latency budget, and waits while an excess is not significant', () => {
    const { state } = started();
    const within = report({
      candidate: { labelled: 150, p95: 11.5 },
      control: { p95: 10 },
      verdicts: { ...allHold, latency_p95: { verdict: 'worse', p: 0.001 } },
    });
    expect(decide(state, ev(state, within), sec(61)).next.stepIndex).toBe(1);
    const over = report({
      candidate: { labelled: 150, p95: 14 },
      control: { p95: 10 },
      verdicts: { ...allHold, latency_p95: { verdict: 'inconclusive', p: 0.2 } },
    });
    const d = decide(state, ev(state, over), sec(61));
    expect(d.next.phase).toBe('waiting');
    expect(d.next.waitingFor).toMatch(
      /latency p95 14\.0 ms vs 10\.0 ms \(budget \+20\.0%: 12\.0 ms\): over budget, not yet significant/,
    );
  });

  it('rolls back when the candidate drift is above the ceiling', () => {
    const { state } = started();
    const r = report({ candidate: { labelled: 150, psi: 0.4 }, verdicts: allHold });
    expect(decide(state, ev(state, r), sec(61)).next.phase).toBe('rolled_back');
  });

  it("does not hold on the report's sample ratio check once the rollout has changed the weights", () => {
    let { state } = started();
    state = decide(
      state,
      ev(state, report({ candidate: { labelled: 150 }, verdicts: allHold })),
      sec(61),
    ).next;
    const r = report({ candidate: { labelled: 300 }, verdicts: allHold, srmOk: false });
    expect(decide(state, ev(state, r), sec(130)).next.phase).toBe('promoted');
  });

  it('holds on a sample ratio mismatch', () => {
    const { state } = started();
    const r = report({ candidate: { labelled: 150 }, verdicts: allHold, srmOk: false });
    const d = decide(state, ev(state, r), sec(61));
    expect(d.next.phase).toBe('waiting');
    expect(d.next.waitingFor).toMatch(/sample ratio mismatch/);
  });

  it('promotes after the last step: all traffic and stable on the candidate, other aliases untouched', () => {
    let { state } = started();
    state = decide(
      state,
      ev(state, report({ candidate: { labelled: 150 }, verdicts: allHold })),
      sec(61),
    ).next;
    const d = decide(state, ev(state, report({ candidate: { labelled: 400 }, verdicts: allHold })), sec(130));
    expect(d.next.phase).toBe('promoted');
    const write = d.actions.find((a) => a.type === 'write_policy');
    expect(write).toEqual({
      type: 'write_policy',
      policy: {
        ...baseline,
        variants: [
          { version: '1', weight: 0 },
          { version: '2', weight: 100 },
        ],
        aliases: { stable: '2', canary: '2', legacy: '1' },
      },
    });
    expect(d.next.endedAt).toBe(sec(130));
  });

  it('times out at max_seconds and restores the policy from before', () => {
    const { state } = started({ max_seconds: 600 });
    const r = report({
      candidate: { labelled: 150 },
      verdicts: { ...allHold, accuracy: { verdict: 'inconclusive' } },
    });
    const mid = decide(state, ev(state, r), sec(300));
    expect(mid.wakeAt).toBe(sec(600));
    const d = decide(mid.next, ev(mid.next, r), sec(600));
    expect(d.next.phase).toBe('timed_out');
    expect(d.actions).toContainEqual({ type: 'write_policy', policy: baseline });
  });

  it('pauses when someone else changed the policy, writes nothing, and says what changed', () => {
    const { state } = started();
    const manual = { ...state.expected, variants: [{ version: '1', weight: 100 }] };
    const d = decide(state, { report: report({ verdicts: allHold }), policy: manual }, sec(10));
    expect(d.next.phase).toBe('paused');
    expect(d.next.pausedReason).toMatch(/split 1=90 2=10 → 1=100/);
    expect(d.actions.filter((a) => a.type === 'write_policy')).toEqual([]);
    expect(decide(d.next, { report: null, policy: manual }, sec(5000)).next.phase).toBe('paused');
  });

  it('pauses when an alias is moved by hand', () => {
    const { state } = started();
    const manual = { ...state.expected, aliases: { ...state.expected.aliases, stable: '2' } };
    expect(decide(state, { report: null, policy: manual }, sec(10)).next.pausedReason).toMatch(
      /stable→1.*→.*stable→2/,
    );
  });

  it('resume re-applies the step policy and restarts the step clock; abort restores the baseline', () => {
    const { state } = started();
    const paused = pause(state, 'paused by alice', sec(10)).next;
    expect(paused.phase).toBe('paused');
    const r = resume(paused, report({ candidate: { labelled: 70 } }), sec(100));
    expect(r.next).toMatchObject({ phase: 'running', stepStartedAt: sec(100), labelledAtStepStart: 70 });
    expect(r.actions[0]).toEqual({ type: 'write_policy', policy: state.expected });
    const a = abort(r.next, 'alice', sec(120));
    expect(a.next.phase).toBe('aborted');
    expect(a.actions).toContainEqual({ type: 'write_policy', policy: baseline });
  });

  it('asks confirm_promotion before promoting; a refusal holds at the last step and asks again later', () => {
    const { state: s0 } = started({
      steps: [{ weight: 100 }],
      webhooks: { confirm_promotion: 'http://127.0.0.1:1/confirm' },
    });
    const r = report({ candidate: { labelled: 150 }, verdicts: allHold });
    const ask = decide(s0, ev(s0, r), sec(61));
    expect(ask.actions).toEqual([{ type: 'call_hook', hook: 'confirm_promotion' }]);
    const refused = decide(
      ask.next,
      ev(ask.next, r, { hook: { hook: 'confirm_promotion', ok: false, detail: 'HTTP 500' } }),
      sec(61),
    );
    expect(refused.next.phase).toBe('waiting');
    expect(refused.next.waitingFor).toMatch(/confirm_promotion webhook refused \(HTTP 500\)/);
    expect(refused.actions.filter((a) => a.type === 'write_policy')).toEqual([]);
    expect(refused.wakeAt).toBe(sec(61) + HOOK_RETRY_MS);
    expect(decide(refused.next, ev(refused.next, r), sec(65)).actions).toEqual([]);
    const again = decide(refused.next, ev(refused.next, r), sec(61) + HOOK_RETRY_MS);
    expect(again.actions).toEqual([{ type: 'call_hook', hook: 'confirm_promotion' }]);
    const ok = decide(
      again.next,
      ev(again.next, r, { hook: { hook: 'confirm_promotion', ok: true, detail: 'HTTP 200' } }),
      sec(75),
    );
    expect(ok.next.phase).toBe('promoted');
  });

  it('calls the rollback webhook when it rolls back', () => {
    const { state } = started({ webhooks: { rollback: 'https://hooks.example/rollback' } });
    const r = report({ verdicts: { ...allHold, accuracy: { verdict: 'worse', p: 0.0001 } } });
    expect(decide(state, ev(state, r), sec(1)).actions).toContainEqual({
      type: 'call_hook',
      hook: 'rollback',
    });
  });

  it('counts shadow rows, not labels, in a shadow step', () => {
    const { state } = started({ steps: [{ shadow: 20 }, { weight: 50 }] });
    expect(state.expected.shadow).toEqual({ version: '2', percent: 20 });
    const d = decide(
      state,
      ev(state, report({ candidate: { rows: 150, labelled: 0 }, verdicts: allHold })),
      sec(61),
    );
    expect(d.next.stepIndex).toBe(1);
    expect(d.next.expected.shadow).toBeNull();
  });
});
