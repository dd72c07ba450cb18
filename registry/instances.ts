/** Live model-server instances, known only from heartbeats. An instance that misses three heartbeats
 * (INSTANCE_TTL_MS) is dropped; `ready:false` drops it at once, so a draining server leaves routing
 * before it stops. Time comes from an injected clock so expiry tests do not wait. */
import type { Heartbeat } from '../common/wire';

export interface Instance {
  model: string;
  version: string;
  url: string;
  backend: string | undefined;
  lastSeenMs: number;
  firstSeenMs: number;
}

export interface Instances {
  /** Records a heartbeat; true when the set of routable instances changed. */
  heartbeat(beat: Heartbeat): boolean;
  /** Drops instances whose last heartbeat is older than the TTL; true when any were dropped. */
  expire(): boolean;
  /** Drops every instance of a version (it was deleted); true when any were dropped. */
  forgetVersion(model: string, version: string): boolean;
  /** True when this exact instance is live (its first ready heartbeat was accepted). */
  has(model: string, version: string, url: string): boolean;
  list(): Instance[];
  /** Takes instances saved before a restart (registry/instance-snapshot.ts); each gets one TTL to
   * heartbeat again. Ones already known are left as they are. */
  restore(saved: readonly { model: string; version: string; url: string; backend: string | null }[]): number;
  urlsOf(model: string, version: string): string[];
}

export function createInstances(ttlMs: number, now: () => number): Instances {
  const byKey = new Map<string, Instance>();
  const keyOf = (model: string, version: string, url: string) => `${model}\u0000${version}\u0000${url}`;

  return {
    heartbeat(beat) {
      const url = beat.url.replace(/\/+$/, '');
      const key = keyOf(beat.model, beat.version, url);
      const known = byKey.get(key);
      if (!beat.ready) return byKey.delete(key);
      const t = now();
      byKey.set(key, {
        model: beat.model,
        version: beat.version,
        url,
        backend: beat.backend,
        lastSeenMs: t,
        firstSeenMs: known?.firstSeenMs ?? t,
      });
      return known === undefined;
    },
    expire() {
      const cutoff = now() - ttlMs;
      let dropped = false;
      for (const [key, inst] of byKey) {
        if (inst.lastSeenMs < cutoff) {
          byKey.delete(key);
          dropped = true;
        }
      }
      return dropped;
    },
    forgetVersion(model, version) {
      let dropped = false;
      for (const [key, inst] of byKey) {
        if (inst.model === model && inst.version === version) {
          byKey.delete(key);
          dropped = true;
        }
      }
      return dropped;
    },
    restore(saved) {
      const t = now();
      let restored = 0;
      for (const i of saved) {
        const key = keyOf(i.model, i.version, i.url);
        if (byKey.has(key)) continue;
        byKey.set(key, { ...i, backend: i.backend ?? undefined, lastSeenMs: t, firstSeenMs: t });
        restored++;
      }
      return restored;
    },
    has(model, version, url) {
      return byKey.has(keyOf(model, version, url.replace(/\/+$/, '')));
    },
    list() {
      return [...byKey.values()].sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0));
    },
    urlsOf(model, version) {
      return this.list()
        .filter((i) => i.model === model && i.version === version)
        .map((i) => i.url);
    },
  };
}
