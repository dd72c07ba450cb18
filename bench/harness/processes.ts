/** Child processes the benchmark starts and measures: modelgate services (which log
 * `{"event":"listening","port":N}` when started with PORT=0) and foreign servers (HAProxy, uvicorn)
 * that are ready once a URL answers. Every process is tracked so a failed run still stops them all. */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from './free-port';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

export interface Proc {
  name: string;
  child: ChildProcess;
  pid: number;
  /** Last lines of output, kept short so a 10-minute soak does not grow the harness itself. */
  tail: string[];
  exited: Promise<number | null>;
  /** Calls `listener` with every line printed from now on; returns the unsubscribe function. */
  onLine(listener: (line: string) => void): () => void;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface Service extends Proc {
  port: number;
  url: string;
}

const TAIL_LINES = 40;

/** BENCH_PROFILE=gateway,model-server writes a V8 CPU profile of those services (on clean exit)
 * to bench/results/profiles, for `node dist/bench/profile-summary.js <file>`. */
function profileFlags(service: string): string[] {
  const wanted = (process.env.BENCH_PROFILE ?? '').split(',').map((s) => s.trim());
  if (!wanted.includes(service)) return [];
  return [
    '--cpu-prof',
    `--cpu-prof-dir=${path.join(ROOT, 'bench', 'results', 'profiles')}`,
    `--cpu-prof-name=${service}-${Date.now()}.cpuprofile`,
  ];
}

/** Every process started and not yet stopped, so `stopAll` can clean up after a failure. */
export class ProcessGroup {
  private readonly running = new Set<Proc>();

  spawn(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tail: string[] = [];
    const listeners = new Set<(line: string) => void>();
    const keep = (line: string) => {
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      for (const l of listeners) l(line);
    };
    createInterface({ input: child.stdout! }).on('line', keep);
    createInterface({ input: child.stderr! }).on('line', keep);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const proc: Proc = {
      name,
      child,
      pid: child.pid ?? -1,
      tail,
      exited,
      onLine: (listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
        const code = await exited;
        clearTimeout(kill);
        this.running.delete(proc);
        return code;
      },
    };
    this.running.add(proc);
    void exited.then(() => this.running.delete(proc));
    return proc;
  }

  /** Starts `modelgate <args>` with PORT=0 and resolves once it logs the port it bound. */
  async modelgate(name: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Service> {
    const flags = [...profileFlags(args[0] ?? ''), CLI, ...args];
    const base = { HOST: '127.0.0.1', LOG_FORMAT: 'json' };
    if (env.LOG_LEVEL && env.LOG_LEVEL !== 'info') {
      // Quieter than info there is no listening line to read the port from: pick one and poll.
      const port = await freePort();
      const proc = this.spawn(name, process.execPath, flags, { ...base, ...env, PORT: String(port) });
      await waitForUrl(proc, `http://127.0.0.1:${port}/metrics`, 120_000);
      return { ...proc, port, url: `http://127.0.0.1:${port}` };
    }
    const proc = this.spawn(name, process.execPath, flags, { ...base, PORT: '0', LOG_LEVEL: 'info', ...env });
    const line = await waitForLine(proc, /"event":"listening"/, 120_000);
    const { port } = JSON.parse(line) as { port: number };
    return { ...proc, port, url: `http://127.0.0.1:${port}` };
  }

  /** Starts a foreign server on a known port and resolves once `readyUrl` answers below 500. */
  async external(
    name: string,
    command: string,
    args: string[],
    port: number,
    readyUrl: string,
    env: NodeJS.ProcessEnv = {},
  ): Promise<Service> {
    const proc = this.spawn(name, command, args, env);
    await waitForUrl(proc, readyUrl, 120_000);
    return { ...proc, port, url: `http://127.0.0.1:${port}` };
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.running].map((p) => p.stop()));
  }
}

/** Resolves with the first output line matching `pattern`. The listening line comes early, so lines
 * are watched as they arrive rather than searched in the short tail. */
export function waitForLine(proc: Proc, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const found = proc.tail.find((l) => pattern.test(l));
    if (found) return resolve(found);
    const onLine = (line: string) => {
      if (!pattern.test(line)) return;
      cleanup();
      resolve(line);
    };
    const unsubscribe = proc.onLine(onLine);
    const timer = setTimeout(() => {
      cleanup();
      reject(
        new Error(`${proc.name}: no line matching ${pattern} in ${timeoutMs} ms\n${proc.tail.join('\n')}`),
      );
    }, timeoutMs);
    void proc.exited.then((code) => {
      cleanup();
      reject(new Error(`${proc.name} exited with ${code} before ${pattern}\n${proc.tail.join('\n')}`));
    });
    function cleanup() {
      clearTimeout(timer);
      unsubscribe();
    }
  });
}

/** Polls a URL until it answers with a status below 500 (foreign servers print no port line). */
export async function waitForUrl(proc: Proc, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc.exited.then(() => {
    exited = true;
  });
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${proc.name} exited before ${url} answered\n${proc.tail.join('\n')}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${proc.name}: ${url} did not answer in ${timeoutMs} ms\n${proc.tail.join('\n')}`);
}
