/** Without Prometheus, the drift summary comes straight from the model-servers' /metrics: each
 * computes its own drift, and the gateway already knows their URLs from the routing table. */

export interface DriftSummary {
  psiMax: number | null;
  psiMean: number | null;
  predictionPsi: number | null;
}

const DRIFT_LINE = /^modelgate_drift_(psi_max|psi_mean|prediction_psi)\{[^}]*\}\s+(\S+)$/;

export function parseDriftMetrics(text: string): DriftSummary {
  const summary: DriftSummary = { psiMax: null, psiMean: null, predictionPsi: null };
  for (const line of text.split('\n')) {
    const m = DRIFT_LINE.exec(line.trim());
    if (!m) continue;
    const value = Number(m[2]);
    if (!Number.isFinite(value)) continue;
    const key = m[1] === 'psi_max' ? 'psiMax' : m[1] === 'psi_mean' ? 'psiMean' : 'predictionPsi';
    summary[key] = Math.max(summary[key] ?? Number.NEGATIVE_INFINITY, value);
  }
  return summary;
}

/** The worst drift over a version's instances; null when none answered or none has enough rows yet. */
export async function driftOfInstances(
  instances: readonly string[],
  timeoutMs = 2_000,
): Promise<DriftSummary | null> {
  const answers = await Promise.all(
    instances.map(async (base) => {
      try {
        const res = await fetch(`${base.replace(/\/$/, '')}/metrics`, {
          signal: AbortSignal.timeout(timeoutMs),
        });
        return res.ok ? parseDriftMetrics(await res.text()) : null;
      } catch {
        return null; // an instance that cannot answer has no drift to add; the report says null
      }
    }),
  );
  const worst = (key: keyof DriftSummary) => {
    const values = answers.map((a) => a?.[key]).filter((v): v is number => typeof v === 'number');
    return values.length ? Math.max(...values) : null;
  };
  const summary = {
    psiMax: worst('psiMax'),
    psiMean: worst('psiMean'),
    predictionPsi: worst('predictionPsi'),
  };
  return summary.psiMax === null && summary.predictionPsi === null ? null : summary;
}
