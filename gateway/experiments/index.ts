/** The gateway's window on the evidence store: POST /feedback (joined in the database, whichever
 * gateway answered the prediction), GET /experiments/:model (the report, computed from the store so
 * every replica answers alike and nothing resets on restarts or policy changes) and GET /predictions
 * (admin: the stored rows). The gateway itself holds no experiment state. */
import { Router } from 'express';
import { Counter, type Registry } from 'prom-client';
import { z } from 'zod';
import { AppError } from '../../common/errors';
import { jsonBody } from '../../common/http';
import type { Logger } from '../../common/logger';
import { modelNameSchema, type Policy, type Routes } from '../../common/wire';
import type { EvidenceStore } from '../../tracking/evidence-store';
import { defaultControl } from '../../tracking/experiments/experiment';
import { type NoExperimentReport, noExperimentReport } from '../../tracking/experiments/no-experiment';
import type { ExperimentReport } from '../../tracking/experiments/report';
import type { FeedbackOutcome } from '../../tracking/feedback';
import { parsePredictionsQuery } from '../../tracking/predictions-params';
import { requireAdminToken } from '../admin-token';
import { driftOfInstances } from './instance-drift';

export interface ExperimentsDeps {
  evidence: EvidenceStore;
  registry: Registry;
  logger: Logger;
  now(): number;
  routes(): Routes | undefined;
  /** EXPERIMENT_LOOK_MS: the grid of looks of the always-valid report. */
  experimentLookMs?: number;
  /** Guards GET /predictions; unset, that read is refused (403). */
  adminToken?: string | undefined;
}

export const feedbackSchema = z
  .object({
    request_id: z.string().min(1).max(140).describe('X-Request-Id / request_id of the prediction'),
    row: z.number().int().min(0).max(1_000_000).optional().describe('row of a batch (default 0)'),
    label: z.union([z.string().min(1).max(256), z.number()]).describe('the true class label'),
  })
  .strict();

/** The experiment a model is running, as the routing table names it (added by the registry's
 * experiments; absent until one runs). */
export function experimentIdOf(routes: Routes | undefined, model: string): string | undefined {
  const route = routes?.models[model] as { experiment?: { id?: unknown } } | undefined;
  return typeof route?.experiment?.id === 'string' ? route.experiment.id : undefined;
}

/** The control `experiment start` would pick now, for the hint; null when it would refuse. */
function controlIfStartedNow(policy: Policy): string | null {
  try {
    return defaultControl(policy);
  } catch {
    return null;
  }
}

/** The store is an outside service: when it fails, the caller hears 503 and may retry. */
async function fromStore<T>(logger: Logger, what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof AppError) throw err;
    logger.warn('evidence store call failed', { what, error: String(err) });
    throw new AppError(
      'not_ready',
      `the evidence store (DATABASE_URL) did not answer while ${what}; retry shortly`,
      undefined,
      {
        'Retry-After': '2',
      },
    );
  }
}

