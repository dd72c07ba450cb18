/** One opossum circuit breaker per upstream instance, plus outlier ejection (outlier-detector.ts)
 * and a deadline per call derived from the version's latency (deadline.ts). Breakers outlive
 * routing-table rebuilds (a policy change must not reset an open breaker) and are shut down when
 * their instance leaves the table. They know nothing of Prometheus: state changes go to
 * `onStateChange`, which app.ts wires to the gauge and the log. */
import CircuitBreaker from 'opossum';
import { AdaptiveLimit, type LimitSettings } from './concurrency-limit';
import { type DeadlineSettings, LatencyDeadline } from './deadline';
import { type Ejection, ModelOutliers, type OutlierSettings } from './outlier-detector';
import { type UpstreamClient, type UpstreamRequest, type UpstreamResponse, UpstreamTimeout } from './pool';

export type CircuitState = 'closed' | 'half-open' | 'open';

export interface BreakerSettings {
  errorThresholdPercent: number;
  volumeThreshold: number;
  resetTimeoutMs: number;
}

export type FailureKind = 'connect' | 'timeout' | 'status' | 'overloaded' | 'full' | 'open';

/** Why an upstream call did not produce a usable answer. `status` and `overloaded` carry the 5xx
 * response; `overloaded` is the model-server's queue-full 503: back-pressure, not a fault; `full`
 * means this gateway already has as many calls in flight to the instance as its limit allows. */
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
  /** False while open or ejected: the caller should try elsewhere without waiting. */
  available(): boolean;
  /** Calls in flight and the instance's adaptive concurrency limit. */
  readonly limit: AdaptiveLimit;
  state(): CircuitState;
  /** `lastResort`: no other instance or version is left to try, so wait up to the maximum. */
  call(request: UpstreamRequest, options?: { lastResort?: boolean }): Promise<UpstreamResponse>;
}

export type StateListener = (instance: InstanceKey, state: CircuitState) => void;

export interface BreakersOptions {
  breaker: BreakerSettings;
  outliers: OutlierSettings;
  deadlines: DeadlineSettings;
  concurrency: LimitSettings;
  clientFor(url: string): UpstreamClient;
  onStateChange: StateListener;
  onEjection?(instance: InstanceKey, ejection: Ejection): void;
  now(): number;
}

const keyOf = (k: InstanceKey) => `${k.model}/${k.version}@${k.url}`;

export class Breakers {
  private readonly byKey = new Map<string, { handle: InstanceBreaker; breaker: CircuitBreaker }>();
  private readonly outliers = new Map<string, ModelOutliers>();
  private readonly deadlines = new Map<string, LatencyDeadline>();
  private readonly returnTimers = new Set<NodeJS.Timeout>();

  constructor(private readonly options: BreakersOptions) {}

  get(key: InstanceKey): InstanceBreaker {
    const existing = this.byKey.get(keyOf(key));
    if (existing) return existing.handle;
    const created = this.create(key);
    this.byKey.set(keyOf(key), created);
    return created.handle;
  }

  /** Shuts down breakers of instances no longer in the table and tells the outlier detectors who
   * their members are now. */
  retain(keys: readonly InstanceKey[]): void {
    const keep = new Set(keys.map(keyOf));
    for (const [k, entry] of this.byKey) {
      if (!keep.has(k)) {
        entry.breaker.shutdown();
        this.byKey.delete(k);
      }
    }
    const byModel = new Map<string, InstanceKey[]>();
    for (const k of keys) byModel.set(k.model, [...(byModel.get(k.model) ?? []), k]);
    for (const model of this.outliers.keys()) if (!byModel.has(model)) this.outliers.delete(model);
    for (const [model, members] of byModel) this.outliersOf(model).setMembers(members);
    const versions = new Set(keys.map((k) => `${k.model}/${k.version}`));
    for (const v of this.deadlines.keys()) if (!versions.has(v)) this.deadlines.delete(v);
  }

  /** The deadline the next call to each version gets, in ms. */
  *deadlinesMs(): Iterable<{ model: string; version: string; ms: number }> {
    for (const [k, d] of this.deadlines) {
      const slash = k.indexOf('/');
      yield { model: k.slice(0, slash), version: k.slice(slash + 1), ms: d.deadlineMs() };
    }
  }

  shutdown(): void {
    for (const entry of this.byKey.values()) entry.breaker.shutdown();
    this.byKey.clear();
    for (const t of this.returnTimers) clearTimeout(t);
    this.returnTimers.clear();
  }

  private outliersOf(model: string): ModelOutliers {
    let o = this.outliers.get(model);
    if (!o) {
      o = new ModelOutliers(this.options.outliers, this.options.now);
      this.outliers.set(model, o);
    }
    return o;
  }

  private deadlineOf(model: string, version: string): LatencyDeadline {
    const k = `${model}/${version}`;
    let d = this.deadlines.get(k);
    if (!d) {
      d = new LatencyDeadline(this.options.deadlines);
      this.deadlines.set(k, d);
    }
    return d;
  }

