/** `POST /models/:m/rollouts`, `GET /models/:m/rollouts/current`,
 * `POST /models/:m/rollouts/current/pause|resume|abort`: thin translations onto the controller. */
import { type RequestHandler, Router } from 'express';
import { AppError } from '../../common/errors';
import type { Actor } from '../store/model-store';
import { assertName } from '../store/paths';
import type { RolloutController } from './executor';
import { rolloutView } from './view';

export function rolloutRouter(options: {
  controller: RolloutController;
  admin: RequestHandler;
  json: RequestHandler[];
  actorOf: (res: Parameters<RequestHandler>[1]) => Actor;
  now: () => number;
}): Router {
  const { controller, admin, json, actorOf, now } = options;
  const router = Router();
  const model = (raw: unknown) => assertName('model', String(raw ?? ''));

  router.post('/models/:model/rollouts', admin, ...json, async (req, res) => {
    const m = model(req.params.model);
    if (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body))
      throw new AppError(
        'invalid_input',
        'send a JSON object like {"candidate": "3"} (see DESIGN.md, "Rollouts")',
      );
    const state = await controller.start(m, req.body, actorOf(res));
    res.setHeader('Location', `/models/${m}/rollouts/current`);
    res.status(201).json(rolloutView(state, now()));
  });

  router.get('/models/:model/rollouts/current', async (req, res) => {
    const m = model(req.params.model);
    const state = await controller.current(m);
    if (!state)
      throw new AppError(
        'not_found',
        `model "${m}" has no rollout; start one with \`modelgate rollout start ${m} VERSION\``,
      );
    res.setHeader('Cache-Control', 'no-cache');
    res.json(rolloutView(state, now()));
  });

  for (const verb of ['pause', 'resume', 'abort'] as const) {
    router.post(`/models/:model/rollouts/current/${verb}`, admin, async (req, res) => {
      const m = model(req.params.model);
      const state = await controller[verb](m, actorOf(res));
      res.json(rolloutView(state, now()));
    });
  }
  return router;
}
