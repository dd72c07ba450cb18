/** A/B experiment bookkeeping in the gateway: feedback joins (POST /feedback) and the experiment
 * report (GET /experiments/:model). The gateway calls observe() once per answered prediction. */
import { type Request, Router } from 'express';
import { Counter, type Registry } from 'prom-client';
import { z } from 'zod';
import { AppError } from '../../common/errors';
import { jsonBody } from '../../common/http';
import type { Logger } from '../../common/logger';
import { modelNameSchema, type Routes } from '../../common/wire';
import { driftOfInstances } from './instance-drift';
import { PredictionJournal } from './journal';
import { statsFromPrometheus } from './prometheus-source';
import { buildReport, type ExperimentReport, pickControl, type VersionStats } from './report';
import { Tallies } from './tally';

export type { ExperimentReport } from './report';

export interface PredictionOutcome {
  requestId: string;
  model: string;
  version: string;
  /** The gateway route label, e.g. `/predict`, `oip_v2`, `tf_serving`. */
  route: string;
  status: number;
  /** False for 5xx and upstream failures (counted as errors in the report); 4xx are the caller's. */
  ok: boolean;
  latencyMs: number;
  /** Label of the predicted class (metadata output label), when the answer had one. Only outcomes
   * with a class can receive feedback. */
  predictedClass?: string;
  confidence?: number;
  /** Epoch ms when the answer was sent. */
  at: number;
}

export interface ExperimentsDeps {
  registry: Registry;
  logger: Logger;
  now(): number;
  /** When set, the report is computed from Prometheus (right across gateway replicas). */
  prometheusUrl?: string;
  routes(): Routes | undefined;
  /** Predictions kept for feedback joins (default 100 000) and how long (default 24 h). */
  journalSize?: number;
  feedbackTtlMs?: number;
  /** Latest latencies kept per version for the rank test (default 5 000). */
  latencySamples?: number;
}

export interface Experiments {
  /** POST /feedback and GET /experiments/:model; mount at the app root. */
  router: Router;
  observe(outcome: PredictionOutcome): void;
}

export const feedbackSchema = z
  .object({
    request_id: z.string().min(1).max(128).describe('X-Request-Id / request_id of the prediction'),
    label: z.union([z.string().min(1).max(256), z.number()]).describe('the true class label'),
  })
  .strict();

