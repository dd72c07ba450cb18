/** What to change so that exactly one model-server runs per registered version: a pure diff of the
 * versions the registry lists against the servers running, in a stable order. */

export interface VersionKey {
  model: string;
  version: string;
}

export const keyOf = (v: VersionKey): string => `${v.model}/${v.version}`;

export interface ReconcilePlan {
  start: VersionKey[];
  /** Keys (`model/version`) of servers whose version is gone. */
  stop: string[];
}

const byName = new Intl.Collator('en', { numeric: true }).compare;

export function planReconcile(desired: readonly VersionKey[], running: Iterable<string>): ReconcilePlan {
  const want = new Map(desired.map((v) => [keyOf(v), v]));
  const have = new Set(running);
  const start = [...want.entries()]
    .filter(([k]) => !have.has(k))
    .sort(([a], [b]) => byName(a, b))
    .map(([, v]) => v);
  const stop = [...have].filter((k) => !want.has(k)).sort(byName);
  return { start, stop };
}

/** The versions in a routing table body (`GET /routes`), whatever else it holds. */
export function versionsInRoutes(body: unknown): VersionKey[] {
  const models = (body as { models?: Record<string, { versions?: Record<string, unknown> }> })?.models;
  if (typeof models !== 'object' || models === null) return [];
  const found: VersionKey[] = [];
  for (const [model, entry] of Object.entries(models)) {
    for (const version of Object.keys(entry?.versions ?? {})) found.push({ model, version });
  }
  return found;
}
