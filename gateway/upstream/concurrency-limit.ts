/** An adaptive concurrency limit per upstream instance, after Netflix's concurrency-limits
 * (`GradientLimit`): the limit follows the gradient between the latency allowed and the latest one,
 * `limit × clamp(max(tolerance × minRtt, minRtt + slack) / rtt, 0.5, 1) + √limit`, smoothed; a drop (the model-server's
 * queue-full 503 or a timeout) cuts it multiplicatively, as AIMD does. In steady state the latency of
 * admitted requests settles near the allowed latency, and whatever does not fit is refused at once
 * instead of waiting in a queue. minRtt is the minimum over the current and the previous window, so
 * it follows a real change of the model's speed within two windows. Pure: time from the clock given. */

export interface LimitSettings {
  initial: number;
  min: number;
  max: number;
  /** Latency allowed before the limit shrinks: `tolerance` × the no-load latency, and at least
   * `slackMs` above it, so a 1 ms model is not throttled for answering in 3 ms under a burst. */
  tolerance: number;
  slackMs: number;
  /** Weight of each new estimate (Netflix's default 0.2). */
  smoothing: number;
  /** Multiplicative cut on a drop. */
  backoff: number;
  minRttWindowMs: number;
  /** Off: a fixed limit of `max`. */
  adaptive: boolean;
}

export const DEFAULT_LIMIT_SETTINGS: LimitSettings = {
  initial: 32,
  min: 16,
  max: 64,
  tolerance: 2,
  slackMs: 25,
  smoothing: 0.2,
  backoff: 0.9,
  minRttWindowMs: 10_000,
  adaptive: true,
};

export class AdaptiveLimit {
  private estimate: number;
  private active = 0;
  private windowStart: number;
  private windowMin = Number.POSITIVE_INFINITY;
  private previousMin = Number.POSITIVE_INFINITY;

  constructor(
    private readonly settings: LimitSettings,
    private readonly now: () => number,
  ) {
    this.estimate = settings.adaptive ? settings.initial : settings.max;
    this.windowStart = now();
  }

  get limit(): number {
    return Math.floor(this.estimate);
  }

  get inflight(): number {
    return this.active;
  }

  /** True when the caller may send one more request; it must then call `release` exactly once. */
  tryAcquire(): boolean {
    if (this.active >= this.limit) return false;
    this.active++;
    return true;
  }

  release(sample: { rttMs: number; dropped: boolean }): void {
    const inflight = this.active;
    this.active = Math.max(0, this.active - 1);
    if (!this.settings.adaptive) return;
    const { min, max, tolerance, slackMs, smoothing, backoff } = this.settings;
    if (sample.dropped) {
      this.estimate = Math.max(min, this.estimate * backoff);
      return;
    }
    const noLoad = this.noLoadRtt(sample.rttMs);
    // Only a limit that is being used says anything about whether it is too high or too low.
    if (inflight * 2 < this.estimate) return;
    const allowed = Math.max(tolerance * noLoad, noLoad + slackMs);
    const gradient = Math.max(0.5, Math.min(1, allowed / Math.max(sample.rttMs, 1e-3)));
    const target = this.estimate * gradient + Math.sqrt(this.estimate);
    this.estimate = Math.min(max, Math.max(min, this.estimate * (1 - smoothing) + target * smoothing));
  }

  private noLoadRtt(rttMs: number): number {
    const t = this.now();
    if (t - this.windowStart >= this.settings.minRttWindowMs) {
      this.previousMin = this.windowMin;
      this.windowMin = Number.POSITIVE_INFINITY;
      this.windowStart = t;
    }
    if (rttMs < this.windowMin) this.windowMin = rttMs;
    return Math.min(this.windowMin, this.previousMin);
  }
}
