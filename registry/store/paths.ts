/** The store layout of DESIGN.md ("Files in the store"). Every name is re-checked here, the last step
 * before the file system, so no caller can hand a request's raw text to `path.join`. */
import path from 'node:path';
import { AppError } from '../../common/errors';
import { nameSchema } from '../../common/wire';

export function assertName(kind: 'model' | 'version' | 'alias', name: string): string {
  const parsed = nameSchema.safeParse(name);
  if (!parsed.success) {
    throw new AppError(
      'invalid_input',
      `${kind} name ${JSON.stringify(name)} is not allowed: ${parsed.error.issues[0]?.message}`,
    );
  }
  return name;
}

export function modelDir(root: string, model: string): string {
  return path.join(root, assertName('model', model));
}

export function versionDir(root: string, model: string, version: string): string {
  return path.join(modelDir(root, model), assertName('version', version));
}

export const policyFile = (root: string, model: string) => path.join(modelDir(root, model), 'policy.json');
export const auditFile = (root: string, model: string) => path.join(modelDir(root, model), 'audit.jsonl');

/** Numeric versions sort as numbers ("2" before "10"), the rest by name after them. */
export function compareVersions(a: string, b: string): number {
  const na = /^\d+$/.test(a) ? Number(a) : Number.NaN;
  const nb = /^\d+$/.test(b) ? Number(b) : Number.NaN;
  if (!Number.isNaN(na) && !Number.isNaN(nb)) return na - nb;
  if (!Number.isNaN(na)) return -1;
  if (!Number.isNaN(nb)) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The version an upload without an explicit one gets: one past the highest integer version. */
export function nextVersion(existing: Iterable<string>): string {
  let max = 0;
  for (const v of existing) if (/^\d+$/.test(v)) max = Math.max(max, Number(v));
  return String(max + 1);
}
