/** Per-request deadlines from the route's own latency: a multiple of the recent p99 of one
 * version's upstream answers, with a floor, and the configured maximum until enough answers are
 * known. A fixed 5 s deadline lets a hung instance hold each of its requests for 5 s; a p99-derived
 * one gives up as soon as the wait is clearly abnormal for this model. Pure apart from the samples
 * it is given. Only answers count: a timed-out call's latency is unknown, and counting it at the
 * deadline would let one hung instance lengthen every caller's deadline (it did, in the SIGSTOP test). */

export interface DeadlineSettings {
  /** Deadline = multiple × p99; 0 turns adaptive deadlines off (always `maxMs`). */
  p99Multiple: number;
  floorMs: number;
  maxMs: number;
  /** Answers needed before the p99 is trusted. */
  minSamples: number;
}

const WINDOW = 256;
/** The p99 is recomputed every this many samples: sorting 256 numbers per request is waste. */
const RECOMPUTE_EVERY = 32;

export class LatencyDeadline {
  private readonly samples = new Float64Array(WINDOW);
  private count = 0;
  private current: number;

  constructor(private readonly settings: DeadlineSettings) {
    this.current = settings.maxMs;
  }

  /** Latency of one successful upstream answer, in ms. */
  observe(latencyMs: number): void {
    this.samples[this.count % WINDOW] = latencyMs;
    this.count++;
    if (this.count >= this.settings.minSamples && this.count % RECOMPUTE_EVERY === 0) this.recompute();
    else if (this.count === this.settings.minSamples) this.recompute();
  }

  deadlineMs(): number {
    return this.current;
  }

  p99Ms(): number | undefined {
    const n = Math.min(this.count, WINDOW);
    if (n === 0) return undefined;
    // A typed array sorts numerically without a comparator call per comparison.
    const sorted = this.samples.slice(0, n).sort();
    return sorted[Math.min(n - 1, Math.ceil(n * 0.99) - 1)]!;
  }

  private recompute(): void {
    const { p99Multiple, floorMs, maxMs } = this.settings;
    if (p99Multiple <= 0) return;
    const p99 = this.p99Ms();
    if (p99 === undefined) return;
    this.current = Math.min(maxMs, Math.max(floorMs, Math.ceil(p99 * p99Multiple)));
  }
}
