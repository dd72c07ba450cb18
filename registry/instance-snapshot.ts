/** The live-instance table, saved in the store so a restarted registry serves the instances it knew
 * instead of an empty routing table until every model-server has heartbeated again (which made
 * gateways answer 503 for up to a heartbeat interval).
 *
 * Why persist rather than hold back an empty table for a grace period: the restarted registry can
 * answer at once with the right table, policy writes and reads are not delayed, and nothing depends
 * on guessing how long heartbeats take. Restored instances get one INSTANCE_TTL_MS to heartbeat
 * again and are dropped like any silent instance if they don't; a snapshot older than `maxAgeMs`
 * (the registry was down long enough for its instances to have moved) is ignored. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Logger } from '../common/logger';
import type { Instance } from './instances';
import { writeFileAtomic } from './store/atomic-file';

/** A dot file: never taken for a model folder, never removed as a temp file. */
export const SNAPSHOT_FILE = '.instances.json';

const snapshotSchema = z.object({
  saved_at: z.number(),
  instances: z.array(
    z.object({
      model: z.string(),
      version: z.string(),
      url: z.string(),
      backend: z.string().nullable(),
    }),
  ),
});

export type SavedInstance = z.output<typeof snapshotSchema>['instances'][number];

/** Instances saved less than `maxAgeMs` ago, or none (no file, unreadable, too old). */
export async function loadSnapshot(options: {
  root: string;
  now(): number;
  maxAgeMs: number;
  logger: Logger;
}): Promise<SavedInstance[]> {
  let raw: string;
  try {
    raw = await readFile(path.join(options.root, SNAPSHOT_FILE), 'utf8');
  } catch {
    return [];
  }
  let parsed: z.output<typeof snapshotSchema>;
  try {
    parsed = snapshotSchema.parse(JSON.parse(raw));
  } catch (err) {
    options.logger.warn('ignoring an unreadable instance snapshot', { error: String(err) });
    return [];
  }
  const ageMs = options.now() - parsed.saved_at;
  if (ageMs > options.maxAgeMs) {
    options.logger.info('instance snapshot too old to restore', { ageMs, maxAgeMs: options.maxAgeMs });
    return [];
  }
  return parsed.instances;
}

export interface SnapshotWriter {
  /** Saves `list` if it differs from the last save or that save is older than `refreshMs`. */
  save(list: readonly Instance[]): void;
  /** Resolves when no save is in flight. */
  flush(): Promise<void>;
}

export function createSnapshotWriter(options: {
  root: string;
  now(): number;
  /** Re-saves an unchanged table this often, so its saved_at stays recent. */
  refreshMs: number;
  logger: Logger;
  /** Counts a failed save (a full disk must not stop the registry, only be seen). */
  onError(err: unknown): void;
}): SnapshotWriter {
  const file = path.join(options.root, SNAPSHOT_FILE);
  let lastKey: string | undefined;
  let lastSavedAt = Number.NEGATIVE_INFINITY;
  let inFlight: Promise<void> = Promise.resolve();
  let pending: readonly Instance[] | undefined;

  const write = async () => {
    while (pending) {
      const list = pending;
      pending = undefined;
      const instances = list.map((i) => ({
        model: i.model,
        version: i.version,
        url: i.url,
        backend: i.backend ?? null,
      }));
      const key = JSON.stringify(instances);
      try {
        await writeFileAtomic(file, `${JSON.stringify({ saved_at: options.now(), instances })}\n`);
        lastKey = key;
        lastSavedAt = options.now();
      } catch (err) {
        options.onError(err);
        options.logger.warn('could not save the instance snapshot', { error: String(err) });
      }
    }
  };

  return {
    save(list) {
      const key = JSON.stringify(
        list.map((i) => ({ model: i.model, version: i.version, url: i.url, backend: i.backend ?? null })),
      );
      if (key === lastKey && options.now() - lastSavedAt < options.refreshMs) return;
      // No file until there is something to restore (a store with no instances stays as it was).
      if (lastKey === undefined && list.length === 0) return;
      const idle = pending === undefined;
      pending = list;
      if (idle) inFlight = inFlight.then(write);
    },
    flush: () => inFlight,
  };
}
