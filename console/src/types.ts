/** The API shapes the console reads (snake_case, as CONTRACTS.md fixes them). */
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
