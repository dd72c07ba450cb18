/** What the model-servers' drift monitors say, for `GET /models/:m/drift`: each live instance's
 * Prometheus text is read for its `modelgate_drift_*` series (the same numbers the dashboards and the
 * drift alert use, so the console and Grafana never disagree), and KS gets the two-sample critical
 * value at 5 % for the window and reference sizes, so a reader knows whether a KS of 0.08 matters.
 * Parsing is pure and apart from the fetching. */
import type { Metadata } from '../../common/wire';

export const PSI_MODERATE = 0.1;
export const PSI_SIGNIFICANT = 0.25;
export const KS_ALPHA = 0.05;
/** c(α) = sqrt(-ln(α/2) / 2) for α = 0.05 (the asymptotic two-sample Kolmogorov-Smirnov bound). */
const KS_C_ALPHA = Math.sqrt(-Math.log(KS_ALPHA / 2) / 2);

export interface FeatureDrift {
  name: string;
  continuous: boolean;
  psi: number | null;
  ks: number | null;
  /** The KS value above which the window differs from the reference at the 5 % level. */
  ks_critical: number | null;
  reference_rows: number;
}

export interface InstanceDrift {
  url: string;
  ok: boolean;
  error: string | null;
  window_rows: number | null;
  prediction_psi: number | null;
  psi_max: number | null;
  features: FeatureDrift[];
}

export interface VersionDrift {
  version: string;
  instances: InstanceDrift[];
}

export interface DriftAnswer {
  model: string;
  thresholds: { psi_moderate: number; psi_significant: number; ks_alpha: number };
  versions: VersionDrift[];
}

/** Two-sample KS critical value at α = 0.05 for samples of n and m rows. */
export function ksCritical(n: number, m: number): number | null {
  if (!(n > 0 && m > 0)) return null;
  return KS_C_ALPHA * Math.sqrt((n + m) / (n * m));
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition whose names start with `prefix`. */
export function parseSamples(text: string, prefix: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const m = SAMPLE.exec(line.trim());
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL))
      labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\(.)/g, '$1');
    const value = Number(m[3]);
    if (Number.isFinite(value)) samples.push({ name: m[1]!, labels, value });
  }
  return samples;
}

/** One instance's drift from its /metrics text; features with no series yet (the window is below the
 * monitor's minimum) come back with null PSI and KS. */
export function driftFromMetrics(text: string, metadata: Metadata, url: string): InstanceDrift {
  const mine = parseSamples(text, 'modelgate_drift_').filter(
    (s) => s.labels.model === metadata.model && s.labels.version === metadata.version,
  );
  const one = (name: string, feature?: string) =>
    mine.find((s) => s.name === name && (feature === undefined || s.labels.feature === feature))?.value ??
    null;
  const windowRows = one('modelgate_drift_window_rows');
  return {
    url,
    ok: true,
    error: null,
    window_rows: windowRows,
    prediction_psi: one('modelgate_drift_prediction_psi'),
    psi_max: one('modelgate_drift_psi_max'),
    features: metadata.baseline.features.map((f) => {
      const ks = f.continuous ? one('modelgate_drift_ks', f.name) : null;
      return {
        name: f.name,
        continuous: f.continuous,
        psi: one('modelgate_drift_psi', f.name),
        ks,
        ks_critical: f.continuous && windowRows ? ksCritical(windowRows, f.reference.length) : null,
        reference_rows: f.reference.length,
      };
    }),
  };
}

export type ReadMetrics = (url: string) => Promise<string>;

/** Reads every live instance of every version at once; an instance that does not answer is reported
 * with its error rather than failing the whole answer. */
export async function readModelDrift(options: {
  model: string;
  versions: readonly Metadata[];
  instancesOf: (version: string) => string[];
  readMetrics: ReadMetrics;
}): Promise<DriftAnswer> {
  const versions = await Promise.all(
    options.versions.map(async (metadata) => ({
      version: metadata.version,
      instances: await Promise.all(
        options.instancesOf(metadata.version).map(async (url) => {
          try {
            return driftFromMetrics(await options.readMetrics(url), metadata, url);
          } catch (err) {
            return {
              url,
              ok: false,
              error: `could not read ${url}/metrics: ${(err as Error).message}`,
              window_rows: null,
              prediction_psi: null,
              psi_max: null,
              features: [],
            } satisfies InstanceDrift;
          }
        }),
      ),
    })),
  );
  return {
    model: options.model,
    thresholds: { psi_moderate: PSI_MODERATE, psi_significant: PSI_SIGNIFICANT, ks_alpha: KS_ALPHA },
    versions,
  };
}

/** Fetches an instance's /metrics with a deadline, so one hung model-server cannot hold the answer. */
export function fetchMetrics(timeoutMs: number): ReadMetrics {
  return async function readInstanceMetrics(url) {
    const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return res.text();
  };
}
