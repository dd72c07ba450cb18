/** Starts real modelgate services as child processes on 127.0.0.1 and reads the port each one bound
 * (services log `{"event":"listening","port":N}` when started with PORT=0). */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

export const ROOT = path.resolve(__dirname, '..', '..');
export const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

export interface Service {
  child: ChildProcess;
  port: number;
  url: string;
  /** Every line the process printed so far (stdout and stderr). */
  lines: string[];
  /** Resolves with the first line matching, including ones already printed. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartOptions {
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
  /** Print the child's output as it comes, for debugging a failing test. */
  echo?: boolean;
}

/** A registry opens DATABASE_URL (experiments live there); a test that names none gets its own
 * throwaway SQLite file rather than the checkout's ./data. */
function ownDatabase(args: string[], env: StartOptions['env']): Record<string, string> {
  if (args[0] !== 'registry' || env?.DATABASE_URL) return {};
  const dir = mkdtempSync(path.join(os.tmpdir(), 'modelgate-registry-db-'));
  return { DATABASE_URL: `sqlite:${path.join(dir, 'modelgate.db')}` };
}

export function startService(args: string[], options: StartOptions = {}): Promise<Service> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: '0',
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      ...ownDatabase(args, options.env),
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const onLine = (line: string) => {
    lines.push(line);
    if (options.echo) process.stderr.write(`[${args[0]}] ${line}\n`);
    for (const w of [...waiters]) {
      if (w.pattern.test(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', onLine);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const waitForLine = (pattern: RegExp, timeoutMs = 30_000) =>
    new Promise<string>((resolve, reject) => {
      const found = lines.find((l) => pattern.test(l));
      if (found) return resolve(found);
      const timer = setTimeout(() => {
        reject(
          new Error(
            `timed out waiting for ${pattern} from ${args.join(' ')}; output:\n${lines.slice(-30).join('\n')}`,
          ),
        );
      }, timeoutMs);
      waiters.push({
        pattern,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(
          new Error(
            `${args.join(' ')} exited with ${code} before printing ${pattern}; output:\n${lines.slice(-30).join('\n')}`,
          ),
        );
      });
    });

  return waitForLine(/"event":"listening"/, options.timeoutMs ?? 60_000).then((line) => {
    const { port } = JSON.parse(line) as { port: number };
    return {
      child,
      port,
      url: `http://127.0.0.1:${port}`,
      lines,
      waitForLine,
      stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        return exited;
      },
    };
  });
}

/** Runs the CLI to completion and returns its exit code and output. */
export function runCli(
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    // 'close', not 'exit': a child can exit before its piped output has all been read, and on a loaded
    // machine 'exit' then resolves with stdout still empty.
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
