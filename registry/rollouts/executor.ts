/** The one executor: it alone writes a rollout's policy, calls its hooks and persists its state.
 * Each tick reads the policy and the experiment report, asks decide() what to do, stores the decision
 * with its actions marked pending, carries them out, then clears them. A SIGKILL anywhere in between
 * leaves either the old decision or the new one with its pending actions, which the next start
 * replays, so a restarted registry resumes the same step.
 *
 * Policy writes go through ModelStore.updatePolicy with If-Match, the path a person's `traffic set`
 * takes, so they are serialised with people's writes, audited (who: rollout), and a concurrent change
 * by a person wins and pauses the rollout instead of being overwritten. */
import { AppError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import type { Policy } from '../../common/wire';
import { appendAudit } from '../audit-log';
import type { Actor, ModelStore } from '../store/model-store';
import { defaultPolicy, readPolicy } from '../store/policies';
import { listModels, listVersions } from '../store/versions';
import {
  type Action,
  abort,
  type Decision,
  decide,
  type HookName,
  type HookOutcome,
  pause,
  resume,
  startRollout,
} from './decide';
import type { RolloutMetrics } from './metrics';
import { bodyOf, type PolicyBody, samePolicy } from './policy-shapes';
import type { RolloutReport } from './report';
import { archiveRollout, type RolloutFile, readRolloutFile, writeRolloutFile } from './rollout-file';
import { parseRolloutSpec } from './spec';
import { isFinal, type RolloutState } from './state';
import type { WebhookResult } from './webhooks';

/** What the rollout needs from the evidence store: the experiment it runs and its report. */
export interface RolloutEvidenceSource {
  startExperiment(o: {
    model: string;
    control: string;
    candidates: string[];
    unit: 'request' | 'user';
    /** The split the experiment starts under, for its sample-ratio check. */
    weights: Record<string, number>;
    /** A bandit moves the weights by the outcomes: the report must say its estimates are biased. */
    adaptive: boolean;
  }): Promise<string | null>;
  stopExperiment(o: { model: string; id: string }): Promise<void>;
  report(o: { model: string; experimentId: string | null; alpha: number }): Promise<RolloutReport | null>;
}

export interface RolloutControllerDeps {
  root: string;
  store: ModelStore;
  evidence: RolloutEvidenceSource;
  logger: Logger;
  metrics: RolloutMetrics;
  now(): number;
  newId(): string;
  webhook(o: { url: string; payload: unknown }): Promise<WebhookResult>;
  /** Rebuilds the routing table after the executor changed a policy. */
  afterPolicyWrite(): Promise<void>;
  /** Longest wait between two looks at the evidence. */
  tickMs: number;
}

export interface RolloutController {
  /** Loads every model's rollout file, replays pending actions and starts the ticks. */
  begin(): Promise<void>;
  start(model: string, body: unknown, actor: Actor): Promise<RolloutState>;
  current(model: string): Promise<RolloutState | null>;
  pause(model: string, actor: Actor): Promise<RolloutState>;
  resume(model: string, actor: Actor): Promise<RolloutState>;
  abort(model: string, actor: Actor): Promise<RolloutState>;
  /** A policy or alias was written by a person: look at that model now. */
  poke(model: string): void;
  /** One pass over the active rollouts (the timer calls it; tests may too). */
  tick(): Promise<void>;
  close(): Promise<void>;
}

const ROLLOUT_ACTOR = 'rollout';

/** Fields whose change must reach the file; gates and texts are recomputed on every tick. */
function durableKey(s: RolloutState): string {
  return JSON.stringify([
    s.phase,
    s.stepIndex,
    s.stepStartedAt,
    s.expected,
    s.hookHold,
    s.bandit,
    s.pausedReason,
    s.history.length,
  ]);
}

export function createRolloutController(deps: RolloutControllerDeps): RolloutController {
  const { root, store, evidence, logger, metrics } = deps;
  const latest = new Map<string, RolloutState>();
  const active = new Set<string>();
  const queues = new Map<string, Promise<unknown>>();
  const wakeAt = new Map<string, number | null>();
  let timer: NodeJS.Timeout | undefined;
  let timerAt = Number.POSITIVE_INFINITY;
  let closed = false;
  let ticking: Promise<void> = Promise.resolve();

  /** Calls for one model run one at a time: ticks, API calls and replays never interleave. */
  function serial<T>(model: string, fn: () => Promise<T>): Promise<T> {
    const prev = queues.get(model) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    queues.set(
      model,
      run.catch(() => undefined),
    );
    return run;
  }

  async function currentPolicy(model: string): Promise<Policy> {
    const policy = (await readPolicy(root, model)) ?? defaultPolicy(await listVersions(root, model));
    if (!policy) throw new AppError('model_not_found', `model "${model}" has no versions`);
    return policy;
  }

  async function loadReport(state: RolloutState): Promise<RolloutReport | null> {
    try {
      return await evidence.report({
        model: state.model,
        experimentId: state.experimentId,
        alpha: state.spec.alpha,
      });
    } catch (err) {
      logger.warn('could not compute the experiment report for a rollout', {
        model: state.model,
        rollout: state.id,
        error: (err as Error).message,
      });
      return null;
    }
  }

  async function writePolicy(state: RolloutState, target: PolicyBody): Promise<void> {
    const current = await currentPolicy(state.model);
    if (samePolicy(bodyOf(current), target)) return;
    try {
      await store.updatePolicy(state.model, target, current.revision, {
        who: ROLLOUT_ACTOR,
        requestId: state.id,
      });
    } catch (err) {
      // A person wrote in between: their change stands, the next decision sees it and pauses.
      if (err instanceof AppError && err.code === 'stale_revision') return;
      throw err;
    }
    await deps.afterPolicyWrite();
  }

  function payloadOf(state: RolloutState, hook: HookName, report: RolloutReport | null) {
    return {
      hook,
      rollout_id: state.id,
      model: state.model,
      candidate: state.spec.candidate,
      control: state.spec.control,
      state: state.phase,
      step_index: state.stepIndex,
      steps: state.spec.steps.length,
      gates: state.gates,
      reason: state.history.at(-1)?.text ?? null,
      evidence: report,
    };
  }

  async function audit(
    state: RolloutState,
    action: Extract<Action, { type: 'audit' }>,
    report: RolloutReport | null,
  ) {
    const t = action.transition;
    await appendAudit(root, {
      at: new Date(t.at).toISOString(),
      who: ROLLOUT_ACTOR,
      action: 'rollout.transition',
      model: state.model,
      request_id: state.id,
      before: { state: t.from },
      after: { state: t.to, step_index: t.step_index, reason: t.reason },
      why: t.text,
      evidence: {
        gates: action.gates,
        arms: report?.arms ?? null,
        comparisons: report?.comparisons ?? null,
        srm: report?.srm ?? null,
      },
    });
    metrics.transition(state.model, state.spec.candidate, t.reason);
    logger.info('rollout transition', {
      model: state.model,
      rollout: state.id,
      from: t.from,
      to: t.to,
      reason: t.reason,
      step: t.step_index + 1,
      why: t.text,
    });
  }

  /** Carries out actions in order; returns the answer of a gating hook, if one was called. */
  async function run(
    state: RolloutState,
    actions: readonly Action[],
    report: RolloutReport | null,
    replay = false,
  ): Promise<HookOutcome | undefined> {
    let outcome: HookOutcome | undefined;
    for (const a of actions) {
      switch (a.type) {
        case 'write_policy':
          await writePolicy(state, a.policy);
          break;
        case 'stop_experiment':
          if (state.experimentId) {
            await evidence
              .stopExperiment({ model: state.model, id: state.experimentId })
              .catch((err: unknown) => {
                logger.warn('could not stop the experiment of a finished rollout', {
                  model: state.model,
                  experiment: state.experimentId,
                  error: (err as Error).message,
                });
              });
          }
          break;
        case 'audit':
          await audit(state, a, report);
          break;
        case 'call_hook': {
          // A gating hook's answer feeds the very next decision; on a replay that decision is gone,
          // so the hook is simply asked again later.
          if (replay && a.hook !== 'rollback') break;
          const url = state.spec.webhooks[a.hook];
          if (!url) break;
          const result = await deps.webhook({ url, payload: payloadOf(state, a.hook, report) });
          logger.info('rollout webhook called', {
            model: state.model,
            hook: a.hook,
            ok: result.ok,
            detail: result.detail,
          });
          if (a.hook !== 'rollback') outcome = { hook: a.hook, ok: result.ok, detail: result.detail };
          break;
        }
      }
    }
    return outcome;
  }

  async function persist(model: string, file: RolloutFile): Promise<void> {
    await writeRolloutFile(root, model, file);
    latest.set(model, file.state);
  }

  /** Stores a decision with its actions pending, does them, clears them; follows a hook's answer. */
  async function commit(
    before: RolloutState,
    first: Decision,
    report: RolloutReport | null,
  ): Promise<RolloutState> {
    let d = first;
    let prev = before;
    for (let round = 0; round < 4; round++) {
      const changed = durableKey(prev) !== durableKey(d.next);
      if (changed || d.actions.length > 0) await persist(d.next.model, { state: d.next, pending: d.actions });
      const outcome = await run(d.next, d.actions, report);
      if (d.actions.length > 0) await persist(d.next.model, { state: d.next, pending: [] });
      latest.set(d.next.model, d.next);
      wakeAt.set(d.next.model, d.wakeAt);
      if (!outcome) break;
      prev = d.next;
      const policy = bodyOf(await currentPolicy(d.next.model));
      d = decide(d.next, { report, policy, hook: outcome }, deps.now());
    }
    metrics.show(d.next);
    if (isFinal(d.next.phase)) active.delete(d.next.model);
    else active.add(d.next.model);
    return d.next;
  }

  async function load(model: string): Promise<RolloutFile | null> {
    const file = await readRolloutFile(root, model);
    if (!file) return null;
    if (file.pending.length > 0) {
      logger.warn('replaying rollout actions cut off by a stop', {
        model,
        rollout: file.state.id,
        actions: file.pending.map((a) => a.type),
      });
      await run(file.state, file.pending, null, true);
      await persist(model, { state: file.state, pending: [] });
      return { state: file.state, pending: [] };
    }
    return file;
  }

  /** The experiment starts once the first step's policy is in place (an experiment needs its
   * candidate in the split), and again after a stop cut that off. */
  async function ensureExperiment(state: RolloutState): Promise<RolloutState> {
    if (state.experimentId !== null || isFinal(state.phase)) return state;
    const { spec } = state;
    let id: string | null;
    try {
      id = await evidence.startExperiment({
        model: state.model,
        control: spec.control,
        candidates: [spec.candidate],
        unit: spec.unit,
        weights: Object.fromEntries(state.expected.variants.map((v) => [v.version, v.weight])),
        adaptive: spec.strategy === 'bandit',
      });
    } catch (err) {
      logger.warn('could not start the experiment of a rollout; trying again on the next tick', {
        model: state.model,
        rollout: state.id,
        error: (err as Error).message,
      });
      return state;
    }
    if (id === null) return state;
    const next = { ...state, experimentId: id };
    await persist(state.model, { state: next, pending: [] });
    return next;
  }

  async function tickModel(model: string): Promise<void> {
    await serial(model, async () => {
      const file = await load(model);
      if (!file || isFinal(file.state.phase)) {
        active.delete(model);
        if (file) metrics.show(file.state);
        return;
      }
      const report = await loadReport(file.state);
      const policy = bodyOf(await currentPolicy(model));
      await commit(
        file.state,
        decide(latest.get(model) ?? file.state, { report, policy }, deps.now()),
        report,
      );
    });
  }

  function requireRollout(model: string, file: RolloutFile | null): RolloutFile {
    if (!file)
      throw new AppError(
        'not_found',
        `model "${model}" has no rollout; start one with \`modelgate rollout start ${model} VERSION\``,
      );
    return file;
  }

  function refuseFinal(state: RolloutState, verb: string): void {
    if (isFinal(state.phase))
      throw new AppError(
        'conflict',
        `the rollout of ${state.spec.candidate} already ended (${state.phase}); there is nothing to ${verb}`,
      );
  }

  function schedule(): void {
    if (closed) return;
    const now = deps.now();
    let at = now + deps.tickMs;
    for (const m of active) {
      const w = wakeAt.get(m);
      if (typeof w === 'number') at = Math.min(at, w);
    }
    at = Math.max(at, now + 20);
    if (timer && at >= timerAt) return;
    if (timer) clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(() => {
      timer = undefined;
      timerAt = Number.POSITIVE_INFINITY;
      ticking = controller.tick().finally(schedule);
    }, at - now);
  }

  const controller: RolloutController = {
    async begin() {
      for (const model of await listModels(root)) {
        try {
          const file = await serial(model, () => load(model));
          if (!file) continue;
          latest.set(model, file.state);
          metrics.show(file.state);
          if (!isFinal(file.state.phase)) active.add(model);
        } catch (err) {
          logger.error('could not read a rollout file; that rollout is not run', {
            model,
            error: (err as Error).message,
          });
        }
      }
      if (active.size > 0) logger.info('resuming rollouts', { models: [...active] });
      schedule();
    },

    start(model, body, actor) {
      return serial(model, async () => {
        const versions = await listVersions(root, model);
        if (versions.length === 0)
          throw new AppError(
            'model_not_found',
            `model "${model}" does not exist; \`modelgate models\` lists the models`,
          );
        const existing = await load(model);
        if (existing && !isFinal(existing.state.phase)) {
          throw new AppError(
            'conflict',
            `model "${model}" already has a rollout of ${existing.state.spec.candidate} (${existing.state.phase}); one rollout per model at a time: abort it first`,
            { rollout_id: existing.state.id },
          );
        }
        const policy = await currentPolicy(model);
        const spec = parseRolloutSpec(body, { model, versions, policy });
        const { state, actions } = startRollout({
          id: deps.newId(),
          model,
          spec,
          policy: bodyOf(policy),
          experimentId: null,
          now: deps.now(),
        });
        if (existing) await archiveRollout(root, model, existing.state);
        logger.info('rollout started', {
          model,
          rollout: state.id,
          candidate: spec.candidate,
          who: actor.who,
        });
        const started = await commit(
          { ...state, history: [] },
          { next: state, actions, wakeAt: deps.now() },
          null,
        );
        const withExperiment = await ensureExperiment(started);
        schedule();
        return withExperiment;
      });
    },

    async current(model) {
      const known = latest.get(model);
      if (known) return known;
      const file = await serial(model, () => readRolloutFile(root, model));
      return file?.state ?? null;
    },

    pause(model, actor) {
      return serial(model, async () => {
        const file = requireRollout(model, await load(model));
        const state = latest.get(model) ?? file.state;
        refuseFinal(state, 'pause');
        if (state.phase === 'paused') return state;
        return commit(state, pause(state, `paused by ${actor.who}`, deps.now()), null);
      });
    },

    resume(model, actor) {
      return serial(model, async () => {
        const file = requireRollout(model, await load(model));
        const state = latest.get(model) ?? file.state;
        refuseFinal(state, 'resume');
        if (state.phase !== 'paused')
          throw new AppError(
            'conflict',
            `the rollout is ${state.phase}, not paused; there is nothing to resume`,
          );
        const report = await loadReport(state);
        const d = resume(state, report, deps.now());
        const last = d.next.history.at(-1);
        if (last) last.text = `${last.text} (by ${actor.who})`;
        const next = await commit(state, d, report);
        schedule();
        return next;
      });
    },

    abort(model, actor) {
      return serial(model, async () => {
        const file = requireRollout(model, await load(model));
        const state = latest.get(model) ?? file.state;
        refuseFinal(state, 'abort');
        return commit(state, abort(state, actor.who, deps.now()), await loadReport(state));
      });
    },

    poke(model) {
      if (!active.has(model)) return;
      wakeAt.set(model, deps.now());
      schedule();
    },

    async tick() {
      for (const model of [...active]) {
        if (closed) return;
        try {
          await tickModel(model);
        } catch (err) {
          logger.error('rollout tick failed; retrying on the next tick', {
            model,
            error: (err as Error).message,
          });
        }
      }
    },

    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await ticking.catch(() => undefined);
      await Promise.all([...queues.values()]);
    },
  };
  return controller;
}
