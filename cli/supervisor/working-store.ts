/** `npm start`'s working copy of the store and its admin token, both under a data folder outside
 * the git tree's tracked files, so experiments never dirty the checkout and the token survives
 * restarts. */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, cp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { NAME_PATTERN } from '../../common/wire';

/** A model folder of the seed: a name-shaped folder holding a policy or a version with metadata
 * (so `models/train`, the training code, is not copied). */
function isModelDir(dir: string): boolean {
  if (existsSync(path.join(dir, 'policy.json'))) return true;
  return readdirSync(dir, { withFileTypes: true }).some(
    (d) => d.isDirectory() && existsSync(path.join(dir, d.name, 'metadata.json')),
  );
}

/** Creates `store` as a copy of the shipped models in `seed` unless it exists. The copy is written
 * beside it and renamed into place, so an interrupted first start leaves no half store. */
export async function ensureWorkingStore(options: { store: string; seed: string }): Promise<boolean> {
  const { store, seed } = options;
  if (existsSync(store)) return false;
  const parent = path.dirname(store);
  await mkdir(parent, { recursive: true });
  const staging = path.join(parent, `.${path.basename(store)}.tmp-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging);
  for (const entry of readdirSync(seed, { withFileTypes: true })) {
    const from = path.join(seed, entry.name);
    if (!entry.isDirectory() || !NAME_PATTERN.test(entry.name) || !isModelDir(from)) continue;
    await cp(from, path.join(staging, entry.name), {
      recursive: true,
      filter: (src) => !path.basename(src).endsWith('.jsonl'),
    });
  }
  await rename(staging, store);
  return true;
}

export type TokenSource = 'env' | 'file' | 'generated';

/** ADMIN_TOKEN when set; else the one kept in `file` (mode 0600); else a new one, written there. */
export async function adminToken(options: {
  env: NodeJS.ProcessEnv;
  file: string;
}): Promise<{ token: string; source: TokenSource }> {
  const given = options.env.ADMIN_TOKEN;
  if (given) return { token: given, source: 'env' };
  try {
    const kept = (await readFile(options.file, 'utf8')).trim();
    if (kept) {
      await chmod(options.file, 0o600);
      return { token: kept, source: 'file' };
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const token = randomBytes(24).toString('hex');
  await mkdir(path.dirname(options.file), { recursive: true });
  const tmp = `${options.file}.tmp-${process.pid}`;
  await writeFile(tmp, `${token}\n`, { mode: 0o600 });
  await rename(tmp, options.file);
  return { token, source: 'generated' };
}
