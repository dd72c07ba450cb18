/** One opossum circuit breaker per upstream instance. Breakers outlive routing-table rebuilds (a
 * policy change must not reset an open breaker) and are shut down when their instance leaves the
 * table. They know nothing of Prometheus: state changes go to `onStateChange`, which app.ts wires
 * to the gauge and the log. */
import CircuitBreaker from 'opossum';
import type { UpstreamClient, UpstreamRequest, UpstreamResponse } from './pool';

export type CircuitState = 'closed' | 'half-open' | 'open';

export interface BreakerSettings {
  timeoutMs: number;
  errorThresholdPercent: number;
  volumeThreshold: number;
  resetTimeoutMs: number;
}

export type FailureKind = 'connect' | 'timeout' | 'status' | 'open';

/** Why an upstream call did not produce a usable answer. `status` carries the 5xx response. */
export class UpstreamFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
    readonly response?: UpstreamResponse,
  ) {
    super(message);
    this.name = 'UpstreamFailure';
  }
}

export interface InstanceKey {
  model: string;
  version: string;
  url: string;
}

export interface InstanceBreaker extends InstanceKey {
  /** False while open: the caller should try elsewhere without waiting. */
  available(): boolean;
  state(): CircuitState;
  call(request: UpstreamRequest): Promise<UpstreamResponse>;
}

export type StateListener = (instance: InstanceKey, state: CircuitState) => void;

const keyOf = (k: InstanceKey) => `${k.model}/${k.version}@${k.url}`;

export class Breakers {
  private readonly byKey = new Map<string, { handle: InstanceBreaker; breaker: CircuitBreaker }>();

  constructor(
    private readonly settings: BreakerSettings,
    private readonly clientFor: (url: string) => UpstreamClient,
    private readonly onStateChange: StateListener,
  ) {}

  get(key: InstanceKey): InstanceBreaker {
    const existing = this.byKey.get(keyOf(key));
    if (existing) return existing.handle;
    const created = this.create(key);
    this.byKey.set(keyOf(key), created);
    return created.handle;
  }

  /** Shuts down breakers of instances no longer in the table. */
  retain(keys: readonly InstanceKey[]): void {
    const keep = new Set(keys.map(keyOf));
    for (const [k, entry] of this.byKey) {
      if (!keep.has(k)) {
        entry.breaker.shutdown();
        this.byKey.delete(k);
      }
    }
  }

  shutdown(): void {
    for (const entry of this.byKey.values()) entry.breaker.shutdown();
    this.byKey.clear();
  }

  private create(key: InstanceKey): { handle: InstanceBreaker; breaker: CircuitBreaker } {
    const { timeoutMs } = this.settings;
    const clientFor = this.clientFor;
    // The timeout lives in the action (an AbortSignal per call) rather than in opossum, so a timed
    // out request is actually cancelled instead of left running against a struggling server.
    async function callUpstream(request: UpstreamRequest): Promise<UpstreamResponse> {
      const signal = AbortSignal.timeout(timeoutMs);
      let response: UpstreamResponse;
      try {
        response = await clientFor(key.url).send(request, signal);
      } catch (err) {
        if (signal.aborted)
          throw new UpstreamFailure('timeout', `${key.url} did not answer in ${timeoutMs} ms`);
        throw new UpstreamFailure('connect', `${key.url}: ${(err as Error).message}`);
      }
      if (response.status >= 500) {
        throw new UpstreamFailure('status', `${key.url} answered ${response.status}`, response);
      }
      return response;
    }
    const breaker = new CircuitBreaker(callUpstream, {
      timeout: false,
      errorThresholdPercentage: this.settings.errorThresholdPercent,
      volumeThreshold: this.settings.volumeThreshold,
      resetTimeout: this.settings.resetTimeoutMs,
      rollingCountTimeout: 10_000,
      rollingCountBuckets: 10,
    });
    const notify = (state: CircuitState) => () => this.onStateChange(key, state);
    breaker.on('open', notify('open'));
    breaker.on('halfOpen', notify('half-open'));
    breaker.on('close', notify('closed'));
    const handle: InstanceBreaker = {
      ...key,
      available: () => !breaker.opened,
      state: () => (breaker.opened ? 'open' : breaker.halfOpen ? 'half-open' : 'closed'),
      call: async (request) => {
        try {
          return (await breaker.fire(request)) as UpstreamResponse;
        } catch (err) {
          if ((err as { code?: string }).code === 'EOPENBREAKER') {
            throw new UpstreamFailure('open', `circuit for ${key.url} is open`);
          }
          throw err;
        }
      },
    };
    return { handle, breaker };
  }
}
