/** One supervised child of `modelgate up`: forked (never detached, so it cannot outlive us unnoticed)
 * with an IPC channel, its output prefixed with its name, its port learnt from a `listening`
 * message, restarted after a crash as `restartDecision` says, and stopped in two stages (SIGTERM,
 * then SIGKILL after a deadline), as PM2's `killProcess` does. */
import { type ChildProcess, fork } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { SupervisorMessage } from '../../common/supervised';
import { type PastRun, PM2_DEFAULTS, type RestartPolicy, restartDecision } from './restart-decision';

export interface ChildSpec {
  /** Shown as the `[name]` prefix and in messages, e.g. `registry`, `digits/3`. */
  name: string;
  /** The modelgate CLI script and the command to run, e.g. ['registry']. */
  cli: string;
  args: string[];
  env: Record<string, string>;
  /** The port asked for; 0 lets the OS pick. A fixed one that is busy is a `PortBusyError`. */
  port: number;
}

export interface ChildOptions {
  spec: ChildSpec;
  /** No `listening` message by then and the start failed: the child is killed and restarted. */
  startTimeoutMs: number;
  /** Between SIGTERM and SIGKILL when stopping. */
  killTimeoutMs: number;
  policy?: RestartPolicy;
  now?: () => number;
  out: (line: string) => void;
  err: (line: string) => void;
  /** Supervisor notes (exits, restarts, give-ups), already worded for a person. */
  note: (text: string) => void;
  /** After a child gave up, or its fixed port was busy: the caller decides what that means. */
  onGiveUp?: (error: Error) => void;
}

export class PortBusyError extends Error {
  constructor(
    readonly child: string,
    readonly port: number,
  ) {
    super(`${child} could not listen on port ${port}: it is already in use`);
  }
}

export interface SupervisedChild {
  readonly name: string;
  /** The URL of the current run once it reported `listening`. */
  url(): string | undefined;
  /** Resolves with the URL of the next (or current) successful start; rejects if the child is given
   * up on before that. */
  listening(): Promise<string>;
  start(): void;
  /** Stops it for good: SIGTERM, SIGKILL after the deadline; resolves once it exited. */
  stop(): Promise<void>;
  pid(): number | undefined;
}

export function superviseChild(options: ChildOptions): SupervisedChild {
  const { spec, note } = options;
  const now = options.now ?? Date.now;
  const policy = options.policy ?? PM2_DEFAULTS;
  const history: PastRun[] = [];
  let child: ChildProcess | undefined;
  let url: string | undefined;
  let stopping = false;
  let gaveUp: Error | undefined;
  let restartTimer: NodeJS.Timeout | undefined;
  let port = spec.port;
  let waiters: { resolve: (url: string) => void; reject: (err: Error) => void }[] = [];

  const giveUp = (error: Error) => {
    gaveUp = error;
    for (const w of waiters.splice(0)) w.reject(error);
    options.onGiveUp?.(error);
  };

  const run = () => {
    restartTimer = undefined;
    if (stopping) return;
    const startedAt = now();
    let listened = false;
    let requested = false;
    let failure: Error | undefined;
    const proc = fork(spec.cli, spec.args, {
      env: { ...spec.env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    child = proc;
    createInterface({ input: proc.stdout! }).on('line', options.out);
    createInterface({ input: proc.stderr! }).on('line', options.err);
    const deadline = setTimeout(() => {
      note(`${spec.name} did not report listening within ${options.startTimeoutMs} ms; killing it`);
      proc.kill('SIGKILL');
    }, options.startTimeoutMs);

    proc.on('message', (raw) => {
      const msg = raw as SupervisorMessage;
      if (msg?.type === 'listening' && typeof msg.port === 'number') {
        listened = true;
        clearTimeout(deadline);
        // A restart keeps the port the first run got, so the URLs handed to others stay right.
        port = msg.port;
        url = msg.url;
        for (const w of waiters.splice(0)) w.resolve(msg.url);
      } else if (msg?.type === 'listen_failed' && msg.code === 'EADDRINUSE' && spec.port !== 0) {
        failure = new PortBusyError(spec.name, spec.port);
      }
    });
    proc.once('error', (err) => note(`${spec.name}: ${err.message}`));
    proc.once('exit', (code, signal) => {
      clearTimeout(deadline);
      if (child === proc) child = undefined;
      url = undefined;
      requested = stopping;
      if (requested) return;
      if (failure) return giveUp(failure);
      const decision = restartDecision(history, { startedAt, code, signal, requested }, now(), policy);
      history.push({ startedAt, endedAt: now() });
      if (history.length > policy.maxUnstableRestarts + 1) history.shift();
      const how = signal ?? `code ${code}`;
      const when = listened ? 'exited' : 'failed to start';
      if ('giveUp' in decision) {
        note(`${spec.name} ${when} (${how}); ${decision.giveUp}`);
        return giveUp(new Error(`${spec.name} ${when} (${how}): ${decision.giveUp}`));
      }
      note(`${spec.name} ${when} (${how}); restarting in ${decision.restartInMs} ms`);
      restartTimer = setTimeout(run, decision.restartInMs);
    });
  };

  return {
    name: spec.name,
    url: () => url,
    pid: () => child?.pid,
    listening: () =>
      new Promise((resolve, reject) => {
        if (url !== undefined) resolve(url);
        else if (gaveUp) reject(gaveUp);
        else waiters.push({ resolve, reject });
      }),
    start: run,
    stop: () => {
      stopping = true;
      if (restartTimer) clearTimeout(restartTimer);
      for (const w of waiters.splice(0)) w.reject(new Error(`${spec.name} was stopped`));
      waiters = [];
      const proc = child;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const killer = setTimeout(() => proc.kill('SIGKILL'), options.killTimeoutMs);
        proc.once('exit', () => {
          clearTimeout(killer);
          resolve();
        });
        proc.kill('SIGTERM');
      });
    },
  };
}
