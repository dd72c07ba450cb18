/** Writes training output into the model store. Every file goes through temp + fsync + rename, so a
 * registry or model-server reading the folder meanwhile sees the old file or the new one, never a
 * torn one; metadata.json goes last because it vouches (by sha256) for the files before it. */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { type Policy, policyInputSchema } from '../../common/wire';
import type { Dataset } from './dataset';

export async function writeFileAtomic(file: string, data: Buffer | string): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

export async function writeVersionFolder(dir: string, files: ReadonlyMap<string, Buffer>): Promise<void> {
  await mkdir(dir, { recursive: true });
  const names = [...files.keys()].sort(
    (a, b) => Number(a === 'metadata.json') - Number(b === 'metadata.json'),
  );
  for (const name of names) await writeFileAtomic(path.join(dir, name), files.get(name)!);
}

/** The policy each shipped model starts with. digits is a canary (the CNN on 10%); penguins an even
 * A/B test; both label v1 stable and v2 canary, so the label routes answer on a fresh start. */
export const STARTING_POLICIES: Record<string, Policy> = {
  digits: {
    variants: [
      { version: '1', weight: 90 },
      { version: '2', weight: 10 },
    ],
    sticky: null,
    shadow: null,
    aliases: { stable: '1', canary: '2' },
    failover: true,
    revision: 1,
  },
  penguins: {
    variants: [
      { version: '1', weight: 50 },
      { version: '2', weight: 50 },
    ],
    sticky: null,
    shadow: null,
    aliases: { stable: '1', canary: '2' },
    failover: true,
    revision: 1,
  },
};

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/** policy.json belongs to the registry once the store is live (each change bumps its revision), so
 * retraining writes it only when it is missing, or when asked to reset it; and never while a version
 * it names has no folder yet (e.g. after `--version 1` into an empty store). */
export async function writeStartingPolicy(
  modelDir: string,
  model: string,
  reset: boolean,
): Promise<'written' | 'kept (exists; --reset-policy overwrites it)' | 'skipped (versions missing)'> {
  const file = path.join(modelDir, 'policy.json');
  if ((await exists(file)) && !reset) return 'kept (exists; --reset-policy overwrites it)';
  const policy = STARTING_POLICIES[model];
  if (!policy) throw new Error(`no starting policy for model "${model}"`);
  policyInputSchema.parse(policy);
  for (const { version } of policy.variants) {
    if (!(await exists(path.join(modelDir, version, 'metadata.json')))) return 'skipped (versions missing)';
  }
  await writeFileAtomic(file, `${JSON.stringify(policy, null, 2)}\n`);
  return 'written';
}

/** Held-out rows for smoke tests, benchmarks and `modelgate predict`: sample.json holds the raw input
 * rows, sample-labels.json the true class names in the same order. */
export const SAMPLE_ROWS = 300;

export async function writeSample(modelDir: string, data: Dataset, decimals: number): Promise<number> {
  const scale = 10 ** decimals;
  const count = Math.min(SAMPLE_ROWS, data.heldout.rows.length);
  const rows = data.heldout.rows.slice(0, count).map((row) => row.map((v) => Math.round(v * scale) / scale));
  const labels = data.heldout.labels.slice(0, count).map((i) => data.labels[i]!);
  await mkdir(modelDir, { recursive: true });
  // One row per line: small diffs, and still a plain JSON array.
  await writeFileAtomic(
    path.join(modelDir, 'sample.json'),
    `[\n${rows.map((r) => JSON.stringify(r)).join(',\n')}\n]\n`,
  );
  await writeFileAtomic(path.join(modelDir, 'sample-labels.json'), `${JSON.stringify(labels)}\n`);
  return count;
}
