/** The model as a whole, for the status and metadata routes that name no version
 * (`GET /v2/models/:m`, `GET /v1/models/:m[/metadata]`): every version in a fixed order rather than
 * one drawn from the split, so two calls in a row give the same answer. */
import type { ModelRoute, VersionRoute } from '../routing/route-state';
import type { Selection } from '../routing/split';

const byName = new Intl.Collator('en', { numeric: true }).compare;

export const isLive = (v: VersionRoute): boolean => v.upstreams.some((u) => u.available());

/** Every version of the model, by name in numeric order (2 before 10). */
export function versionsInOrder(model: ModelRoute): VersionRoute[] {
  return [...model.versions.values()].sort((a, b) => byName(a.version, b.version));
}

/** The version that speaks for the model's shape: the live one with the most traffic (ties: the
 * newest name), else the one with the most traffic. */
export function primaryVersion(model: ModelRoute): VersionRoute {
  const ranked = versionsInOrder(model).sort(
    (a, b) =>
      Number(isLive(b)) - Number(isLive(a)) ||
      b.weightPercent - a.weightPercent ||
      byName(b.version, a.version),
  );
  return ranked[0]!;
}

/** Whether the caller asked for one version (path, label or X-Model-* header) rather than the model. */
export const namesOneVersion = (s: Selection): boolean => s.version !== undefined || s.label !== undefined;
