/** Whether and when a supervised child that exited is started again: a pure function of the exit's
 * facts and the child's earlier runs, with PM2's numbers as defaults (lib/God.js `handleExit`,
 * lib/Worker.js for the backoff reset). No clock and no I/O here; the supervisor passes `now`. */

export interface RestartPolicy {
  /** A run shorter than this is unstable (PM2 `min_uptime`). */
  minUptimeMs: number;
  /** This many unstable runs in a row and the child is given up on (PM2 `max_restarts`, "errored"). */
  maxUnstableRestarts: number;
  /** First delay; each further restart waits `factor` times longer (PM2 `exp_backoff_restart_delay`). */
  initialDelayMs: number;
  factor: number;
  maxDelayMs: number;
  /** A run this long resets the backoff to the first delay (PM2 `EXP_BACKOFF_RESET_TIMER`). */
  resetAfterMs: number;
  /** Exit codes meaning "done, do not restart" (PM2 `stop_exit_codes`; none by default). */
  stopExitCodes: readonly number[];
}

export const PM2_DEFAULTS: RestartPolicy = {
  minUptimeMs: 1000,
  maxUnstableRestarts: 16,
  initialDelayMs: 100,
  factor: 1.5,
  maxDelayMs: 15_000,
  resetAfterMs: 30_000,
  stopExitCodes: [],
};

/** One earlier run of the child, oldest first in the history. */
export interface PastRun {
  startedAt: number;
  endedAt: number;
}

export interface ChildExit {
  startedAt: number;
  code: number | null;
  signal: string | null;
  /** The supervisor asked for this exit (stopping the stack, or a version removed). */
  requested: boolean;
}

export type RestartDecision = { restartInMs: number } | { giveUp: string };

export function restartDecision(
  history: readonly PastRun[],
  exit: ChildExit,
  now: number,
  policy: RestartPolicy = PM2_DEFAULTS,
): RestartDecision {
  if (exit.requested) return { giveUp: 'stopped on request' };
  if (exit.code !== null && policy.stopExitCodes.includes(exit.code)) {
    return { giveUp: `exited with code ${exit.code}, which means stop` };
  }
  const uptime = (run: PastRun) => run.endedAt - run.startedAt;
  const runs = [...history, { startedAt: exit.startedAt, endedAt: now }];

  let unstable = 0;
  for (let i = runs.length - 1; i >= 0 && uptime(runs[i]!) < policy.minUptimeMs; i--) unstable++;
  if (unstable >= policy.maxUnstableRestarts) {
    return {
      giveUp: `${unstable} runs in a row ended within ${policy.minUptimeMs} ms of starting; not restarting again`,
    };
  }

  // Restarts since the last run that stayed up long enough to reset the backoff.
  let quick = 0;
  for (let i = runs.length - 2; i >= 0 && uptime(runs[i]!) < policy.resetAfterMs; i--) quick++;
  if (uptime(runs[runs.length - 1]!) >= policy.resetAfterMs) quick = 0;
  const delay = policy.initialDelayMs * policy.factor ** quick;
  return { restartInMs: Math.round(Math.min(policy.maxDelayMs, delay)) };
}
