/** A routing table in which every instance of a model has vanished at once is more often a
 * registry that has just restarted (and not yet heard the heartbeats) than a model that really lost
 * all its servers. Applying it would turn every request for the model into a 503, so for a grace
 * period the gateway keeps the previous instances of such a model, and applies the empty table only
 * if it is still empty when the grace ends. A model that loses some of its instances, or whose
 * versions change, is applied at once: only "all gone, same versions" is held.
 *
 * Pure: the caller passes the clock and keeps the returned `since` for the next call. */
import type { Routes } from '../../common/wire';

export interface GuardResult {
  /** The table to apply: `next`, with the previous instances put back into held models. */
  routes: Routes;
  /** When each held model started being held; pass it back in on the next call. */
  since: ReadonlyMap<string, number>;
  /** When the earliest hold ends (the caller re-applies then), or undefined when nothing is held. */
  wakeAt: number | undefined;
}

export function guardEmptiedModels(options: {
  previous: Routes | undefined;
  next: Routes;
  since: ReadonlyMap<string, number>;
  nowMs: number;
  graceMs: number;
}): GuardResult {
  const { previous, next, nowMs, graceMs } = options;
  const since = new Map<string, number>();
  let wakeAt: number | undefined;
  let models: Routes['models'] | undefined;
  for (const [name, model] of Object.entries(next.models)) {
    const before = previous?.models[name];
    if (!before || graceMs <= 0) continue;
    const livedBefore = Object.entries(before.versions).filter(([, v]) => v.instances.length > 0);
    const allGone =
      livedBefore.length > 0 &&
      livedBefore.every(([v]) => model.versions[v] !== undefined) &&
      Object.values(model.versions).every((v) => v.instances.length === 0);
    if (!allGone) continue;
    const heldSince = options.since.get(name) ?? nowMs;
    if (nowMs - heldSince >= graceMs) continue;
    since.set(name, heldSince);
    wakeAt = Math.min(wakeAt ?? Number.POSITIVE_INFINITY, heldSince + graceMs);
    const versions = { ...model.versions };
    for (const [v, old] of livedBefore) versions[v] = { ...versions[v]!, instances: old.instances };
    models ??= { ...next.models };
    models[name] = { ...model, versions };
  }
  return { routes: models ? { ...next, models } : next, since, wakeAt };
}
