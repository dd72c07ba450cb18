/** GET /health, /ready and /model/info. */
import { Router } from 'express';
import type { Metadata } from '../../common/wire';
import type { DataPlane } from '../dataplane';
import type { RouteState } from '../routing/route-state';
import type { TableStatus } from '../routing/table';
import type { ModelInfo } from '../schemas';

export interface StatusDeps {
  plane: DataPlane;
  now(): number;
  startedAt: number;
  state(): RouteState | undefined;
  tableStatus(): TableStatus;
  /** Metadata summaries fetched from the registry and cached; undefined when not (yet) known. */
  metadata(model: string, version: string): Metadata | undefined;
}

export function liveUpstreamCount(state: RouteState | undefined): number {
  let live = 0;
  for (const model of state?.models.values() ?? []) {
    for (const v of model.versions.values()) live += v.upstreams.filter((u) => u.available()).length;
  }
  return live;
}

export function tableDetails(deps: Pick<StatusDeps, 'now' | 'tableStatus'>) {
  const t = deps.tableStatus();
  return {
    revision: t.revision ?? null,
    stale: t.stale,
    age_seconds: t.lastAnsweredAt === undefined ? null : (deps.now() - t.lastAnsweredAt) / 1000,
    ...(t.lastError ? { last_error: t.lastError } : {}),
  };
}

export function statusRouter(deps: StatusDeps): Router {
  const router = Router();

  router.get('/health', (_req, res) => {
    res.json({ status: 'healthy', uptime_seconds: (deps.now() - deps.startedAt) / 1000 });
  });

  router.get('/ready', (_req, res) => {
    const state = deps.state();
    const live = liveUpstreamCount(state);
    const models: Record<string, unknown> = {};
    for (const m of state?.models.values() ?? []) {
      const versions: Record<string, unknown> = {};
      for (const v of m.versions.values()) {
        versions[v.version] = {
          instances: v.upstreams.length,
          available: v.upstreams.filter((u) => u.available()).length,
        };
      }
      models[m.name] = versions;
    }
    const ready = state !== undefined && live > 0;
    const details = { routing_table: tableDetails(deps), live_upstreams: live, models };
    if (!ready) res.setHeader('Retry-After', '1');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', details });
  });

  router.get('/model/info', (_req, res) => {
    res.json(modelInfoBody(deps));
  });

  return router;
}

/** GET /model/info's body; also GraphQL's `models` (gateway/graphql). */
export function modelInfoBody(deps: Omit<StatusDeps, 'startedAt'>): ModelInfo {
  const state = deps.state();
  const t = deps.tableStatus();
  const models = [...(state?.models.values() ?? [])].map((m) => ({
    name: m.name,
    policy: m.policy as unknown as Record<string, unknown>,
    split: m.ranges.map((r) => ({
      version: r.version,
      weight_percent: r.weightPercent,
      buckets: [r.start, r.end] as [number, number],
    })),
    versions: [...m.versions.values()].map((v) => {
      const meta = deps.metadata(m.name, v.version);
      return {
        version: v.version,
        weight_percent: v.weightPercent,
        input_width: v.inputWidth,
        features: [...v.features],
        labels: [...v.labels],
        live_instances: v.upstreams.length,
        circuit: v.upstreams.map((u) => ({ upstream: u.url, state: u.state() })),
        ...(meta ? { metrics: meta.metrics, description: meta.description, created: meta.created } : {}),
      };
    }),
  }));
  return {
    default_model: deps.plane.defaultModelName() ?? null,
    revision: t.revision ?? null,
    stale: t.stale,
    models,
  };
}
