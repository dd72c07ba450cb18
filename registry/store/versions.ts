/** Version folders: listing, reading metadata, publishing a checked upload by rename, deleting. A
 * version folder is immutable once published, so its metadata is cached by file identity. */
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readMetadata } from '../../common/model-artifact';
import { type Metadata, NAME_PATTERN } from '../../common/wire';
import { fsyncPath, tempName } from './atomic-file';
import { compareVersions, modelDir, versionDir } from './paths';

async function subdirs(dir: string): Promise<string[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  // Temp folders, the lock and anything else not named like a model or version are not ours to list.
  return entries
    .filter((e) => e.isDirectory() && NAME_PATTERN.test(e.name) && !e.name.includes('..'))
    .map((e) => e.name);
}

/** Model folders: those holding a policy.json or at least one version. Other folders that happen to
 * sit in the store (the training code lives in ./models/train beside the shipped models) are not models. */
export async function listModels(root: string): Promise<string[]> {
  const models: string[] = [];
  for (const name of await subdirs(root)) {
    const hasPolicy = await stat(path.join(modelDir(root, name), 'policy.json')).then(
      () => true,
      () => false,
    );
    if (hasPolicy || (await listVersions(root, name)).length > 0) models.push(name);
  }
  return models.sort();
}

/** Version folders that hold a metadata.json, in version order. */
export async function listVersions(root: string, model: string): Promise<string[]> {
  const names = await subdirs(modelDir(root, model));
  const present: string[] = [];
  for (const v of names) {
    if (
      await stat(path.join(versionDir(root, model, v), 'metadata.json')).then(
        () => true,
        () => false,
      )
    )
      present.push(v);
  }
  return present.sort(compareVersions);
}

export interface MetadataCache {
  read(root: string, model: string, version: string): Promise<Metadata>;
}

export function createMetadataCache(): MetadataCache {
  const cache = new Map<string, { key: string; metadata: Metadata }>();
  return {
    async read(root, model, version) {
      const dir = versionDir(root, model, version);
      const s = await stat(path.join(dir, 'metadata.json'));
      const key = `${s.ino}:${s.mtimeMs}:${s.size}`;
      const id = `${model}/${version}`;
      const hit = cache.get(id);
      if (hit?.key === key) return hit.metadata;
      const metadata = await readMetadata(dir);
      cache.set(id, { key, metadata });
      return metadata;
    },
  };
}

/** Creates the model folder if needed, making the new entry durable in the store folder. */
export async function ensureModelDir(root: string, model: string): Promise<boolean> {
  const dir = modelDir(root, model);
  try {
    await mkdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  await fsyncPath(root);
  return true;
}

/** Writes the final metadata.json into the staged folder, fsyncs every file and the folder, then
 * renames the folder into place: readers see all of the version or none of it. */
export async function publishStaged(
  root: string,
  stagedDir: string,
  model: string,
  version: string,
  metadata: Metadata,
): Promise<void> {
  await writeFile(path.join(stagedDir, 'metadata.json'), `${JSON.stringify(metadata, null, 2)}\n`);
  for (const name of await readdir(stagedDir)) await fsyncPath(path.join(stagedDir, name));
  await fsyncPath(stagedDir);
  await rename(stagedDir, versionDir(root, model, version));
  await fsyncPath(root);
  await fsyncPath(modelDir(root, model));
}

/** Renames the folder away first (atomic: the version is gone for every reader), then removes it. */
export async function removeVersionDir(root: string, model: string, version: string): Promise<void> {
  const dir = modelDir(root, model);
  const grave = path.join(dir, tempName(`deleted-${version}`));
  await rename(versionDir(root, model, version), grave);
  await fsyncPath(dir);
  await rm(grave, { recursive: true, force: true });
}
