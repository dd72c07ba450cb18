/** The experiment's evidence from the store, on a fixed grid of looks.
 *
 * Looks: look k closes at started_at + (k + 1) · lookEveryMs, and holds every observation made
 * before that moment. A look counts once it has closed (plus `settleMs`, so records still in a
 * gateway's write buffer have landed). The grid depends only on the experiment and the stored data,
 * so replicas, restarts and any number of readers evaluate the same looks: the always-valid running
 * minimum is then a property of the data, not of who asked when. Accuracy is bucketed by when the
 * label arrived (a label arriving late joins a later look; closed looks never change); requests by
 * when they were answered.
 *
 * Counting: only split and sticky assignments enter comparisons and the SRM check (pins, label
 * routes, failovers and shadow copies are not random draws from the weights). A request is its row
 * 0, so a batch of ten rows is one request for the error rate and the latency. With `unit: user`,
 * observations are summed per unit (the sticky key, else user_id); requests without a unit are each
 * their own unit. */
import { type Kysely, sql } from 'kysely';
import { LATENCY_BURN_IN_REQUESTS, latencyThreshold } from '../stats/latency-threshold';
import type { MetricName } from '../stats/metrics';
import type { WeightPeriodAssignments } from '../stats/srm';
import { UnitAccumulator, type UnitStatistic } from '../stats/unit-statistic';
import type { EvidenceSchema } from '../store/schema';
import type { Experiment } from './experiment';

export interface GridOptions {
  lookEveryMs: number;
  settleMs: number;
  now: number;
}

export interface MetricLooks {
  /** Index of each look (k) with the cumulative statistic per version after it. */
  looks: { index: number; byVersion: Map<string, UnitStatistic> }[];
}

export interface ExperimentEvidence {
  closedLooks: number;
  /** Epoch ms up to which the looks hold data. */
  through: number;
  metrics: Partial<Record<MetricName, MetricLooks>>;
  /** Latency thresholds (ms) the latency metrics compare against; null before the burn-in is over. */
  thresholdsMs: { latency_p95: number | null; latency_p50: number | null };
  /** Split/sticky assignments (requests, or units for `unit: user`) in each weight period, oldest
   * first, with that period's weights: the SRM check's expected counts come from each period. */
  assignments: WeightPeriodAssignments[];
  /** Distinct units per version (all routes but shadow). */
  units: Record<string, number>;
  shadow: Record<string, { rows: number; agree: number }>;
}

const ASSIGNED = ['split', 'sticky'] as const;

interface Cell {
  version: string;
  unit: string | null;
  look: number;
  m: number;
  y: number;
}

/** Cumulative statistics per look from per-(look, version, unit) cells. */
function accumulate(cells: readonly Cell[], byUnit: boolean): MetricLooks {
  const sorted = [...cells].sort((a, b) => a.look - b.look);
  const accumulators = new Map<string, UnitAccumulator>();
  const looks: MetricLooks['looks'] = [];
  let i = 0;
  while (i < sorted.length) {
    const look = sorted[i]!.look;
    for (; i < sorted.length && sorted[i]!.look === look; i++) {
      const c = sorted[i]!;
      let acc = accumulators.get(c.version);
      if (!acc) {
        acc = new UnitAccumulator();
        accumulators.set(c.version, acc);
      }
      if (byUnit && c.unit !== null) acc.add(c.unit, { y: c.y, m: c.m });
      else acc.addIndependent({ y: c.y, m: c.m });
    }
    looks.push({ index: look, byVersion: new Map([...accumulators].map(([v, a]) => [v, a.statistic])) });
  }
  return { looks };
}

