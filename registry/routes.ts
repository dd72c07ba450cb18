/** The routing table gateways poll: built from the catalog and live instances, versioned by a
 * revision that moves whenever the body would change, with waiters for long-poll.
 *
 * The revision starts at the wall-clock millisecond the process started, then counts up: a gateway
 * that kept an old ETag across a registry restart never sees the same number mean two tables, and the
 * numbers never go backwards, which a gateway comparing revisions may rely on. */
import type { Routes } from '../common/wire';
import { inputWidth } from '../common/wire';
import type { Instances } from './instances';
import type { Catalog } from './store/model-store';

export function buildRoutesModels(
  catalog: Catalog,
  instances: Instances,
  experiments: ReadonlyMap<string, NonNullable<Routes['models'][string]['experiment']>> = new Map(),
): Routes['models'] {
  const models: Routes['models'] = {};
  for (const [name, entry] of catalog) {
    const versions: Routes['models'][string]['versions'] = {};
    for (const [v, md] of entry.versions) {
      versions[v] = {
        instances: instances.urlsOf(name, v),
        input_width: inputWidth(md),
        features: md.inputs[0]!.features,
        labels: md.outputs[0]!.labels,
        ...(md.inputs[0]!.feature_spec ? { feature_spec: md.inputs[0]!.feature_spec } : {}),
      };
    }
    const experiment = experiments.get(name);
    models[name] = experiment
      ? { policy: entry.policy, versions, experiment }
      : { policy: entry.policy, versions };
  }
  return models;
}

export interface RoutesTable {
  current(): Routes;
  /** Replaces the models; bumps the revision and wakes waiters only if something differs. */
  update(models: Routes['models']): boolean;
  /** Resolves true as soon as the revision differs from `revision`, false after `timeoutMs`, or
   * false when `signal` aborts (the client went away). */
  waitForChange(revision: number, timeoutMs: number, signal: AbortSignal): Promise<boolean>;
  waiting(): number;
}

export function createRoutesTable(initialRevision: number): RoutesTable {
  let routes: Routes = { revision: initialRevision, models: {} };
  let serialized = JSON.stringify(routes.models);
  const waiters = new Set<() => void>();

  return {
    current: () => routes,
    update(models) {
      const next = JSON.stringify(models);
      if (next === serialized) return false;
      serialized = next;
      routes = { revision: routes.revision + 1, models };
      for (const wake of [...waiters]) wake();
      return true;
    },
    waitForChange(revision, timeoutMs, signal) {
      if (routes.revision !== revision) return Promise.resolve(true);
      return new Promise((resolve) => {
        const finish = (changed: boolean) => {
          clearTimeout(timer);
          waiters.delete(wake);
          signal.removeEventListener('abort', onAbort);
          resolve(changed);
        };
        const wake = () => finish(true);
        const onAbort = () => finish(false);
        const timer = setTimeout(() => finish(false), timeoutMs);
        waiters.add(wake);
        signal.addEventListener('abort', onAbort);
      });
    },
    waiting: () => waiters.size,
  };
}
