/** A throwaway redis-server for tests on a free loopback port. Its append-only file is fsynced on
 * every write, so after `kill()` (SIGKILL, as a crash) `start()` brings the same data back on the
 * same port; `stop()` also deletes its directory. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from '../../bench/harness/free-port';

export interface RedisServer {
  url: string;
  port: number;
  start(): Promise<void>;
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'modelgate-redis-'));
  let child: ChildProcess | undefined;
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const proc = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--save',
          '',
          '--dir',
          dir,
          '--appendonly',
          'yes',
          '--appendfsync',
          'always',
          '--protected-mode',
          'no',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child = proc;
      const output: string[] = [];
      const timer = setTimeout(
        () => reject(new Error(`redis-server did not start:\n${output.join('\n')}`)),
        20_000,
      );
      createInterface({ input: proc.stdout! }).on('line', (line) => {
        output.push(line);
        if (/Ready to accept connections/.test(line)) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}:\n${output.join('\n')}`));
      });
    });
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill(signal);
    });
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    kill: () => kill('SIGKILL'),
    stop: async () => {
      await kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