export async function experimentEvidence(
  db: Kysely<EvidenceSchema>,
  experiment: Experiment,
  grid: GridOptions,
): Promise<ExperimentEvidence> {
  const start = experiment.startedAt;
  const end = experiment.endedAt ?? grid.now;
  const closedLooks = Math.max(
    0,
    Math.floor((Math.min(end, grid.now - grid.settleMs) - start) / grid.lookEveryMs),
  );
  // A stopped experiment's last, partial look is fixed too: nothing after ended_at is counted.
  const lastLookEnd =
    experiment.endedAt !== null && experiment.endedAt <= grid.now - grid.settleMs
      ? experiment.endedAt
      : start + closedLooks * grid.lookEveryMs;
  const looksCount =
    experiment.endedAt !== null && lastLookEnd === experiment.endedAt ? closedLooks + 1 : closedLooks;
  const byUnit = experiment.unit === 'user';
  const lookOf = (column: string) =>
    sql<number>`cast((${sql.ref(column)} - ${start}) / ${grid.lookEveryMs} as integer)`;
  const unitColumn = (column: string) =>
    byUnit ? sql<string | null>`${sql.ref(column)}` : sql<string | null>`null`;

  // The experiment's assigned requests (row 0 of split and sticky answers): what every comparison
  // and the SRM check count.
  const assignedRequests = () =>
    db
      .selectFrom('predictions')
      .where('experiment_id', '=', experiment.id)
      .where('model', '=', experiment.model)
      .where('row', '=', 0)
      .where('reason', 'in', ASSIGNED);

  const requests = await assignedRequests()
    .select([
      'version',
      unitColumn('unit').as('unit'),
      lookOf('created_at').as('look'),
      (eb) => eb.fn.countAll<number>().as('n'),
      sql<number>`sum(1 - ${sql.ref('ok')})`.as('errors'),
    ])
    .where('created_at', '>=', start)
    .where('created_at', '<', lastLookEnd)
    .groupBy(['version', sql`2`, sql`3`])
    .execute();

  const labelled = await db
    .selectFrom('feedback as f')
    .innerJoin('predictions as p', (j) =>
      j
        .onRef('p.request_id', '=', 'f.request_id')
        .onRef('p.row', '=', 'f.row')
        .onRef('p.version', '=', 'f.version'),
    )
    .select([
      'f.version as version',
      unitColumn('p.unit').as('unit'),
      lookOf('f.created_at').as('look'),
      (eb) => eb.fn.countAll<number>().as('n'),
      sql<number>`sum(${sql.ref('f.correct')})`.as('correct'),
    ])
    .where('f.experiment_id', '=', experiment.id)
    .where('f.model', '=', experiment.model)
    .where('p.reason', 'in', ASSIGNED)
    .where('f.created_at', '>=', start)
    .where('f.created_at', '<', lastLookEnd)
    .groupBy([sql`1`, sql`2`, sql`3`])
    .execute();

  const cells = (rows: readonly Record<string, unknown>[], y: string, m: string): Cell[] =>
    rows
      .map((r) => ({
        version: String(r.version),
        unit: r.unit === null || r.unit === undefined ? null : String(r.unit),
        look: Number(r.look),
        m: Number(r[m]),
        y: Number(r[y]),
      }))
      .filter((c) => c.look < looksCount);

  const metrics: ExperimentEvidence['metrics'] = {
    accuracy: accumulate(cells(labelled, 'correct', 'n'), byUnit),
    error_rate: accumulate(cells(requests, 'errors', 'n'), byUnit),
  };

  // Latency: thresholds from the control's first answered requests, then the indicator after them.
  const burnIn = await assignedRequests()
    .select(['latency_ms', 'created_at'])
    .where('version', '=', experiment.control)
    .where('ok', '=', 1)
    .where('created_at', '>=', start)
    .orderBy('created_at')
    .orderBy('id')
    .limit(LATENCY_BURN_IN_REQUESTS)
    .execute();
  const thresholdsMs: ExperimentEvidence['thresholdsMs'] = { latency_p95: null, latency_p50: null };
  if (burnIn.length === LATENCY_BURN_IN_REQUESTS) {
    const burnInMs = burnIn.map((r) => Number(r.latency_ms));
    const after = Number(burnIn[burnIn.length - 1]!.created_at);
    thresholdsMs.latency_p95 = latencyThreshold({ burnInMs, quantile: 0.95 });
    thresholdsMs.latency_p50 = latencyThreshold({ burnInMs, quantile: 0.5 });
    const t95 = thresholdsMs.latency_p95!;
    const t50 = thresholdsMs.latency_p50!;
    const slow = await assignedRequests()
      .select([
        'version',
        unitColumn('unit').as('unit'),
        lookOf('created_at').as('look'),
        (eb) => eb.fn.countAll<number>().as('n'),
        sql<number>`sum(case when ${sql.ref('latency_ms')} > ${t95} then 1 else 0 end)`.as('slow95'),
        sql<number>`sum(case when ${sql.ref('latency_ms')} > ${t50} then 1 else 0 end)`.as('slow50'),
      ])
      .where('ok', '=', 1)
      .where('created_at', '>', after)
      .where('created_at', '<', lastLookEnd)
      .groupBy(['version', sql`2`, sql`3`])
      .execute();
    metrics.latency_p95 = accumulate(cells(slow, 'slow95', 'n'), byUnit);
    metrics.latency_p50 = accumulate(cells(slow, 'slow50', 'n'), byUnit);
  }

  // Assignments per weight period: period p runs from weights[p].from to the next change.
  const periods = experiment.weights.length > 0 ? experiment.weights : [{ from: start, weights: {} }];
  const periodOf = sql<number>`case ${sql.join(
    periods.slice(1).map((p, i) => sql`when ${sql.ref('created_at')} < ${p.from} then ${i}`),
    sql` `,
  )} else ${periods.length - 1} end`;
  const assignedRows = await assignedRequests()
    .select([
      'version',
      (periods.length > 1 ? periodOf : sql<number>`0`).as('period'),
      byUnit
        ? sql<number>`count(distinct ${sql.ref('unit')}) + sum(case when ${sql.ref('unit')} is null then 1 else 0 end)`.as(
            'n',
          )
        : sql<number>`count(*)`.as('n'),
    ])
    .where('created_at', '>=', start)
    .where('created_at', '<', end + 1)
    .groupBy(['version', sql`2`])
    .execute();
  const assignments = periods.map((p, index) => ({
    weights: p.weights,
    observed: Object.fromEntries(
      assignedRows.filter((r) => Number(r.period) === index).map((r) => [r.version, Number(r.n)]),
    ),
  }));

  const unitRows = await db
    .selectFrom('predictions')
    .select(['version', sql<number>`count(distinct ${sql.ref('unit')})`.as('n')])
    .where('experiment_id', '=', experiment.id)
    .where('model', '=', experiment.model)
    .where('reason', '<>', 'shadow')
    .groupBy('version')
    .execute();
  const units = Object.fromEntries(unitRows.map((r) => [r.version, Number(r.n)]));

  const shadowRows = await db
    .selectFrom('predictions as s')
    .innerJoin('predictions as p', (j) =>
      j
        .onRef('p.request_id', '=', 's.request_id')
        .onRef('p.row', '=', 's.row')
        .onRef('p.model', '=', 's.model'),
    )
    .select([
      's.version as version',
      (eb) => eb.fn.countAll<number>().as('n'),
      sql<number>`sum(case when ${sql.ref('s.predicted_class')} = ${sql.ref('p.predicted_class')} then 1 else 0 end)`.as(
        'agree',
      ),
    ])
    .where('s.experiment_id', '=', experiment.id)
    .where('s.model', '=', experiment.model)
    .where('s.reason', '=', 'shadow')
    .where('s.ok', '=', 1)
    .where('p.reason', '<>', 'shadow')
    .where('p.ok', '=', 1)
    .groupBy('s.version')
    .execute();
  const shadow = Object.fromEntries(
    shadowRows.map((r) => [r.version, { rows: Number(r.n), agree: Number(r.agree) }]),
  );

  return { closedLooks: looksCount, through: lastLookEnd, metrics, thresholdsMs, assignments, units, shadow };
}
