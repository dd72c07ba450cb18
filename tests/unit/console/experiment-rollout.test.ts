import { historySeries, metricsInHistory, pointCount } from '../../../console/src/logic/history';
import { CSV_COLUMNS, predictionsQuery } from '../../../console/src/logic/predictions';
import { actionTitle, srmText, verdictText } from '../../../console/src/logic/report';
import {
  DEFAULT_GATES,
  gatesBody,
  gatesText,
  parseSteps,
  type RolloutView,
  stepLabel,
  stepMinimums,
  stepStatuses,
} from '../../../console/src/logic/rollout';

describe('experiment history as chart series', () => {
  const history = [
    {
      at: '2026-12-02T01:00:00Z',
      candidate: '3',
      metric: 'accuracy',
      estimate: 0.02,
      ci: [-0.01, 0.05] as [number, number],
    },
    {
      at: '2026-12-02T01:00:00Z',
      candidate: '2',
      metric: 'accuracy',
      estimate: -0.01,
      ci: [-0.04, 0.02] as [number, number],
    },
    {
      at: '2026-12-02T01:00:10Z',
      candidate: '3',
      metric: 'accuracy',
      estimate: 0.021,
      ci: [0.008, 0.034] as [number, number],
    },
    {
      at: '2026-12-02T01:00:10Z',
      candidate: '3',
      metric: 'latency_p95',
      estimate: 3.5,
      ci: [1, 6] as [number, number],
    },
  ];

  it('lists the metrics in the order the report gives them', () => {
    expect(metricsInHistory(history)).toEqual(['accuracy', 'latency_p95']);
  });

  it('aligns candidates on shared timestamps, in points for shares, with gaps where a candidate has none', () => {
    const s = historySeries(history, 'accuracy');
    expect(s.x).toEqual([
      Date.parse('2026-12-02T01:00:00Z') / 1000,
      Date.parse('2026-12-02T01:00:10Z') / 1000,
    ]);
    expect(s.candidates.map((c) => c.candidate)).toEqual(['2', '3']);
    expect(s.candidates[0]).toEqual({
      candidate: '2',
      estimate: [-1, null],
      low: [-4, null],
      high: [2, null],
    });
    expect(s.candidates[1]!.estimate).toEqual([2, 2.1]);
    expect(s.candidates[1]!.low[1]).toBeCloseTo(0.8, 10);
    expect(pointCount(s)).toBe(3);
  });

  it('keeps latency in ms and drops non-finite bounds', () => {
    const s = historySeries(
      [
        ...history,
        { at: '2026-12-02T01:00:20Z', candidate: '3', metric: 'latency_p95', estimate: 4, ci: null },
      ],
      'latency_p95',
    );
    expect(s.candidates[0]).toEqual({ candidate: '3', estimate: [3.5, 4], low: [1, null], high: [6, null] });
  });
});

describe('report words', () => {
  it('names verdicts and actions for people', () => {
    expect(verdictText('insufficient_data')).toBe('not enough data');
    expect(verdictText('no_difference')).toBe('no difference');
    expect(actionTitle('safe_to_promote')).toBe('Safe to promote');
    expect(actionTitle('fix_split')).toBe('Fix the split first');
  });

  it('shows the observed split against the configured one in the SRM banner', () => {
    expect(
      srmText({
        ok: false,
        p_value: 0.0001,
        observed: { '2': 950, '3': 50 },
        expected_percent: { '2': 50, '3': 50 },
      }),
    ).toBe(
      'Sample ratio mismatch: the observed split does not match the configured weights, so the comparisons below are not trustworthy until the cause is found (p < 0.001): v2 950 requests (95.0 %, configured 50 %), v3 50 requests (5.0 %, configured 50 %).',
    );
    expect(srmText({ ok: true, p_value: 0.41, observed: {}, expected_percent: { '1': 100 } })).toBe(
      'The observed split matches the configured weights (p = 0.410): v1 0 requests (— %, configured 100 %).',
    );
  });
});

