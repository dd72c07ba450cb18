/** Runs `modelgate up` as a real process for a test: its output lines, the URLs from its banner, its
 * children by pid, and a stop that leaves nothing behind even when the test failed half-way. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { CLI, ROOT } from './processes';

export interface UpProcess {
  proc: ChildProcess;
  lines: string[];
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the banner's URLs once `modelgate is up` was printed. */
  banner(timeoutMs?: number): Promise<{ gateway: string; registry: string; token?: string }>;
  exited: Promise<number | null>;
  /** SIGKILLs up (or what started it) and every process below it (for afterAll). */
  kill(): void;
}

/** Pids whose parent is `pid`. */
export function childPids(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((s) => Number(s.trim()))
      .filter((n) => n > 0);
  } catch {
    return []; // ps exits 1 when there are none
  }
}

/** Every process below `pid`, children before grandchildren. */
export function descendantPids(pid: number): number[] {
  const children = childPids(pid);
  return [...children, ...children.flatMap(descendantPids)];
}

export function commandOf(pid: number): string {
  try {
    return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Live instances of `model/version` as the gateway's /model/info shows them (0 when not listed). */
export async function liveInstances(gateway: string, model: string, version: string): Promise<number> {
  const info = (await (await fetch(`${gateway}/model/info`)).json()) as {
    models: { name: string; versions: { version: string; live_instances: number }[] }[];
  };
  return (
    info.models.find((m) => m.name === model)?.versions.find((v) => v.version === version)?.live_instances ??
    0
  );
}

/** Waits until the gateway routes to every version shipped in models/. up's banner waits for that
 * too, but gives up after 20 s (cli/supervisor/gateway-routes.ts); waiting here as well makes a slow
 * machine fail the test with the version named, not with a 503 from a later request. */
export async function untilShippedVersionsLive(gateway: string, timeoutMs = 90_000): Promise<void> {
  for (const model of ['digits', 'penguins'])
    for (const version of readdirSync(`${ROOT}/models/${model}`).filter((name) => /^\d+$/.test(name)))
      await until(
        `${model} v${version} live in the gateway`,
        async () => (await liveInstances(gateway, model, version)) > 0,
        timeoutMs,
      );
}

export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Fails, naming the port, when something already listens on one of `ports` on 127.0.0.1: a test
 * that runs documented commands against the default ports needs them (CI is a clean machine). */
export async function assertPortsFree(ports: number[], why: string): Promise<void> {
  for (const port of ports) {
    const problem = await new Promise<string | undefined>((resolve) => {
      const probe = createServer();
      probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(undefined)));
    });
    if (problem)
      throw new Error(
        `port ${port} on 127.0.0.1 is not free (${problem}); ${why}. Free it (lsof -i :${port}).`,
      );
  }
}

export interface StartUpOptions {
  /** Default: the checkout. */
  cwd?: string;
  /** What starts up, before `args`; default `node dist/cli/main.js up`, e.g. `npm start --`. */
  command?: [string, ...string[]];
}

export function startUp(
  args: string[],
  env: Record<string, string | undefined>,
  options: StartUpOptions = {},
): UpProcess {
  const [program, ...before] = options.command ?? [process.execPath, CLI, 'up'];
  const proc = spawn(program, [...before, ...args], {
    cwd: options.cwd ?? ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const onLine = (line: string) => {
    lines.push(line);
    for (const w of [...waiters]) {
      if (w.pattern.test(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  createInterface({ input: proc.stdout! }).on('line', onLine);
  createInterface({ input: proc.stderr! }).on('line', onLine);
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));

  const waitForLine = (pattern: RegExp, timeoutMs = 90_000) => {
    const found = lines.find((l) => pattern.test(l));
    if (found) return Promise.resolve(found);
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no line matching ${pattern}; last output:\n${lines.slice(-30).join('\n')}`)),
        timeoutMs,
      );
      waiters.push({
        pattern,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
    });
  };

  const kill = () => {
    if (proc.pid === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    for (const pid of descendantPids(proc.pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    proc.kill('SIGKILL');
  };

  return {
    proc,
    lines,
    waitForLine,
    exited,
    kill,
    banner: async (timeoutMs = 90_000) => {
      await waitForLine(/^modelgate is up$/, timeoutMs);
      const url = async (name: string) =>
        /(http:\/\/\S+)/.exec(await waitForLine(new RegExp(`^ {2}${name}\\s+http`)))![1]!;
      const tokenLine = lines.find((l) => /^ {2}admin token\s+[0-9a-f]{16,}/.test(l));
      return {
        gateway: await url('gateway'),
        registry: await url('registry'),
        token: tokenLine ? /admin token\s+([0-9a-f]+)/.exec(tokenLine)![1] : undefined,
      };
    },
  };
}
