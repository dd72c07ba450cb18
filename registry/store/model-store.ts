/** The registry's writes, each one lock → read current state → check → durable write → audit line,
 * and reads of the whole store as a catalog for the API and the routing table. */
import { AppError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import { type Metadata, type Policy, singleVersionPolicy } from '../../common/wire';
import { type AuditAction, appendAudit, readAudit } from '../audit-log';
import type { StagedVersion } from '../upload';
import { removeStaleTemps, repairJsonl } from './atomic-file';
import { createStoreLock, type StoreLock } from './lock';
import { auditFile, modelDir, nextVersion } from './paths';
import { defaultPolicy, readPolicy, validatePolicy, writePolicy } from './policies';
import {
  createMetadataCache,
  ensureModelDir,
  listModels,
  listVersions,
  type MetadataCache,
  publishStaged,
  removeVersionDir,
} from './versions';

export interface Actor {
  who: string;
  requestId?: string;
}

export interface ModelEntry {
  name: string;
  policy: Policy;
  /** Versions with valid metadata, in version order. */
  versions: Map<string, Metadata>;
}

export type Catalog = Map<string, ModelEntry>;

export type WriteKind = 'policy' | 'alias' | 'version_create' | 'version_delete';

export interface ModelStoreOptions {
  root: string;
  logger: Logger;
  now?: () => number;
  lock?: StoreLock;
  /** Called with each durable write's duration, for the write latency histogram. */
  observeWrite?: (kind: WriteKind, seconds: number) => void;
}

export interface ModelStore {
  readonly root: string;
  /** Start-up repair: stale temp files, torn audit tails, policy changes whose audit line was lost. */
  recover(): Promise<void>;
  catalog(): Promise<Catalog>;
  updatePolicy(model: string, body: unknown, ifMatch: number, actor: Actor): Promise<Policy>;
  setAlias(
    model: string,
    alias: string,
    version: string,
    ifMatch: number | undefined,
    actor: Actor,
  ): Promise<Policy>;
  deleteAlias(model: string, alias: string, ifMatch: number | undefined, actor: Actor): Promise<Policy>;
  publishVersion(
    model: string,
    staged: StagedVersion,
    actor: Actor,
  ): Promise<{ version: string; metadata: Metadata; policy: Policy; createdModel: boolean }>;
  deleteVersion(model: string, version: string, actor: Actor): Promise<Policy>;
}

export function createModelStore(options: ModelStoreOptions): ModelStore {
  const { root, logger } = options;
  const now = options.now ?? Date.now;
  const lock = options.lock ?? createStoreLock(root, { now });
  const metadata: MetadataCache = createMetadataCache();
  const skipped = new Set<string>();

  async function timed<T>(kind: WriteKind, fn: () => Promise<T>): Promise<T> {
    return lock.withLock(async () => {
      const started = process.hrtime.bigint();
      const result = await fn();
      options.observeWrite?.(kind, Number(process.hrtime.bigint() - started) / 1e9);
      return result;
    });
  }

  async function audit(
    action: AuditAction,
    model: string,
    actor: Actor,
    before: unknown,
    after: unknown,
    version?: string,
  ) {
    await appendAudit(root, {
      at: new Date(now()).toISOString(),
      who: actor.who,
      action,
      model,
      ...(version === undefined ? {} : { version }),
      ...(actor.requestId === undefined ? {} : { request_id: actor.requestId }),
      before,
      after,
    });
  }

  async function requireModel(model: string): Promise<string[]> {
    const versions = await listVersions(root, model);
    if (versions.length === 0)
      throw new AppError('model_not_found', `model "${model}" does not exist; push a version to create it`);
    return versions;
  }

  async function currentPolicy(model: string, versions: string[]): Promise<Policy> {
    const policy = (await readPolicy(root, model)) ?? defaultPolicy(versions);
    if (!policy) throw new AppError('model_not_found', `model "${model}" has no versions`);
    return policy;
  }

  function checkRevision(policy: Policy, ifMatch: number | undefined): void {
    if (ifMatch !== undefined && ifMatch !== policy.revision) {
      throw new AppError(
        'stale_revision',
        `policy changed since you read it: If-Match is "${ifMatch}" but the current revision is "${policy.revision}"; read it again and retry`,
        { currentRevision: policy.revision },
        { ETag: `"${policy.revision}"` },
      );
    }
  }

  async function replacePolicy(
    model: string,
    versions: string[],
    before: Policy,
    next: unknown,
    action: AuditAction,
    actor: Actor,
  ): Promise<Policy> {
    const validated = validatePolicy(next, new Set(versions));
    const after: Policy = { ...validated, revision: before.revision + 1 };
    await writePolicy(root, model, after);
    try {
      await audit(action, model, actor, before, after);
    } catch (err) {
      // Answering an error for a change that stays would mislead the caller: put the policy back.
      // (If even that fails, the next start-up adds the missing audit line: see recover().)
      await writePolicy(root, model, before).catch((undo: unknown) =>
        logger.error('could not roll back a policy whose audit line failed', {
          model,
          revision: after.revision,
          error: String(undo),
        }),
      );
      throw err;
    }
    return after;
  }

  return {
    root,

    async recover() {
      await lock.withLock(async () => {
        const removed = await removeStaleTemps(root);
        for (const model of await listModels(root)) {
          removed.push(...(await removeStaleTemps(modelDir(root, model))));
          const dropped = await repairJsonl(auditFile(root, model));
          if (dropped > 0) logger.warn('cut a torn line off the audit log', { model, bytes: dropped });
          const policy = await readPolicy(root, model).catch(() => undefined);
          if (!policy) continue;
          // A crash between the policy rename and its audit append leaves a change with no line: add one.
          const entries = await readAudit(root, model);
          const lastPolicy = [...entries]
            .reverse()
            .find((e) => (e.after as Policy | null)?.revision !== undefined);
          const lastRevision = (lastPolicy?.after as Policy | undefined)?.revision;
          if (lastRevision !== undefined && lastRevision < policy.revision) {
            await audit('policy.recovered', model, { who: 'registry' }, lastPolicy?.after ?? null, policy);
            logger.warn('added the missing audit line for a policy change cut off by a crash', {
              model,
              revision: policy.revision,
            });
          }
        }
        if (removed.length > 0) logger.info('removed temp files left by a stopped process', { removed });
      });
    },

    async catalog() {
      const result: Catalog = new Map();
      for (const model of await listModels(root)) {
        const versions = new Map<string, Metadata>();
        for (const v of await listVersions(root, model)) {
          try {
            versions.set(v, await metadata.read(root, model, v));
            skipped.delete(`${model}/${v}`);
          } catch (err) {
            if (!skipped.has(`${model}/${v}`)) {
              skipped.add(`${model}/${v}`);
              logger.warn('skipping a version whose metadata.json cannot be read', {
                model,
                version: v,
                error: (err as Error).message,
              });
            }
          }
        }
        if (versions.size === 0) continue;
        let policy: Policy | undefined;
        try {
          policy = (await readPolicy(root, model)) ?? defaultPolicy([...versions.keys()]);
        } catch (err) {
          logger.error('skipping a model whose policy.json cannot be read', {
            model,
            error: (err as Error).message,
          });
          continue;
        }
        if (policy) result.set(model, { name: model, policy, versions });
      }
      return result;
    },

    updatePolicy(model, body, ifMatch, actor) {
      return timed('policy', async () => {
        const versions = await requireModel(model);
        const before = await currentPolicy(model, versions);
        checkRevision(before, ifMatch);
        return replacePolicy(model, versions, before, body, 'policy.update', actor);
      });
    },

    setAlias(model, alias, version, ifMatch, actor) {
      return timed('alias', async () => {
        const versions = await requireModel(model);
        const before = await currentPolicy(model, versions);
        checkRevision(before, ifMatch);
        if (!versions.includes(version)) {
          throw new AppError(
            'version_not_found',
            `version "${version}" of model "${model}" does not exist (existing: ${versions.join(', ')})`,
          );
        }
        const { revision: _r, ...rest } = before;
        return replacePolicy(
          model,
          versions,
          before,
          { ...rest, aliases: { ...before.aliases, [alias]: version } },
          'alias.set',
          actor,
        );
      });
    },

    deleteAlias(model, alias, ifMatch, actor) {
      return timed('alias', async () => {
        const versions = await requireModel(model);
        const before = await currentPolicy(model, versions);
        checkRevision(before, ifMatch);
        if (!(alias in before.aliases))
          throw new AppError('not_found', `model "${model}" has no alias "${alias}"`);
        const { [alias]: _gone, ...aliases } = before.aliases;
        const { revision: _r, ...rest } = before;
        return replacePolicy(model, versions, before, { ...rest, aliases }, 'alias.delete', actor);
      });
    },

    publishVersion(model, staged, actor) {
      return timed('version_create', async () => {
        const versions = await listVersions(root, model);
        const version = staged.requestedVersion ?? nextVersion(versions);
        if (versions.includes(version)) {
          throw new AppError(
            'conflict',
            `model "${model}" already has version "${version}"; versions are immutable, push under a new version`,
          );
        }
        const existingPolicy = await readPolicy(root, model);
        const createdModel = await ensureModelDir(root, model);
        const final: Metadata = { ...staged.metadata, model, version };
        await publishStaged(root, staged.dir, model, version, final);
        let policy = existingPolicy;
        if (!policy) {
          // Pin the split before the new version lands, so a policy-less model keeps serving what it served.
          policy = defaultPolicy(versions) ?? singleVersionPolicy(version);
          await writePolicy(root, model, policy);
          await audit(
            createdModel || versions.length === 0 ? 'model.create' : 'policy.recovered',
            model,
            actor,
            null,
            policy,
          );
        }
        await audit(
          'version.create',
          model,
          actor,
          null,
          { version, artifacts: final.artifacts, bytes: staged.bytes },
          version,
        );
        return { version, metadata: final, policy, createdModel: versions.length === 0 };
      });
    },

    deleteVersion(model, version, actor) {
      return timed('version_delete', async () => {
        const versions = await requireModel(model);
        if (!versions.includes(version))
          throw new AppError('version_not_found', `version "${version}" of model "${model}" does not exist`);
        const policy = await currentPolicy(model, versions);
        const weighted = policy.variants.find((v) => v.version === version && v.weight > 0);
        const aliases = Object.entries(policy.aliases)
          .filter(([, v]) => v === version)
          .map(([a]) => a);
        const reasons = [
          ...(weighted ? [`it has ${weighted.weight}% of the traffic`] : []),
          ...(aliases.length ? [`alias ${aliases.join(', ')} points at it`] : []),
          ...(policy.shadow?.version === version ? ['it is the shadow version'] : []),
        ];
        if (reasons.length > 0) {
          throw new AppError(
            'conflict',
            `version "${version}" of "${model}" is in use: ${reasons.join('; ')}; move traffic and aliases off it first`,
            { reasons },
          );
        }
        let after = policy;
        if (policy.variants.some((v) => v.version === version)) {
          const { revision: _r, ...rest } = policy;
          after = await replacePolicy(
            model,
            versions,
            policy,
            { ...rest, variants: policy.variants.filter((v) => v.version !== version) },
            'policy.update',
            actor,
          );
        }
        const md = await metadata.read(root, model, version).catch(() => null);
        await removeVersionDir(root, model, version);
        await audit(
          'version.delete',
          model,
          actor,
          md ? { version, artifacts: md.artifacts } : { version },
          null,
          version,
        );
        return after;
      });
    },
  };
}