describe('rollout view logic', () => {
  const view = (over: Partial<RolloutView> = {}): RolloutView => ({
    id: 'r1',
    model: 'digits',
    candidate: '2',
    control: '1',
    strategy: 'steps',
    state: 'running',
    step_index: 1,
    steps: [{ shadow: 10 }, { weight: 5 }, { weight: 100 }],
    step_started_at: '2026-12-02T01:00:00Z',
    time_in_step_seconds: 250,
    step_min_seconds: 300,
    labelled_in_step: 612,
    step_min_labelled: 500,
    gates: [],
    waiting_for: null,
    history: [],
    experiment_id: null,
    ...over,
  });

  it('labels steps and marks done, current and next', () => {
    expect(view().steps.map(stepLabel)).toEqual(['shadow 10 %', '5 % of traffic', '100 % of traffic']);
    expect(stepStatuses(view())).toEqual(['done', 'current', 'next']);
    expect(stepStatuses(view({ state: 'promoted', step_index: 2 }))).toEqual(['done', 'done', 'done']);
    expect(stepStatuses(view({ state: 'rolled_back' }))).toEqual(['done', 'next', 'next']);
  });

  it("measures the current step's time and labelled rows against its minimums", () => {
    expect(stepMinimums(view(), 0)[1]).toEqual({
      time: '4 min 10 s of 5 min minimum',
      timeMet: false,
      rows: '612 of 500 labelled rows minimum',
      rowsMet: true,
    });
    const fromClock = stepMinimums(
      view({ time_in_step_seconds: undefined }),
      Date.parse('2026-12-02T01:06:00Z'),
    )[1]!;
    expect(fromClock.time).toBe('6 min of 5 min minimum');
    expect(fromClock.timeMet).toBe(true);
  });

  it('measures every step against the minimums: steps left behind from the log, later ones as needs', () => {
    const log = [
      { step_index: 0, started_at: 'a', ended_at: 'b', seconds: 400, counted: 120, unit: 'shadow rows' },
      { step_index: 1, started_at: 'b', ended_at: null, seconds: 250, counted: 612, unit: 'labelled rows' },
      {
        step_index: 2,
        started_at: null,
        ended_at: null,
        seconds: null,
        counted: null,
        unit: 'labelled rows',
      },
    ];
    expect(stepMinimums(view({ step_log: log }), 0)).toEqual([
      {
        time: '6 min 40 s of 5 min minimum',
        timeMet: true,
        rows: '120 of 500 shadow rows minimum',
        rowsMet: false,
      },
      {
        time: '4 min 10 s of 5 min minimum',
        timeMet: false,
        rows: '612 of 500 labelled rows minimum',
        rowsMet: true,
      },
      { time: 'not begun: needs 5 min', timeMet: null, rows: 'and 500 labelled rows', rowsMet: null },
    ]);
    // Once the rollout ended, its last step is read from the log like the others.
    const ended = stepMinimums(
      view({ state: 'rolled_back', step_log: [log[0]!, { ...log[1]!, seconds: 30, counted: 7 }, log[2]!] }),
      0,
    );
    expect(ended[1]).toEqual({
      time: '30 s of 5 min minimum',
      timeMet: false,
      rows: '7 of 500 labelled rows minimum',
      rowsMet: false,
    });
  });

  it('turns the gate choices of the start form into the API gates, refusing what the API would', () => {
    expect(gatesBody(DEFAULT_GATES)).toEqual({
      accuracy: 'not_worse',
      error_rate: 'not_worse',
      latency_p95_ms: '+20%',
      drift_psi_max: 0.25,
    });
    const some = gatesBody({ accuracy: true, errorRate: false, latencyPercent: '1000', driftPsi: '' });
    expect(some).toEqual({ accuracy: 'not_worse', latency_p95_ms: '+1000%' });
    expect(gatesText(some as Record<string, string>)).toBe('accuracy not worse, p95 latency within +1000%');
    expect(gatesText({})).toBe('none: each step advances on its minimums alone');
    expect(gatesBody({ ...DEFAULT_GATES, latencyPercent: '-5' })).toBe(
      'the latency budget "-5" is not a percentage ≥ 0',
    );
    expect(gatesBody({ ...DEFAULT_GATES, driftPsi: '0' })).toBe(
      'the drift ceiling "0" is not a PSI above 0, at most 10',
    );
  });

  it('reads the steps typed into the start form, refusing what the API would', () => {
    expect(parseSteps('5, 25 50,100', 10)).toEqual([
      { shadow: 10 },
      { weight: 5 },
      { weight: 25 },
      { weight: 50 },
      { weight: 100 },
    ]);
    expect(parseSteps('', undefined)).toBe('give at least one step, e.g. 5,25,50,100');
    expect(parseSteps('5,0', undefined)).toBe('"0" is not a whole percentage from 1 to 100');
    expect(parseSteps('50,25', undefined)).toBe(
      'each step must give the candidate more traffic than the one before',
    );
    expect(parseSteps('5,12.5', undefined)).toBe('"12.5" is not a whole percentage from 1 to 100');
  });
});

describe('predictions filters', () => {
  it('sends only the filters chosen', () => {
    expect(predictionsQuery({ version: '', outcome: '', limit: 100 })).toBe('limit=100');
    expect(predictionsQuery({ version: '2', outcome: 'unlabelled', limit: 500 })).toBe(
      'version=2&feedback=unlabelled&limit=500',
    );
  });

  it('exports every stored field', () => {
    expect(CSV_COLUMNS).toContain('request_id');
    expect(CSV_COLUMNS).toContain('correct');
    expect(CSV_COLUMNS.length).toBe(16);
  });
});
