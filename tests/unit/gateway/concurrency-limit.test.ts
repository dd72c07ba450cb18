import { AdaptiveLimit, DEFAULT_LIMIT_SETTINGS } from '../../../gateway/upstream/concurrency-limit';

function limiter(settings = {}) {
  const clock = { t: 0 };
  return { limit: new AdaptiveLimit({ ...DEFAULT_LIMIT_SETTINGS, ...settings }, () => clock.t), clock };
}

/** Keeps `n` requests in flight with a latency model: rtt = base × max(1, inflight / capacity). */
function drive(l: AdaptiveLimit, clock: { t: number }, steps: number, baseMs: number, capacity: number) {
  for (let i = 0; i < steps; i++) {
    while (l.tryAcquire());
    const rtt = baseMs * Math.max(1, l.inflight / capacity);
    clock.t += rtt / l.inflight;
    l.release({ rttMs: rtt, dropped: false });
  }
}

describe('adaptive concurrency limit', () => {
  it('refuses at once past the limit and admits again after a release', () => {
    const { limit } = limiter({ initial: 2, adaptive: false, max: 2 });
    expect([limit.tryAcquire(), limit.tryAcquire(), limit.tryAcquire()]).toEqual([true, true, false]);
    limit.release({ rttMs: 5, dropped: false });
    expect(limit.tryAcquire()).toBe(true);
  });

  it('settles where latency is about `tolerance` times the no-load latency', () => {
    const { limit, clock } = limiter({ initial: 4, max: 1000, slackMs: 0 });
    // An upstream that serves 8 at a time at 10 ms, and queues the rest.
    drive(limit, clock, 3000, 10, 8);
    expect(limit.limit).toBeGreaterThanOrEqual(8);
    expect(limit.limit).toBeLessThanOrEqual(8 * 2 + 8);
  });

  it('allows a fast model a few ms of extra latency under a burst before it shrinks', () => {
    const { limit, clock } = limiter({ initial: 16, max: 64 });
    // 1 ms alone, 4 at a time: 16 in flight take 4 ms, well within the 25 ms slack.
    drive(limit, clock, 2000, 1, 4);
    expect(limit.limit).toBeGreaterThanOrEqual(16);
  });

  it('grows toward the maximum while latency does not rise', () => {
    const { limit, clock } = limiter({ initial: 4, max: 64 });
    drive(limit, clock, 2000, 10, 1000);
    expect(limit.limit).toBe(64);
  });

  it('cuts the limit multiplicatively on drops (queue-full 503, timeouts), down to the minimum', () => {
    const { limit } = limiter({ initial: 40 });
    limit.tryAcquire();
    limit.release({ rttMs: 5, dropped: true });
    expect(limit.limit).toBe(36);
    for (let i = 0; i < 100; i++) {
      limit.tryAcquire();
      limit.release({ rttMs: 5, dropped: true });
    }
    expect(limit.limit).toBe(DEFAULT_LIMIT_SETTINGS.min);
  });

  it('does not grow while the caller uses less than half of the limit', () => {
    const { limit } = limiter({ initial: 20 });
    for (let i = 0; i < 500; i++) {
      limit.tryAcquire();
      limit.release({ rttMs: 5, dropped: false });
    }
    expect(limit.limit).toBe(20);
  });

  it('follows a slower model once the old no-load minimum has aged out of both windows', () => {
    const { limit, clock } = limiter({ initial: 8, max: 1000, minRttWindowMs: 1000, slackMs: 0 });
    drive(limit, clock, 2000, 10, 8);
    const before = limit.limit;
    // The model gets 5x slower for good (e.g. a bigger version): not a reason to throttle forever.
    drive(limit, clock, 4000, 50, 8);
    expect(limit.limit).toBeGreaterThanOrEqual(Math.min(before, 8));
  });
});
