/** Experiments in the registry: the API (DESIGN Part 2), keeping running experiments in step with
 * policies (a removed candidate ends one; weight changes are recorded for the SRM check), the
 * routing table's `experiment` field, and the verdict gauges. */
import { type RequestHandler, type Response, Router } from 'express';
import type { Kysely } from 'kysely';
import { AppError } from '../common/errors';
import { jsonBody } from '../common/http';
import type { Logger } from '../common/logger';
import type { Policy, Routes } from '../common/wire';
import {
  type Experiment,
  endReasonUnder,
  experimentView,
  planExperiment,
  weightsOf,
  withWeights,
} from '../tracking/experiments/experiment';
import type { ExperimentGauges } from '../tracking/experiments/gauges';
import { experimentReport } from '../tracking/experiments/report';
import type { ExperimentRepository } from '../tracking/experiments/repository';
import type { EvidenceSchema } from '../tracking/store/schema';
import { assertName } from './store/paths';

type RouteExperiment = NonNullable<Routes['models'][string]['experiment']>;

export interface RegistryExperimentsDeps {
  repository: ExperimentRepository;
  db: Kysely<EvidenceSchema>;
  logger: Logger;
  now(): number;
  lookEveryMs: number;
  admin: RequestHandler;
  /** The model's current policy; throws model_not_found for an unknown model. */
  policyOf(model: string): Policy;
  /** Rebuilds the routing table after a start or stop. */
  changed(): Promise<void>;
  gauges?: ExperimentGauges;
}

export interface RegistryExperiments {
  router: Router;
  /** Running experiments by model, as the routing table carries them. */
  routing(): ReadonlyMap<string, RouteExperiment>;
  /** Ends experiments whose candidates left their policy and records weight changes. */
  sync(policies: ReadonlyMap<string, Policy>): Promise<void>;
  publishGauges(): Promise<void>;
}

function toRouting(e: Experiment): RouteExperiment {
  return { id: e.id, control: e.control, candidates: e.candidates, unit: e.unit };
}

export function createRegistryExperiments(deps: RegistryExperimentsDeps): RegistryExperiments {
  const { repository, logger } = deps;
  let running = new Map<string, RouteExperiment>();
  const router = Router();

  const model = (raw: unknown) => assertName('model', String(raw ?? ''));
  async function find(m: string, id: string): Promise<Experiment> {
    if (id === 'current') {
      const current = (await repository.list(m)).find((e) => e.status === 'running');
      if (!current) {
        throw new AppError(
          'not_found',
          `model "${m}" runs no experiment; start one with \`modelgate experiment start ${m} --candidates V\``,
        );
      }
      return current;
    }
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(id))
      throw new AppError(
        'invalid_input',
        `experiment id "${id.slice(0, 80)}" is not an id this registry hands out`,
      );
    const found = await repository.get(m, id);
    if (!found) {
      throw new AppError(
        'not_found',
        `model "${m}" has no experiment "${id}"; GET /models/${m}/experiments lists them`,
      );
    }
    return found;
  }
  const who = (res: Response) => String(res.locals.actor ?? 'unknown');

  router.post('/models/:model/experiments', deps.admin, ...jsonBody('16kb'), async (req, res) => {
    const m = model(req.params.model);
    const policy = deps.policyOf(m);
    const plan = planExperiment({ body: req.body, policy });
    const experiment = await repository.start({
      model: m,
      ...plan,
      weights: weightsOf(policy),
      now: deps.now(),
      createdBy: who(res),
    });
    logger.info('experiment started', { model: m, id: experiment.id, control: plan.control, who: who(res) });
    await refreshRouting();
    await deps.changed();
    res.setHeader('Location', `/models/${m}/experiments/${experiment.id}`);
    res.status(201).json(experimentView(experiment));
  });

  router.get('/models/:model/experiments', async (req, res) => {
    const m = model(req.params.model);
    deps.policyOf(m);
    res.json({ experiments: (await repository.list(m)).map(experimentView) });
  });

  router.get('/models/:model/experiments/:id', async (req, res) => {
    const m = model(req.params.model);
    res.json(experimentView(await find(m, String(req.params.id))));
  });

  router.get('/models/:model/experiments/:id/report', async (req, res) => {
    const m = model(req.params.model);
    const experiment = await find(m, String(req.params.id));
    res.json(
      await experimentReport({ db: deps.db, experiment, now: deps.now(), lookEveryMs: deps.lookEveryMs }),
    );
  });

  router.post('/models/:model/experiments/:id/stop', deps.admin, async (req, res) => {
    const m = model(req.params.model);
    const found = await find(m, String(req.params.id));
    const stopped = await repository.stop({
      model: m,
      id: found.id,
      now: deps.now(),
      reason: `stopped by ${who(res)}`,
      who: who(res),
    });
    logger.info('experiment stopped', { model: m, id: found.id, who: who(res) });
    await refreshRouting();
    await deps.changed();
    res.json(experimentView(stopped));
  });

  async function refreshRouting(): Promise<void> {
    running = new Map((await repository.running()).map((e) => [e.model, toRouting(e)]));
  }

  return {
    router,
    routing: () => running,
    async sync(policies) {
      for (const e of await repository.running()) {
        const reason = endReasonUnder(e, policies.get(e.model));
        if (reason) {
          await repository.stop({ model: e.model, id: e.id, now: deps.now(), reason });
          logger.info('experiment ended', { model: e.model, id: e.id, reason });
          continue;
        }
        const weights = withWeights(e, policies.get(e.model)!, deps.now());
        if (weights) await repository.setWeights(e.id, weights);
      }
      await refreshRouting();
    },
    async publishGauges() {
      if (!deps.gauges) return;
      const reports = await Promise.all(
        (await repository.running()).map((experiment) =>
          experimentReport({ db: deps.db, experiment, now: deps.now(), lookEveryMs: deps.lookEveryMs }),
        ),
      );
      deps.gauges.publish(reports);
    },
  };
}
