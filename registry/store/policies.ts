/** policy.json: read, validate against the versions that exist, and write durably. */
import { readFile } from 'node:fs/promises';
import { AppError } from '../../common/errors';
import {
  type Policy,
  policyInputSchema,
  singleVersionPolicy,
  unknownPolicyVersions,
} from '../../common/wire';
import { writeFileAtomic } from './atomic-file';
import { policyFile } from './paths';

const storedPolicySchema = policyInputSchema.transform((p) => ({ ...p, revision: p.revision ?? 0 }));

/** The stored policy, or undefined when the model has none yet. A corrupt file is an operator problem
 * the registry must not paper over, so it is reported, naming the file. */
export async function readPolicy(root: string, model: string): Promise<Policy | undefined> {
  const file = policyFile(root, model);
  let raw: string;
  try {
    raw = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = storedPolicySchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(
      `${file} is not a valid policy: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}

/** A model whose folder has versions but no policy.json serves its highest version; revision 0 so
 * the first PUT (If-Match: "0") writes revision 1. */
export function defaultPolicy(versions: readonly string[]): Policy | undefined {
  const last = versions[versions.length - 1];
  return last === undefined ? undefined : { ...singleVersionPolicy(last), revision: 0 };
}

export async function writePolicy(root: string, model: string, policy: Policy): Promise<void> {
  await writeFileAtomic(policyFile(root, model), `${JSON.stringify(policy, null, 2)}\n`);
}

function issuesOf(error: { issues: { path: PropertyKey[]; message: string }[] }): string[] {
  return error.issues.map((i) =>
    i.path.length ? `${i.path.map(String).join('.')}: ${i.message}` : i.message,
  );
}

/** Validates a client's policy body: schema rules from common/wire.ts, then that every version it
 * names exists. Throws invalid_input listing every problem at once. */
export function validatePolicy(body: unknown, existing: ReadonlySet<string>): Omit<Policy, 'revision'> {
  const parsed = policyInputSchema.safeParse(body);
  if (!parsed.success) {
    const details = issuesOf(parsed.error);
    throw new AppError('invalid_input', `policy is invalid: ${details.join('; ')}`, details);
  }
  const { revision: _ignored, ...policy } = parsed.data;
  const unknown = unknownPolicyVersions(policy, existing);
  if (unknown.length > 0) {
    throw new AppError(
      'invalid_input',
      `policy names versions that do not exist: ${unknown.join(', ')} (existing: ${[...existing].join(', ') || 'none'})`,
      { unknownVersions: unknown },
    );
  }
  return policy;
}

/** Parses an If-Match header: `"7"`, `7` or `W/"7"`. */
export function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(header);
  if (!m)
    throw new AppError(
      'invalid_input',
      `If-Match must be a quoted revision like "7", got ${JSON.stringify(header)}`,
    );
  return Number(m[1]);
}