export function createExperiments(deps: ExperimentsDeps): Experiments {
  const journal = new PredictionJournal(deps.journalSize ?? 100_000, deps.feedbackTtlMs ?? 24 * 3600_000);
  const tallies = new Tallies(deps.latencySamples ?? 5_000);
  const feedbackTotal = new Counter({
    name: 'modelgate_feedback_total',
    help: 'Ground-truth labels joined to a logged prediction, by whether the prediction was right',
    labelNames: ['model', 'version', 'correct'],
    registers: [deps.registry],
  });
  const revisionOf = (model: string) => deps.routes()?.models[model]?.policy.revision ?? -1;

  function observe(o: PredictionOutcome): void {
    if (o.version === 'none') return;
    const tally = tallies.current(o.model, revisionOf(o.model), deps.now());
    const v = tallies.version(tally, o.version);
    v.requests++;
    if (!o.ok) v.errors++;
    else v.latency.push(o.latencyMs); // failed requests' latency is a timeout's, not the model's
    if (o.ok && o.predictedClass !== undefined) {
      journal.record(o.requestId, {
        model: o.model,
        version: o.version,
        predictedClass: o.predictedClass,
        at: o.at,
      });
    }
  }

  function feedback(body: unknown) {
    const parsed = feedbackSchema.safeParse(body);
    if (!parsed.success) {
      throw new AppError(
        'invalid_input',
        'feedback must be {"request_id": "<id of the prediction>", "label": "<true class>"}',
        parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      );
    }
    const { request_id: requestId } = parsed.data;
    const label = String(parsed.data.label);
    const now = deps.now();
    const found = journal.lookup(requestId, now);
    if (found.kind === 'unknown') {
      throw new AppError(
        'not_found',
        `no prediction with request_id "${requestId}" is on record here; feedback must reach a gateway that answered it, within ${Math.round(journal.ttlMs / 3600_000)} h and the last ${journal.capacity} predictions`,
      );
    }
    if (found.kind === 'expired') {
      throw new AppError(
        'not_found',
        `the prediction "${requestId}" is too old for feedback (older than ${Math.round(journal.ttlMs / 60_000)} min)`,
      );
    }
    const entry = found.entry;
    const labels = deps.routes()?.models[entry.model]?.versions[entry.version]?.labels ?? [];
    if (labels.length > 0 && !labels.includes(label)) {
      throw new AppError(
        'invalid_input',
        `label "${label}" is not a class of ${entry.model}; expected one of ${labels.join(', ')}`,
      );
    }
    if (entry.feedback !== undefined) {
      throw new AppError(
        'conflict',
        `feedback for "${requestId}" was already given (label "${entry.feedback}")`,
      );
    }
    entry.feedback = label;
    const correct = label === entry.predictedClass;
    feedbackTotal.inc({ model: entry.model, version: entry.version, correct: String(correct) });
    const tally = tallies.current(entry.model, revisionOf(entry.model), now);
    // A prediction made under an earlier split belongs to that experiment, not this one.
    if (entry.at >= tally.since) {
      const v = tallies.version(tally, entry.version);
      v.labelled++;
      if (correct) v.correct++;
    }
    return {
      request_id: requestId,
      model: entry.model,
      version: entry.version,
      prediction: entry.predictedClass,
      label,
      correct,
    };
  }

  async function report(req: Request): Promise<ExperimentReport> {
    const name = modelNameSchema.safeParse(req.params.model);
    if (!name.success)
      throw new AppError('invalid_input', `model name ${name.error.issues[0]?.message ?? 'is invalid'}`);
    const model = name.data;
    const routes = deps.routes();
    if (!routes)
      throw new AppError('not_ready', 'the gateway has no routing table yet; retry shortly', undefined, {
        'Retry-After': '1',
      });
    const route = routes.models[model];
    if (!route) {
      throw new AppError(
        'model_not_found',
        `model "${model}" is not served here; known models: ${Object.keys(routes.models).join(', ') || 'none'}`,
      );
    }
    const now = deps.now();
    const tally = tallies.current(model, route.policy.revision, now);
    const weights = route.policy.variants.map((v) => ({ version: v.version, weight: v.weight }));
    const control = pickControl(route.policy.variants, route.policy.aliases ?? {});
    let stats: VersionStats[];
    if (deps.prometheusUrl) {
      // Prometheus needs a little history for increase(); a minute covers a few scrapes.
      const windowSeconds = Math.max(60, (now - tally.since) / 1000);
      stats = await statsFromPrometheus(deps.prometheusUrl, model, windowSeconds);
    } else {
      const versions = new Set([...weights.map((w) => w.version), ...tally.versions.keys()]);
      stats = await Promise.all(
        [...versions].map(async (version): Promise<VersionStats> => {
          const t = tally.versions.get(version);
          return {
            version,
            requests: t?.requests ?? 0,
            errors: t?.errors ?? 0,
            labelled: t?.labelled ?? 0,
            correct: t?.correct ?? 0,
            latency: { kind: 'samples', ms: t?.latency.values() ?? [] },
            drift: await driftOfInstances(route.versions[version]?.instances ?? []),
          };
        }),
      );
    }
    return buildReport({
      model,
      revision: route.policy.revision,
      since: tally.since,
      source: deps.prometheusUrl ? 'prometheus' : 'gateway',
      weights,
      control,
      stats,
    });
  }

  const router = Router();
  router.post('/feedback', ...jsonBody('16kb'), function postFeedback(req, res) {
    res.status(201).json(feedback(req.body));
  });
  router.get('/experiments/:model', async function getExperiment(req, res) {
    res.json(await report(req));
  });
  return { router, observe };
}
