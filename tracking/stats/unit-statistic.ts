/** Per-arm sufficient statistics of a ratio metric over independent units, and the delta method.
 *
 * Every metric of the report is a ratio Σy / Σm over units u: accuracy is correct rows / labelled
 * rows, the error rate failed requests / requests, the latency metric slow requests / requests.
 * When rows are the unit (`unit: "request"`) every unit has m = 1 and y ∈ {0, 1}, and the delta
 * method below reduces exactly to the binomial variance p(1 − p)/n. When users are the unit
 * (`unit: "user"`), y_u and m_u are a user's totals: a user who sends 500 requests no longer counts as
 * 500 independent observations, which is what inflated false positives under sticky routing.
 *
 * Delta method for r̂ = Ȳ/M̄ over k independent units (e.g. Deng, Knoblich & Lu, "Applying the
 * Delta Method in Metric Analytics", KDD 2018, eq. 3):
 *   Var(r̂) ≈ (1 / (k · m̄²)) · (1/k) Σ_u (y_u − r̂ · m_u)²
 *          = (Σy² − 2 r̂ Σym + r̂² Σm²) / (k · M̄² · k),   M̄ = Σm / k.
 * Population moments (divisor k, not k − 1) so that the row case is exactly p(1 − p)/n, the plug-in
 * variance of Johari et al. */

export interface UnitStatistic {
  /** Independent units k (rows, requests or users). */
  readonly units: number;
  /** Σ y_u: successes (correct rows, failed requests, slow requests). */
  readonly sumY: number;
  readonly sumY2: number;
  /** Σ m_u: observations (labelled rows, requests). */
  readonly sumM: number;
  readonly sumM2: number;
  readonly sumYM: number;
}

export const EMPTY_STATISTIC: UnitStatistic = { units: 0, sumY: 0, sumY2: 0, sumM: 0, sumM2: 0, sumYM: 0 };

/** Rows as units: `successes` of `n` independent Bernoulli observations. */
export function proportionStatistic(options: { n: number; successes: number }): UnitStatistic {
  const { n, successes } = options;
  return { units: n, sumY: successes, sumY2: successes, sumM: n, sumM2: n, sumYM: successes };
}

export interface RatioEstimate {
  /** r̂ = Σy / Σm, or null without observations. */
  mean: number | null;
  /** Delta-method variance of r̂ (0 without observations). */
  variance: number;
}

export function ratioEstimate(s: UnitStatistic): RatioEstimate {
  if (s.units <= 0 || s.sumM <= 0) return { mean: null, variance: 0 };
  const r = s.sumY / s.sumM;
  const residual = Math.max(0, s.sumY2 - 2 * r * s.sumYM + r * r * s.sumM2);
  const mBar = s.sumM / s.units;
  return { mean: r, variance: residual / (s.units * s.units * mBar * mBar) };
}

/** The variance used by the tests: the delta-method variance, except that an arm whose rate is
 * exactly 0 or 1 (variance 0) gets the binomial variance of a rate shrunk by half an observation,
 * r̃ = (Σy + ½)/(Σm + 1), so that a perfect arm cannot claim certainty. Only degenerate arms are
 * affected; reference values elsewhere are the plain delta method. */
export function testVariance(s: UnitStatistic): number {
  const { variance } = ratioEstimate(s);
  if (variance > 0 || s.sumM <= 0) return variance;
  const shrunk = (s.sumY + 0.5) / (s.sumM + 1);
  return (shrunk * (1 - shrunk)) / s.sumM;
}

/** Per-unit running totals → cumulative statistics at each look. Feeding a unit's increment again
 * updates its contribution in place (Σy² gains (y + δ)² − y²), so a look costs O(new increments),
 * not O(users). */
export class UnitAccumulator {
  private readonly totals = new Map<string, { y: number; m: number }>();
  private stat: UnitStatistic = EMPTY_STATISTIC;

  add(unit: string, increment: { y: number; m: number }): void {
    const before = this.totals.get(unit);
    const y0 = before?.y ?? 0;
    const m0 = before?.m ?? 0;
    const y1 = y0 + increment.y;
    const m1 = m0 + increment.m;
    this.totals.set(unit, { y: y1, m: m1 });
    const s = this.stat;
    this.stat = {
      units: s.units + (before ? 0 : 1),
      sumY: s.sumY + increment.y,
      sumY2: s.sumY2 + y1 * y1 - y0 * y0,
      sumM: s.sumM + increment.m,
      sumM2: s.sumM2 + m1 * m1 - m0 * m0,
      sumYM: s.sumYM + y1 * m1 - y0 * m0,
    };
  }

  /** `n` observations that are each their own unit (no unit key), `y` of them successes. */
  addIndependent(increment: { y: number; m: number }): void {
    const s = this.stat;
    this.stat = {
      units: s.units + increment.m,
      sumY: s.sumY + increment.y,
      sumY2: s.sumY2 + increment.y,
      sumM: s.sumM + increment.m,
      sumM2: s.sumM2 + increment.m,
      sumYM: s.sumYM + increment.y,
    };
  }

  get statistic(): UnitStatistic {
    return this.stat;
  }
}
