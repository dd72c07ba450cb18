/** Experiments in the evidence store: one row per experiment, at most one running per model. */
import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { AppError } from '../../common/errors';
import type { MetricName } from '../stats/metrics';
import type { EvidenceSchema, ExperimentsTable } from '../store/schema';
import type { Experiment, ExperimentUnit, WeightPeriod } from './experiment';

function fromRow(r: Selectable<ExperimentsTable>): Experiment {
  return {
    id: r.id,
    model: r.model,
    control: r.control,
    candidates: JSON.parse(r.candidates) as string[],
    unit: r.unit,
    metrics: JSON.parse(r.metrics) as MetricName[],
    status: r.status,
    weights: JSON.parse(r.weights) as WeightPeriod[],
    startedAt: Number(r.started_at),
    endedAt: r.ended_at === null ? null : Number(r.ended_at),
    endReason: r.end_reason,
    createdBy: r.created_by,
  };
}

export interface ExperimentRepository {
  start(input: {
    model: string;
    control: string;
    candidates: string[];
    unit: ExperimentUnit;
    metrics: MetricName[];
    weights: Record<string, number>;
    /** A bandit will move the weights (recorded on the first weight period). */
    adaptive?: boolean;
    now: number;
    createdBy: string | null;
  }): Promise<Experiment>;
  get(model: string, id: string): Promise<Experiment | undefined>;
  list(model: string): Promise<Experiment[]>;
  /** Every running experiment, for the routing table. */
  running(): Promise<Experiment[]>;
  /** `who` names the actor for the audit log (registry/experiment-audit.ts); the row keeps `reason`. */
  stop(input: { model: string; id: string; now: number; reason: string; who?: string }): Promise<Experiment>;
  setWeights(id: string, weights: WeightPeriod[]): Promise<void>;
}

export function createExperimentRepository(db: Kysely<EvidenceSchema>): ExperimentRepository {
  const get = async (model: string, id: string) => {
    const row = await db
      .selectFrom('experiments')
      .selectAll()
      .where('model', '=', model)
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? fromRow(row) : undefined;
  };
  return {
    async start(input) {
      const id = `${input.model}-${new Date(input.now).toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomUUID().slice(0, 6)}`;
      // Under SQLite WAL this read-then-write transaction fails at once with SQLITE_BUSY when a
      // gateway's write lands between its read and its insert (the busy timeout does not cover a
      // reader that must become a writer); the whole transaction is then simply run again.
      await retryWhenBusy(() =>
        db.transaction().execute(async (trx) => {
          const open = await trx
            .selectFrom('experiments')
            .select('id')
            .where('model', '=', input.model)
            .where('status', '=', 'running')
            .executeTakeFirst();
          if (open) {
            throw new AppError(
              'conflict',
              `model "${input.model}" already runs experiment ${open.id}; stop it first (modelgate experiment stop ${input.model})`,
              { experiment_id: open.id },
            );
          }
          await trx
            .insertInto('experiments')
            .values({
              id,
              model: input.model,
              control: input.control,
              candidates: JSON.stringify(input.candidates),
              unit: input.unit,
              metrics: JSON.stringify(input.metrics),
              status: 'running',
              weights: JSON.stringify([
                { from: input.now, weights: input.weights, ...(input.adaptive ? { adaptive: true } : {}) },
              ]),
              started_at: input.now,
              ended_at: null,
              end_reason: null,
              created_by: input.createdBy,
            })
            .execute();
        }),
      );
      return (await get(input.model, id))!;
    },
    get,
    async list(model) {
      const rows = await db
        .selectFrom('experiments')
        .selectAll()
        .where('model', '=', model)
        .orderBy('started_at', 'desc')
        .execute();
      return rows.map(fromRow);
    },
    async running() {
      const rows = await db.selectFrom('experiments').selectAll().where('status', '=', 'running').execute();
      return rows.map(fromRow);
    },
    async stop(input) {
      const found = await get(input.model, input.id);
      if (!found) {
        throw new AppError(
          'not_found',
          `model "${input.model}" has no experiment "${input.id}"; GET /models/${input.model}/experiments lists them`,
        );
      }
      if (found.status !== 'running') return found;
      await db
        .updateTable('experiments')
        .set({ status: 'stopped', ended_at: input.now, end_reason: input.reason })
        .where('id', '=', input.id)
        .where('status', '=', 'running')
        .execute();
      return (await get(input.model, input.id))!;
    },
    async setWeights(id, weights) {
      await db
        .updateTable('experiments')
        .set({ weights: JSON.stringify(weights) })
        .where('id', '=', id)
        .execute();
    },
  };
}

const BUSY_ATTEMPTS = 5;

/** Runs `work` again (up to BUSY_ATTEMPTS times, 20 ms apart) when SQLite answers SQLITE_BUSY. */
async function retryWhenBusy<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      const code = String((err as { code?: unknown }).code ?? '');
      if (!code.startsWith('SQLITE_BUSY') || attempt >= BUSY_ATTEMPTS) throw err;
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
    }
  }
}
