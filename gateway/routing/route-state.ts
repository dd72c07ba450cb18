/** Immutable per-model routing state, rebuilt only when the registry's table changes: bucket
 * ranges, label map, failover order, breakers and bound metric children. Requests only read it. */
import { compileFeatureSpec, type FeatureEncoder, featureSpecSchema } from '../../common/feature-spec';
import type { Policy, Routes } from '../../common/wire';
import type { Breakers, InstanceBreaker, InstanceKey } from '../upstream/breakers';
import { type BucketRange, bucketRanges } from './split';

export interface VersionRoute {
  version: string;
  weightPercent: number;
  inputWidth: number;
  features: readonly string[];
  labels: readonly string[];
  /** Named-feature encoder compiled from the version's spec; undefined: positional rows only. */
  encoder: FeatureEncoder | undefined;
  /** The spec as JSON: two versions encode named features alike only when these are equal. */
  specKey: string | undefined;
  upstreams: readonly InstanceBreaker[];
  /** Round-robin cursor over upstreams; the one mutable field, and only a counter. */
  cursor: { next: number };
}

export interface ModelRoute {
  name: string;
  policy: Policy;
  ranges: readonly BucketRange[];
  versions: ReadonlyMap<string, VersionRoute>;
  versionNames: ReadonlySet<string>;
  /** Policy variants in bucket order: where a failed-over request goes next. */
  failoverOrder: readonly string[];
}

export interface RouteState {
  revision: number;
  models: ReadonlyMap<string, ModelRoute>;
  /** Model names sorted: the default model is the first when DEFAULT_MODEL is unset. */
  modelNames: readonly string[];
}

export function buildRouteState(routes: Routes, breakers: Breakers): RouteState {
  const models = new Map<string, ModelRoute>();
  const instances: InstanceKey[] = [];
  for (const [name, model] of Object.entries(routes.models)) {
    const policy = model.policy;
    const ranges = bucketRanges(policy.variants);
    const weights = new Map(policy.variants.map((v) => [v.version, v.weight]));
    const versions = new Map<string, VersionRoute>();
    for (const [version, route] of Object.entries(model.versions)) {
      const upstreams = [...new Set(route.instances)].map((url) => {
        const key = { model: name, version, url: url.replace(/\/+$/, '') };
        instances.push(key);
        return breakers.get(key);
      });
      versions.set(version, {
        version,
        weightPercent: weights.get(version) ?? 0,
        inputWidth: route.input_width,
        features: route.features,
        labels: route.labels,
        ...compiledSpec(route.feature_spec),
        upstreams,
        cursor: { next: 0 },
      });
    }
    models.set(name, {
      name,
      policy,
      ranges,
      versions,
      versionNames: new Set(versions.keys()),
      failoverOrder: ranges.map((r) => r.version).filter((v) => versions.has(v)),
    });
  }
  breakers.retain(instances);
  return { revision: routes.revision, models, modelNames: [...models.keys()].sort() };
}

/** The table comes from the registry, which validated the metadata; a spec that still fails here
 * (a registry of another release) leaves the version positional-only rather than breaking routing. */
function compiledSpec(raw: unknown): Pick<VersionRoute, 'encoder' | 'specKey'> {
  if (raw === undefined) return { encoder: undefined, specKey: undefined };
  const parsed = featureSpecSchema.safeParse(raw);
  if (!parsed.success) return { encoder: undefined, specKey: undefined };
  return { encoder: compileFeatureSpec(parsed.data), specKey: JSON.stringify(parsed.data) };
}

/** Versions to try, in order: the chosen one, then (when allowed) the other variants after it. */
export function candidates(model: ModelRoute, chosen: string, allowFailover: boolean): string[] {
  if (!allowFailover || !model.policy.failover) return [chosen];
  const order = model.failoverOrder;
  const at = order.indexOf(chosen);
  const rest = at < 0 ? order : [...order.slice(at + 1), ...order.slice(0, at)];
  return [chosen, ...rest.filter((v) => v !== chosen)];
}

/** Upstreams of a version whose breakers are not open, starting at the round-robin cursor. */
export function liveUpstreams(version: VersionRoute): InstanceBreaker[] {
  const n = version.upstreams.length;
  if (n === 0) return [];
  const start = version.cursor.next++ % n;
  const ordered: InstanceBreaker[] = [];
  for (let i = 0; i < n; i++) {
    const u = version.upstreams[(start + i) % n]!;
    if (u.available()) ordered.push(u);
  }
  return ordered;
}
