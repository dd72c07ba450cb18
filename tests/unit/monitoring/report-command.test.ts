import { formatReport } from '../../../cli/commands/report';
import { noExperimentReport } from '../../../tracking/experiments/no-experiment';
import { LATENCY_BUCKETS_MS } from '../../../tracking/store/schema';

const evidenceOf = (
  version: string,
  requests: number,
  errors: number,
  labelled: number,
  correct: number,
) => ({
  version,
  requests,
  rows: requests - errors,
  errors,
  labelled,
  correct,
  // every answered request in the second bucket
  latency: {
    upperBoundsMs: LATENCY_BUCKETS_MS,
    counts: LATENCY_BUCKETS_MS.map((_, i) => (i === 1 ? requests - errors : 0)),
  },
});

describe('modelgate report table with no experiment running', () => {
  it('shows each version with its counts and ends with how to start an experiment', () => {
    const report = noExperimentReport({
      model: 'digits',
      weights: [
        { version: '1', weight: 50 },
        { version: '2', weight: 50 },
      ],
      control: '1',
      evidence: [evidenceOf('1', 500, 0, 500, 400), evidenceOf('2', 500, 5, 500, 470)],
      since: Date.UTC(2026, 0, 1),
      driftPsiMax: new Map([['2', 0.04]]),
    });
    const text = formatReport(report);
    const lines = text.split('\n');
    expect(lines[0]).toBe(
      'digits: no experiment running; counts since 2026-01-01T00:00:00.000Z, from the evidence store',
    );
    expect(lines[2]).toMatch(/^version\s+weight\s+requests\s+errors/);
    expect(lines[3]).toMatch(/^1\s+50%\s+500\s+0\.00%.*80\.0% of 500\s+-$/);
    expect(lines[4]).toMatch(/^2\s+50%\s+500\s+1\.00%.*94\.0% of 500\s+0\.040$/);
    expect(text).toContain('start one with `modelgate experiment start digits --control 1 --candidates 2`');
    expect(text).not.toMatch(/p [<=]|significant|better|worse/);
  });
});
