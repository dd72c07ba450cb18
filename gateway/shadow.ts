/** Shadow traffic: a copy of a share of requests goes to the policy's shadow version after the
 * caller has its answer. Copies are bounded in number (over the cap they are dropped and counted),
 * never retried and never failed over, so the shadow can add neither latency nor errors. */
import type { Logger } from '../common/logger';

export type ShadowOutcome = 'agree' | 'disagree' | 'error' | 'dropped';

export class ShadowSender {
  private inFlight = 0;

  constructor(
    private readonly maxConcurrency: number,
    private readonly logger: Logger,
  ) {}

  /** `primary` gives the classes the caller got (read lazily, off the hot path); `predict` resolves
   * with the shadow's classes. */
  send(
    primary: () => readonly string[],
    predict: () => Promise<string[] | undefined>,
    count: (outcome: ShadowOutcome) => void,
  ): void {
    if (this.inFlight >= this.maxConcurrency) {
      count('dropped');
      return;
    }
    this.inFlight++;
    // setImmediate: the primary response is already on its way before the copy is even built.
    setImmediate(() => {
      predict()
        .then((shadow) => {
          const expected = primary();
          if (!shadow || shadow.length !== expected.length || shadow.length === 0) return count('error');
          count(shadow.every((c, i) => c === expected[i]) ? 'agree' : 'disagree');
        })
        .catch((err: unknown) => {
          count('error');
          this.logger.debug('shadow request failed', { error: String(err) });
        })
        .finally(() => {
          this.inFlight--;
        });
    });
  }

  pending(): number {
    return this.inFlight;
  }
}
