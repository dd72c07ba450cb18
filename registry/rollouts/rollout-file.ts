/** Where a rollout lives: `models/<m>/rollout.json`, beside the policy.json it drives, written with the
 * store's atomic write (temp file, fsync, rename). The latest rollout stays there after it ends, so
 * `rollout status` can show how it ended; starting the next one appends the old one to
 * `models/<m>/rollouts.jsonl` first.
 *
 * Why the store's files and not the evidence store: the rollout's state and the policy it changes
 * must survive and be repaired together, by the one process that writes both; the registry runs (and
 * serves its policy) with no database at all; and the evidence store is pruned by retention, while a
 * rollout's record, like the audit log, is kept. `pending` holds the actions decided but not yet
 * done, so a SIGKILL between "decided" and "written" replays them at start-up instead of losing
 * the step. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { appendDurable, writeFileAtomic } from '../store/atomic-file';
import { modelDir } from '../store/paths';
import type { Action } from './decide';
import type { RolloutState } from './state';

export interface RolloutFile {
  state: RolloutState;
  pending: Action[];
}

export const rolloutFile = (root: string, model: string) => path.join(modelDir(root, model), 'rollout.json');
const archiveFile = (root: string, model: string) => path.join(modelDir(root, model), 'rollouts.jsonl');

export async function readRolloutFile(root: string, model: string): Promise<RolloutFile | null> {
  let raw: string;
  try {
    raw = await readFile(rolloutFile(root, model), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const parsed = JSON.parse(raw) as RolloutFile;
  if (!parsed?.state?.id || !Array.isArray(parsed.pending))
    throw new Error(`${rolloutFile(root, model)} is not a rollout file`);
  return parsed;
}

export async function writeRolloutFile(root: string, model: string, file: RolloutFile): Promise<void> {
  await writeFileAtomic(rolloutFile(root, model), `${JSON.stringify(file, null, 2)}\n`);
}

export async function archiveRollout(root: string, model: string, state: RolloutState): Promise<void> {
  await appendDurable(archiveFile(root, model), JSON.stringify(state));
}
