/** Serialises writes to one store across processes (two registries on one volume) and within this
 * one. The lock is a small file created with link(2), which is atomic and fails if the file exists,
 * and it is held only for the milliseconds of a read-modify-write, never while an upload is checked.
 *
 * Why not proper-lockfile: it detects stale locks by mtime only, so after a SIGKILL every restart
 * waits out the stale period. The owner's pid tells us at once that the holder is gone; the age limit
 * remains for holders on another host sharing the volume. */

import { link, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { AppError } from '../../common/errors';
import { ownerAlive, PROCESS_INSTANCE, tempName } from './atomic-file';

interface Owner {
  pid: number;
  instance: string;
  host: string;
  at: number;
}

export interface StoreLockOptions {
  /** A lock older than this is taken over even if its owner's pid cannot be checked (other host). */
  staleMs?: number;
  /** How long to wait for the lock before giving up with a 503. */
  timeoutMs?: number;
  now?: () => number;
}

export interface StoreLock {
  /** Runs `fn` while holding the lock; calls from this process queue rather than spin. */
  withLock<T>(fn: () => Promise<T>): Promise<T>;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createStoreLock(dir: string, options: StoreLockOptions = {}): StoreLock {
  const lockPath = path.join(dir, '.registry.lock');
  const staleMs = options.staleMs ?? 30_000;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const now = options.now ?? Date.now;
  const host = hostname();
  let queue: Promise<unknown> = Promise.resolve();

  function isStale(raw: string): boolean {
    let owner: Owner;
    try {
      owner = JSON.parse(raw) as Owner;
    } catch {
      // link() publishes the file whole, so unparseable content was not written by us: treat as stale.
      return true;
    }
    if (now() - owner.at > staleMs) return true;
    return owner.host === host && !ownerAlive(owner.pid, owner.instance);
  }

  /** Moves a stale lock aside. rename() lets only one contender win; the loser sees ENOENT. If the
   * file we moved is not the stale one we judged (someone replaced it in between), it is put back. */
  async function breakStale(judged: string): Promise<void> {
    const grave = path.join(dir, tempName('stale-lock'));
    try {
      await rename(lockPath, grave);
    } catch {
      return;
    }
    const moved = await readFile(grave, 'utf8').catch(() => judged);
    if (moved !== judged) await link(grave, lockPath).catch(() => undefined);
    await rm(grave, { force: true });
  }

  async function acquire(): Promise<void> {
    const owner: Owner = { pid: process.pid, instance: PROCESS_INSTANCE, host, at: now() };
    const draft = path.join(dir, tempName('lock'));
    const deadline = Date.now() + timeoutMs;
    try {
      // Inside the try: on a full disk writeFile creates the draft, then fails to fill it.
      await writeFile(draft, JSON.stringify(owner));
      for (let attempt = 0; ; attempt++) {
        try {
          await link(draft, lockPath);
          return;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
        const held = await readFile(lockPath, 'utf8').catch(() => undefined);
        if (held !== undefined && isStale(held)) {
          await breakStale(held);
          continue;
        }
        if (Date.now() > deadline) {
          throw new AppError(
            'not_ready',
            'the model store is locked by another registry process; retry shortly',
            {
              lock: lockPath,
            },
            { 'Retry-After': '1' },
          );
        }
        await delay(Math.min(5 * 2 ** Math.min(attempt, 4), 50));
      }
    } finally {
      await rm(draft, { force: true });
    }
  }

  async function release(): Promise<void> {
    await rm(lockPath, { force: true });
  }

  return {
    withLock<T>(fn: () => Promise<T>): Promise<T> {
      const run = queue.then(async () => {
        await acquire();
        try {
          return await fn();
        } finally {
          await release();
        }
      });
      queue = run.catch(() => undefined);
      return run;
    },
  };
}