  private create(key: InstanceKey): { handle: InstanceBreaker; breaker: CircuitBreaker } {
    const { clientFor, now } = this.options;
    // Bound once: retain() drops a version's deadline and a model's detector only together with
    // every breaker of theirs, so these stay the live objects for as long as this breaker exists.
    const deadline = this.deadlineOf(key.model, key.version);
    const outliers = this.outliersOf(key.model);
    // The timeout lives in the client call (undici cancels the request) rather than in opossum, so a
    // timed out request is not left running against a struggling server.
    const maxMs = this.options.deadlines.maxMs;
    async function callUpstream(request: UpstreamRequest, lastResort: boolean): Promise<UpstreamResponse> {
      const timeoutMs = lastResort ? maxMs : deadline.deadlineMs();
      let response: UpstreamResponse;
      try {
        response = await clientFor(key.url).send(request, timeoutMs);
      } catch (err) {
        if (err instanceof UpstreamTimeout)
          throw new UpstreamFailure('timeout', `${key.url} did not answer in ${timeoutMs} ms`);
        throw new UpstreamFailure('connect', `${key.url}: ${(err as Error).message}`);
      }
      if (response.status === 503) {
        throw new UpstreamFailure('overloaded', `${key.url} is at capacity`, response);
      }
      if (response.status >= 500) {
        throw new UpstreamFailure('status', `${key.url} answered ${response.status}`, response);
      }
      return response;
    }
    const breaker = new CircuitBreaker(callUpstream, {
      timeout: false,
      errorThresholdPercentage: this.options.breaker.errorThresholdPercent,
      volumeThreshold: this.options.breaker.volumeThreshold,
      resetTimeout: this.options.breaker.resetTimeoutMs,
      rollingCountTimeout: 10_000,
      rollingCountBuckets: 10,
      // A full queue is the model-server shedding load as designed, not a broken instance.
      errorFilter: (err: unknown) => err instanceof UpstreamFailure && err.kind === 'overloaded',
      // Neither opossum's latency percentiles nor its snapshots are read (deadline.ts keeps the
      // latency that matters). With them on, every call's latency is kept for the 10 s window, and
      // the whole window is concatenated and sorted every second and on every failure.
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
    });
    const notify = (state: CircuitState) => () => this.options.onStateChange(key, state);
    breaker.on('open', notify('open'));
    breaker.on('halfOpen', notify('half-open'));
    breaker.on('close', notify('closed'));
    const onEjection = (ejection: Ejection | undefined) => {
      if (!ejection) return;
      this.options.onStateChange(key, 'open');
      this.options.onEjection?.(key, ejection);
      const timer = setTimeout(
        () => {
          this.returnTimers.delete(timer);
          if (!breaker.opened) this.options.onStateChange(key, 'half-open');
        },
        Math.max(0, ejection.untilMs - now()),
      );
      timer.unref();
      this.returnTimers.add(timer);
    };
    const limit = new AdaptiveLimit(this.options.concurrency, now);
    const handle: InstanceBreaker = {
      ...key,
      limit,
      available: () => !breaker.opened && outliers.health(key.url) !== 'ejected',
      state: () => {
        const health = outliers.health(key.url);
        if (breaker.opened || health === 'ejected') return 'open';
        return breaker.halfOpen || health === 'returned' ? 'half-open' : 'closed';
      },
      call: async (request, callOptions) => {
        if (!limit.tryAcquire()) {
          throw new UpstreamFailure('full', `${key.url} has ${limit.inflight} calls in flight, its limit`);
        }
        const startedAt = now();
        const wasReturned = outliers.health(key.url) === 'returned';
        let dropped = false;
        try {
          const response = (await breaker.fire(
            request,
            callOptions?.lastResort === true,
          )) as UpstreamResponse;
          const latencyMs = now() - startedAt;
          deadline.observe(latencyMs);
          onEjection(outliers.record(key.url, { ok: true, latencyMs }));
          if (
            wasReturned &&
            !breaker.opened &&
            !breaker.halfOpen &&
            outliers.health(key.url) === 'in_rotation'
          ) {
            this.options.onStateChange(key, 'closed');
          }
          return response;
        } catch (err) {
          if ((err as { code?: string }).code === 'EOPENBREAKER') {
            throw new UpstreamFailure('open', `circuit for ${key.url} is open`);
          }
          if (err instanceof UpstreamFailure) {
            dropped = err.kind === 'overloaded' || err.kind === 'timeout';
            if (err.kind !== 'overloaded') {
              onEjection(outliers.record(key.url, { ok: false, latencyMs: now() - startedAt }));
            }
          }
          throw err;
        } finally {
          limit.release({ rttMs: now() - startedAt, dropped });
        }
      },
    };
    return { handle, breaker };
  }
}
