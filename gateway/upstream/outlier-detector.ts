/** Outlier ejection as Envoy does it (envoy/source/extensions/outlier_detection_monitors and
 * docs "Outlier detection"): an instance is taken out of rotation after N consecutive failures
 * (timeouts, connection errors, 5xx other than a queue-full 503), or when its recent latency is
 * far above its peers' in the same version; it comes back after an ejection interval that doubles
 * with each repeat ejection and shrinks again while it behaves. A model never loses its last
 * instance in rotation: a hung last instance is better than none, since its failures still answer.
 * Pure: state in, decisions out, time from the clock passed in. */

export interface OutlierSettings {
  /** Consecutive failures that eject (Envoy `consecutive_5xx`, default 5; ours is lower because a
   * hung instance costs a whole deadline per request). */
  consecutiveFailures: number;
  /** First ejection interval; the nth repeat lasts base × 2^(n-1), up to `maxEjectionMs`. */
  baseEjectionMs: number;
  maxEjectionMs: number;
  /** Eject when the instance's latency average exceeds `latencyFactor` × the median of its peers'
   * and by at least `latencyMarginMs` (so 1 ms against 3 ms is not an outlier). */
  latencyFactor: number;
  latencyMarginMs: number;
  /** Answers an instance needs before its latency is compared. */
  latencyMinSamples: number;
}

export const DEFAULT_OUTLIER_SETTINGS: OutlierSettings = {
  consecutiveFailures: 3,
  baseEjectionMs: 2000,
  maxEjectionMs: 60_000,
  latencyFactor: 5,
  latencyMarginMs: 50,
  latencyMinSamples: 20,
};

export type Outcome = { ok: true; latencyMs: number } | { ok: false; latencyMs: number };

export type InstanceHealth = 'in_rotation' | 'ejected' | 'returned';

interface InstanceState {
  version: string;
  consecutiveFailures: number;
  /** Ejections so far, decayed by one per healthy `maxEjectionMs` after the last one. */
  ejections: number;
  ejectedUntil: number;
  lastEjectedAt: number;
  /** Exponentially weighted mean latency of recent answers (alpha LATENCY_ALPHA). */
  latencyMs: number;
  samples: number;
  /** True between the end of an ejection and the first success after it. */
  returned: boolean;
}

export interface Ejection {
  url: string;
  reason: 'consecutive_failures' | 'latency';
  untilMs: number;
  ejections: number;
}

const LATENCY_ALPHA = 0.1;

/** Outlier state for the instances of one model, grouped by version. */
export class ModelOutliers {
  private readonly instances = new Map<string, InstanceState>();

  constructor(
    private readonly settings: OutlierSettings,
    private readonly now: () => number,
  ) {}

  /** Follows the routing table; state of instances that stay is kept. */
  setMembers(members: readonly { version: string; url: string }[]): void {
    const keep = new Set(members.map((m) => `${m.version}\u0000${m.url}`));
    for (const [url, s] of this.instances)
      if (!keep.has(`${s.version}\u0000${url}`)) this.instances.delete(url);
    for (const m of members) {
      if (this.instances.has(m.url)) continue;
      this.instances.set(m.url, {
        version: m.version,
        consecutiveFailures: 0,
        ejections: 0,
        ejectedUntil: 0,
        lastEjectedAt: Number.NEGATIVE_INFINITY,
        latencyMs: 0,
        samples: 0,
        returned: false,
      });
    }
  }

  health(url: string): InstanceHealth {
    const s = this.instances.get(url);
    if (!s) return 'in_rotation';
    if (s.ejectedUntil > this.now()) return 'ejected';
    return s.returned ? 'returned' : 'in_rotation';
  }

  /** Milliseconds until an ejected instance returns (0 when in rotation). */
  ejectedForMs(url: string): number {
    const s = this.instances.get(url);
    return s ? Math.max(0, s.ejectedUntil - this.now()) : 0;
  }

  /** Records one answer (or failure) of `url`; returns the ejection it caused, if any. */
  record(url: string, outcome: Outcome): Ejection | undefined {
    const s = this.instances.get(url);
    if (!s) return undefined;
    const t = this.now();
    if (s.ejectedUntil > t) return undefined; // a late answer from before the ejection
    s.samples++;
    s.latencyMs =
      s.samples === 1 ? outcome.latencyMs : s.latencyMs + LATENCY_ALPHA * (outcome.latencyMs - s.latencyMs);
    if (outcome.ok) {
      s.consecutiveFailures = 0;
      s.returned = false;
      if (s.ejections > 0 && t - s.lastEjectedAt > this.settings.maxEjectionMs) {
        s.ejections--;
        s.lastEjectedAt = t;
      }
      return this.latencyOutlier(url, s) ? this.eject(url, s, 'latency') : undefined;
    }
    s.consecutiveFailures++;
    if (s.consecutiveFailures >= this.settings.consecutiveFailures) {
      return this.eject(url, s, 'consecutive_failures');
    }
    return this.latencyOutlier(url, s) ? this.eject(url, s, 'latency') : undefined;
  }

  private latencyOutlier(url: string, s: InstanceState): boolean {
    const { latencyMinSamples, latencyFactor, latencyMarginMs } = this.settings;
    if (s.samples < latencyMinSamples) return false;
    const peers: number[] = [];
    const t = this.now();
    for (const [u, p] of this.instances) {
      if (u === url || p.version !== s.version || p.ejectedUntil > t || p.samples < latencyMinSamples)
        continue;
      peers.push(p.latencyMs);
    }
    if (peers.length === 0) return false;
    peers.sort((a, b) => a - b);
    const median = peers[Math.floor(peers.length / 2)]!;
    return s.latencyMs > latencyFactor * median && s.latencyMs - median > latencyMarginMs;
  }

  private eject(url: string, s: InstanceState, reason: Ejection['reason']): Ejection | undefined {
    const t = this.now();
    // Never the last instance in rotation of the whole model: with nothing left, every caller would
    // get a 503, where the failing instance still answers some.
    let inRotation = 0;
    for (const p of this.instances.values()) if (p.ejectedUntil <= t) inRotation++;
    if (inRotation <= 1) return undefined;
    s.ejections++;
    const interval = Math.min(
      this.settings.maxEjectionMs,
      this.settings.baseEjectionMs * 2 ** Math.min(s.ejections - 1, 30),
    );
    s.ejectedUntil = t + interval;
    s.lastEjectedAt = t;
    s.consecutiveFailures = 0;
    // Comparisons restart from the instance's behaviour after it returns.
    s.samples = 0;
    s.returned = true;
    return { url, reason, untilMs: s.ejectedUntil, ejections: s.ejections };
  }
}
