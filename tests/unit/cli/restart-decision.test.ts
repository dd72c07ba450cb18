import { type PastRun, PM2_DEFAULTS, restartDecision } from '../../../cli/supervisor/restart-decision';

const crash = (startedAt: number) => ({ startedAt, code: 1, signal: null, requested: false });

/** `n` earlier runs of `ms` each, back to back, ending at `end`. */
function runs(n: number, ms: number, end: number): PastRun[] {
  return Array.from({ length: n }, (_, i) => ({
    startedAt: end - (n - i) * ms,
    endedAt: end - (n - i - 1) * ms,
  }));
}

describe('restartDecision (PM2 defaults)', () => {
  it('does not restart a child the supervisor stopped, nor one whose exit code means stop', () => {
    expect(restartDecision([], { ...crash(0), requested: true }, 5000)).toEqual({
      giveUp: 'stopped on request',
    });
    const policy = { ...PM2_DEFAULTS, stopExitCodes: [0] };
    expect(restartDecision([], { ...crash(0), code: 0 }, 5000, policy)).toHaveProperty('giveUp');
    expect(restartDecision([], { ...crash(0), code: 0 }, 5000)).toEqual({ restartInMs: 100 });
  });

  it('backs off x1.5 from 100 ms per quick restart, up to 15 s', () => {
    const delays = [0, 1, 2, 3, 13, 20].map((n) => {
      const history = runs(n, 5000, 100_000);
      return restartDecision(history, crash(100_000), 105_000);
    });
    expect(delays).toEqual([
      { restartInMs: 100 },
      { restartInMs: 150 },
      { restartInMs: 225 },
      { restartInMs: 338 },
      { restartInMs: 15_000 },
      { restartInMs: 15_000 },
    ]);
  });

  it('starts from 100 ms again after a run of 30 s or more', () => {
    expect(restartDecision(runs(8, 5000, 100_000), crash(100_000), 130_000)).toEqual({ restartInMs: 100 });
    const longThenQuick = [...runs(8, 5000, 60_000), { startedAt: 60_000, endedAt: 95_000 }];
    expect(restartDecision(longThenQuick, crash(95_000), 100_000)).toEqual({ restartInMs: 100 });
    expect(restartDecision(runs(8, 5000, 100_000), crash(100_000), 129_999)).toEqual({
      restartInMs: Math.round(100 * 1.5 ** 8),
    });
  });

  it('gives up after 16 runs in a row shorter than min_uptime (1 s), not after 15', () => {
    expect(restartDecision(runs(14, 500, 10_000), crash(10_000), 10_500)).toHaveProperty('restartInMs');
    const decision = restartDecision(runs(15, 500, 10_000), crash(10_000), 10_500);
    expect(decision).toEqual({
      giveUp: '16 runs in a row ended within 1000 ms of starting; not restarting again',
    });
    // One stable run in between resets the count.
    const history = [...runs(10, 500, 5000), { startedAt: 5000, endedAt: 7000 }, ...runs(5, 500, 9500)];
    expect(restartDecision(history, crash(9500), 10_000)).toHaveProperty('restartInMs');
  });
});
