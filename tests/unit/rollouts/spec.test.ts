import { AppError } from '../../../common/errors';
import { parseRolloutSpec } from '../../../registry/rollouts/spec';
import { basePolicy } from './fixtures';

const ctx = { model: 'digits', versions: ['1', '2'], policy: basePolicy };

function refusal(body: unknown): AppError {
  try {
    parseRolloutSpec(body, ctx);
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected the rollout to be refused');
}

describe('parseRolloutSpec', () => {
  it('fills the defaults of DESIGN Part 2 and takes the stable alias as the control', () => {
    const s = parseRolloutSpec({ candidate: '2' }, ctx);
    expect(s.control).toBe('1');
    expect(s.steps.map((x) => x.percent)).toEqual([5, 25, 50, 100]);
    expect(s.gates).toEqual({
      accuracy: 'not_worse',
      error_rate: 'not_worse',
      latency_p95_budget: 0.2,
      drift_psi_max: 0.25,
    });
    expect(s).toMatchObject({
      stepMinSeconds: 300,
      stepMinLabelled: 500,
      maxSeconds: 86400,
      onInconclusive: 'wait',
      alpha: 0.05,
    });
  });

  it('reads shadow and weight steps as a tagged union', () => {
    const s = parseRolloutSpec(
      { candidate: '2', steps: [{ shadow: 10 }, { weight: 5 }, { weight: 100 }] },
      ctx,
    );
    expect(s.steps).toEqual([
      { kind: 'shadow', percent: 10 },
      { kind: 'weight', percent: 5 },
      { kind: 'weight', percent: 100 },
    ]);
  });

  it.each([
    [{ candidate: '9' }, 404, /no version "9"/],
    [{ candidate: '2', steps: [{ weight: 25 }, { weight: 5 }] }, 400, /weights must increase/],
    [{ candidate: '2', steps: [{ weight: 25 }, { weight: 25 }] }, 400, /weights must increase/],
    [{ candidate: '2', steps: [{ weight: 150 }] }, 400, /steps\.0/],
    [{ candidate: '2', steps: [{ weight: 5 }, { shadow: 10 }] }, 400, /shadow step must come before/],
    [{ candidate: '2', steps: [{ weight: 5, shadow: 10 }] }, 400, /steps\.0/],
    [{ candidate: '2', steps: [] }, 400, /steps/],
    [
      { candidate: '2', webhooks: { rollback: 'ftp://example.com/x' } },
      400,
      /webhooks\.rollback: must be an http/,
    ],
    [{ candidate: '2', webhooks: { confirm_promotion: 'file:///etc/passwd' } }, 400, /http/],
    [{ candidate: '2', gates: { accuracy: 'not_worse', f1: 'not_worse' } }, 400, /unknown metric "f1"/],
    [{ candidate: '2', gates: { latency_p95_ms: '20%' } }, 400, /"\+20%"/],
    [{ candidate: '2', on_inconclusive: 'promote' }, 400, /on_inconclusive/],
    [{ candidate: '1' }, 400, /already the control/],
    [{ candidate: '2', control: '7' }, 404, /control version "7"/],
    [{ candidate: '2', max_seconds: -1 }, 400, /max_seconds/],
    [{ candidate: '2', stepMinSeconds: 3 }, 400, /stepMinSeconds/],
    ['not an object', 400, /rollout is invalid/],
  ])('refuses %j with %i', (body, status, message) => {
    const err = refusal(body);
    expect(err.status).toBe(status);
    expect(err.message).toMatch(message);
  });
});
