import { formatReport } from '../../../cli/commands/report';
import { buildReport } from '../../../gateway/experiments/report';

describe('modelgate report table', () => {
  it('shows each version with its figures, marks the control and ends with the verdicts', () => {
    const report = buildReport({
      model: 'digits',
      revision: 5,
      since: Date.UTC(2026, 0, 1),
      source: 'store',
      weights: [
        { version: '1', weight: 50 },
        { version: '2', weight: 50 },
      ],
      control: '1',
      stats: [
        {
          version: '1',
          requests: 500,
          errors: 0,
          labelled: 500,
          correct: 400,
          latency: { kind: 'samples', ms: [5, 6, 7] },
          drift: null,
        },
        {
          version: '2',
          requests: 500,
          errors: 5,
          labelled: 500,
          correct: 470,
          latency: { kind: 'samples', ms: [5, 6, 7] },
          drift: { psiMax: 0.04, psiMean: 0.02, predictionPsi: 0.01 },
        },
      ],
    });
    const text = formatReport(report);
    const lines = text.split('\n');
    expect(lines[0]).toBe(
      'digits: policy revision 5, since 2026-01-01T00:00:00.000Z, 1000 requests, from the evidence store',
    );
    expect(lines[2]).toMatch(/^version\s+weight\s+share/);
    expect(lines[3]).toMatch(/^1 \(control\)\s+50%\s+50\.0%\s+500\s+0\.00%.*80\.0% of 500/);
    expect(lines[4]).toMatch(/^2\s+50%\s+50\.0%\s+500\s+1\.00%.*94\.0% of 500.*\+14\.0\s+<0\.001.*0\.040$/);
    expect(text).toContain('v2: accuracy +14.0 points, p < 0.001');
  });
});