export function createExperiments(deps: ExperimentsDeps) {
  const { evidence, logger } = deps;
  const feedbackTotal = new Counter({
    name: 'modelgate_feedback_total',
    help: 'Ground-truth labels joined to a logged prediction, by whether the prediction was right',
    labelNames: ['model', 'version', 'correct'],
    registers: [deps.registry],
  });

  async function feedback(body: unknown): Promise<{ status: number; body: unknown }> {
    const parsed = feedbackSchema.safeParse(body);
    if (!parsed.success) {
      throw new AppError(
        'invalid_input',
        'feedback must be {"request_id": "<id of the prediction>", "label": "<true class>", "row": <batch row, optional>}',
        parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      );
    }
    const { request_id: requestId, row } = parsed.data;
    const label = String(parsed.data.label);
    const outcome: FeedbackOutcome = await fromStore(logger, 'joining feedback', () =>
      evidence.feedback({
        requestId,
        row,
        label,
        // A label outside the version's classes is refused before anything is written.
        labelsOf: (model, version) => deps.routes()?.models[model]?.versions[version]?.labels ?? [],
      }),
    );
    const which = row === undefined ? `"${requestId}"` : `"${requestId}" row ${row}`;
    switch (outcome.kind) {
      case 'bad_label':
        throw new AppError(
          'invalid_input',
          `label "${label}" is not a class of ${outcome.prediction.model}; expected one of ${outcome.labels.join(', ')}`,
          { labels: outcome.labels },
        );
      case 'unknown':
        throw new AppError(
          'not_found',
          `unknown request_id: no prediction ${which} is on record (the store keeps ${evidence.retentionDays} days of answered predictions; failed and shadow requests take no feedback)`,
          { reason: 'unknown', request_id: requestId },
        );
      case 'expired':
        throw new AppError(
          'not_found',
          `expired request_id: the prediction ${which} was made ${new Date(outcome.prediction.predictedAt).toISOString()}, older than RETENTION_DAYS=${evidence.retentionDays}`,
          { reason: 'expired', request_id: requestId },
        );
      case 'conflict':
        throw new AppError(
          'conflict',
          `feedback for ${which} was already given with label "${outcome.existingLabel}"; a prediction takes one label`,
          { label: outcome.existingLabel },
        );
    }
    const p = outcome.prediction;
    const answer = {
      request_id: p.requestId,
      row: p.row,
      model: p.model,
      version: p.version,
      prediction: p.predictedClass,
      label: outcome.label,
      correct: outcome.correct,
    };
    if (outcome.kind === 'repeated') return { status: 200, body: answer };
    feedbackTotal.inc({ model: p.model, version: p.version, correct: String(outcome.correct) });
    return { status: 201, body: answer };
  }

  async function report(modelName: unknown): Promise<ExperimentReport | NoExperimentReport> {
    const name = modelNameSchema.safeParse(modelName);
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
    const experimentId = experimentIdOf(routes, model);
    // One report path: verdicts only over a started experiment; otherwise counts and how to start one.
    if (experimentId !== undefined) {
      const current = await fromStore(logger, 'reading the experiment report', () =>
        evidence.experimentReport({
          model,
          experimentId,
          lookEveryMs: deps.experimentLookMs ?? 60_000,
          driftOf: async (version) =>
            (await driftOfInstances(route.versions[version]?.instances ?? []))?.psiMax ?? null,
        }),
      );
      if (current) return current;
    }
    const [stored, drift] = await Promise.all([
      fromStore(logger, 'reading the operational counts', () => evidence.evidence({ model })),
      Promise.all(
        Object.entries(route.versions).map(
          async ([version, v]) => [version, (await driftOfInstances(v.instances))?.psiMax ?? null] as const,
        ),
      ),
    ]);
    return noExperimentReport({
      model,
      weights: route.policy.variants.map((v) => ({ version: v.version, weight: v.weight })),
      control: controlIfStartedNow(route.policy),
      evidence: stored.versions,
      since: stored.since,
      driftPsiMax: new Map(drift),
    });
  }

  const router = Router();
  router.post('/feedback', ...jsonBody('16kb'), async function postFeedback(req, res) {
    const result = await feedback(req.body);
    res.status(result.status).json(result.body);
  });
  /** GET /predictions, also behind GraphQL's `predictions` query (the caller checks the token). */
  async function predictions(query: unknown) {
    const filter = parsePredictionsQuery(query as Record<string, unknown>, {
      modelInQuery: true,
      usage: 'GET /predictions takes model, version, since, until, limit, cursor, feedback',
    });
    return fromStore(logger, 'listing predictions', () => evidence.predictions(filter));
  }

  router.get('/experiments/:model', async function getExperiment(req, res) {
    res.json(await report(req.params.model));
  });
  router.get('/predictions', requireAdminToken(deps.adminToken), async function getPredictions(req, res) {
    res.json(await predictions(req.query));
  });
  return { router, feedback, report, predictions };
}
