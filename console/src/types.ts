/** The API shapes the console reads (snake_case, as CONTRACTS.md fixes them), and readers that also
 * accept the camelCase names the registry used before the rename, so the page works across it. */
import type { PolicyView } from './logic/policy-change';

export type { PolicyView };

export interface ModelSummary {
  name: string;
  versions: string[];
  weights: Record<string, number>;
  aliases: Record<string, string>;
  revision: number;
  live_instances: number;
}

export interface InstanceView {
  url: string;
  backend: string | null;
  last_seen: string;
}

export interface VersionView {
  version: string;
  created: string;
  description: string;
  framework: string;
  format: string;
  input_width: number;
  features: number;
  labels: string[];
  metrics: Record<string, number>;
  weight: number;
  aliases: string[];
  instances: InstanceView[];
}

export interface ModelDetail {
  name: string;
  policy: PolicyView;
  versions: VersionView[];
}

type Loose = Record<string, unknown>;
const either = (o: Loose, snake: string, camel: string) => (o[snake] !== undefined ? o[snake] : o[camel]);

export function readModelSummary(raw: Loose): ModelSummary {
  return {
    ...(raw as unknown as ModelSummary),
    live_instances: Number(either(raw, 'live_instances', 'liveInstances') ?? 0),
  };
}

export function readModelDetail(raw: Loose): ModelDetail {
  const versions = (raw.versions as Loose[]).map((v) => ({
    ...(v as unknown as VersionView),
    input_width: Number(either(v, 'input_width', 'inputWidth')),
    instances: ((v.instances as Loose[]) ?? []).map((i) => ({
      url: String(i.url),
      backend: (i.backend as string | null) ?? null,
      last_seen: String(either(i, 'last_seen', 'lastSeen')),
    })),
  }));
  return { name: String(raw.name), policy: raw.policy as PolicyView, versions };
}

export interface AuditEntry {
  at: string;
  who: string;
  action: string;
  model: string;
  version?: string;
  request_id?: string;
  reason?: string;
  before: unknown;
  after: unknown;
}

export interface AuditPage {
  entries: AuditEntry[];
  total: number;
  next_offset: number | null;
}

export function readAuditPage(raw: Loose): AuditPage {
  return {
    entries: ((raw.entries as Loose[]) ?? []).map((e) => ({
      ...(e as unknown as AuditEntry),
      request_id: either(e, 'request_id', 'requestId') as string | undefined,
    })),
    total: Number(raw.total ?? 0),
    next_offset: (either(raw, 'next_offset', 'nextOffset') as number | null) ?? null,
  };
}

export interface FeatureDrift {
  name: string;
  continuous: boolean;
  psi: number | null;
  ks: number | null;
  ks_critical: number | null;
  reference_rows: number;
}

export interface DriftAnswer {
  model: string;
  thresholds: { psi_moderate: number; psi_significant: number; ks_alpha: number };
  versions: {
    version: string;
    instances: {
      url: string;
      ok: boolean;
      error: string | null;
      window_rows: number | null;
      prediction_psi: number | null;
      psi_max: number | null;
      features: FeatureDrift[];
    }[];
  }[];
}
