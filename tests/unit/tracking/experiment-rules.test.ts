import type { Policy } from '../../../common/wire';
import {
  defaultControl,
  type Experiment,
  endReasonUnder,
  planExperiment,
  withWeights,
} from '../../../tracking/experiments/experiment';

const policy = (variants: [string, number][], extra: Partial<Policy> = {}): Policy => ({
  variants: variants.map(([version, weight]) => ({ version, weight })),
  sticky: null,
  shadow: null,
  aliases: {},
  failover: true,
  revision: 1,
  ...extra,
});

const experiment = (over: Partial<Experiment> = {}): Experiment => ({
  id: 'e1',
  model: 'digits',
  control: '1',
  candidates: ['2'],
  unit: 'request',
  metrics: ['accuracy'],
  status: 'running',
  weights: [{ from: 0, weights: { '1': 90, '2': 10 } }],
  startedAt: 0,
  endedAt: null,
  endReason: null,
  createdBy: null,
  ...over,
});

describe('the control of an experiment', () => {
  it('is the stable alias when it is a variant', () => {
    expect(
      defaultControl(
        policy(
          [
            ['2', 95],
            ['1', 5],
          ],
          { aliases: { stable: '1' } },
        ),
      ),
    ).toBe('1');
  });

  it('is the largest weight, not the first variant listed, without a stable alias', () => {
    expect(
      defaultControl(
        policy([
          ['3', 5],
          ['1', 95],
        ]),
      ),
    ).toBe('1');
  });

  it('is refused rather than guessed when two variants share the largest weight', () => {
    expect(() =>
      defaultControl(
        policy([
          ['1', 50],
          ['2', 50],
        ]),
      ),
    ).toThrow(/name the control/);
  });

  it('is the named one when given, even against the stable alias', () => {
    const plan = planExperiment({
      body: { control: '2', candidates: ['1'] },
      policy: policy(
        [
          ['1', 50],
          ['2', 50],
        ],
        { aliases: { stable: '1' } },
      ),
    });
    expect(plan).toMatchObject({ control: '2', candidates: ['1'], unit: 'request' });
  });

  it('accepts a shadow-only candidate and refuses one the policy does not serve', () => {
    const p = policy([['1', 100]], { shadow: { version: '3', percent: 10 } });
    expect(planExperiment({ body: { candidates: ['3'] }, policy: p }).control).toBe('1');
    expect(() => planExperiment({ body: { candidates: ['4'] }, policy: p })).toThrow(/gets no traffic/);
  });
});

describe('an experiment under a changed policy', () => {
  it('goes on when weights or aliases change, recording the new weights', () => {
    const changed = policy(
      [
        ['1', 50],
        ['2', 50],
      ],
      { aliases: { canary: '1' } },
    );
    expect(endReasonUnder(experiment(), changed)).toBeNull();
    expect(withWeights(experiment(), changed, 1000)).toEqual([
      { from: 0, weights: { '1': 90, '2': 10 } },
      { from: 1000, weights: { '1': 50, '2': 50 } },
    ]);
    expect(
      withWeights(
        experiment(),
        policy([
          ['1', 90],
          ['2', 10],
        ]),
        1000,
      ),
    ).toBeNull();
  });

  it('ends when its candidate or control leaves the policy', () => {
    expect(endReasonUnder(experiment(), policy([['1', 100]]))).toMatch(/candidate v2 was removed/);
    expect(endReasonUnder(experiment(), policy([['2', 100]]))).toMatch(/control v1 was removed/);
    expect(endReasonUnder(experiment(), undefined)).toMatch(/deleted/);
  });
});
