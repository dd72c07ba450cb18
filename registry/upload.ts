/** POST /models/:m/versions: streams a multipart upload into a temp folder inside the store, then
 * checks it before anything is published. A rejected or interrupted upload removes its folder; one
 * cut off by a crash is removed at the next start (store/atomic-file.ts removeStaleTemps). */
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import busboy from 'busboy';
import type { Request } from 'express';
import { closeAfterAnswer, declaredOverLimit, lingerBytesFor } from '../common/body-limit';
import { AppError, storageError } from '../common/errors';
import { assembleArtifacts, parseModelJson, sha256 } from '../common/model-artifact';
import { type Metadata, metadataSchema, versionNameSchema } from '../common/wire';
import { tempName } from './store/atomic-file';

/** A plain file name: no separators, no leading dot, nothing that could climb out of the folder. */
const FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const MAX_FILES = 64;
/** Before refusing an upload (auth, name, size): the answer goes out at once, and the body is not
 * read beyond a short linger (common/body-limit.ts). */
export function refuseBody(req: Request, maxBytes: number): void {
  if (req.res) closeAfterAnswer(req, req.res, lingerBytesFor(maxBytes));
}

export interface ReceivedUpload {
  dir: string;
  files: Map<string, number>;
  fields: Record<string, string>;
}

export interface StagedVersion {
  dir: string;
  /** Checked metadata; `model`, `version` and `artifacts` are set by the registry when published. */
  metadata: Metadata;
  requestedVersion: string | undefined;
  bytes: number;
}

/** Loads the assembled artifact in TF.js and runs one prediction; injected so unit tests can fake it. */
export type ArtifactCheck = (artifacts: TF.io.ModelArtifacts, metadata: Metadata) => Promise<void>;

export async function receiveUpload(req: Request, root: string, maxBytes: number): Promise<ReceivedUpload> {
  if (!req.is('multipart/form-data')) {
    throw new AppError(
      'unsupported_media_type',
      `Content-Type must be multipart/form-data with model.json, its weight shards and metadata.json as files, got "${req.get('content-type') ?? 'none'}"`,
    );
  }
  if (declaredOverLimit(req, maxBytes) !== undefined) {
    refuseBody(req, maxBytes);
    throw tooLarge(maxBytes);
  }

  const dir = path.join(root, tempName('upload'));
  await mkdir(dir);
  try {
    return await new Promise<ReceivedUpload>((resolve, reject) => {
      const files = new Map<string, number>();
      const fields: Record<string, string> = {};
      const writes: Promise<void>[] = [];
      const outputs: import('node:fs').WriteStream[] = [];
      let total = 0;
      let failed = false;
      const fail = (err: AppError) => {
        if (failed) return;
        failed = true;
        req.unpipe(parser);
        for (const out of outputs) out.destroy();
        // Not drained: a body that goes on past the limit (or never ends) is cut off here.
        req.pause();
        refuseBody(req, maxBytes);
        reject(err);
      };
      let parser: busboy.Busboy;
      try {
        parser = busboy({
          headers: req.headers,
          // Keep the name as sent, so "../x" is refused rather than quietly becoming "x".
          preservePath: true,
          limits: {
            files: MAX_FILES,
            fields: 16,
            fieldSize: 1024,
            fileSize: maxBytes,
            parts: MAX_FILES + 16,
          },
        });
      } catch (err) {
        reject(new AppError('invalid_input', `multipart body cannot be read: ${(err as Error).message}`));
        return;
      }
      parser.on('file', (_field, stream, info) => {
        const name = info.filename;
        if (failed) return void stream.resume();
        if (!name || !FILE_NAME.test(name) || name.includes('..')) {
          stream.resume();
          return fail(
            new AppError(
              'invalid_input',
              `file name ${JSON.stringify(name ?? '')} is not allowed: use plain names like model.json or group1-shard1of1.bin`,
            ),
          );
        }
        if (files.has(name)) {
          stream.resume();
          return fail(new AppError('invalid_input', `file ${name} was sent twice`));
        }
        files.set(name, 0);
        const out = createWriteStream(path.join(dir, name), { flags: 'wx' });
        outputs.push(out);
        stream.on('data', (chunk: Buffer) => {
          total += chunk.length;
          files.set(name, (files.get(name) ?? 0) + chunk.length);
          if (total > maxBytes) fail(tooLarge(maxBytes));
        });
        stream.on('limit', () => fail(tooLarge(maxBytes)));
        const written = new Promise<void>((done, bad) => {
          out.on('close', () => done());
          out.on('error', (err) => {
            // pipe() stops feeding a failed file but leaves busboy waiting on it: fail the upload now.
            fail(storedFailure(err));
            bad(err);
          });
          stream.pipe(out);
        });
        // After a failure nobody awaits the writes, and the folder may vanish under one still opening;
        // a rejection left unhandled would take the whole process down.
        written.catch(() => undefined);
        writes.push(written);
      });
      parser.on('field', (name, value, info) => {
        if (info.valueTruncated) return fail(new AppError('invalid_input', `form field ${name} is too long`));
        fields[name] = value;
      });
      parser.on('filesLimit', () =>
        fail(new AppError('invalid_input', `an upload holds at most ${MAX_FILES} files`)),
      );
      parser.on('partsLimit', () =>
        fail(new AppError('invalid_input', 'too many parts in the multipart body')),
      );
      parser.on('fieldsLimit', () => fail(new AppError('invalid_input', 'too many form fields')));
      parser.on('error', (err: Error) =>
        fail(new AppError('invalid_input', `multipart body is malformed: ${err.message}`)),
      );
      parser.on('close', () => {
        Promise.all(writes).then(
          () => (failed ? undefined : resolve({ dir, files, fields })),
          (err: Error) => fail(storedFailure(err)),
        );
      });
      req.on('aborted', () => fail(new AppError('invalid_input', 'upload was interrupted by the client')));
      req.pipe(parser);
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** A file of the upload could not be written: 507 for a full or broken disk, else a plain 500. */
function storedFailure(err: Error): AppError {
  return storageError(err) ?? new AppError('internal', `could not store an uploaded file: ${err.message}`);
}

function tooLarge(maxBytes: number): AppError {
  return new AppError(
    'payload_too_large',
    `upload is larger than MAX_UPLOAD_BYTES (${maxBytes} bytes); raise it on the registry or shrink the model`,
  );
}

function parseUploadedMetadata(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new AppError('invalid_input', `metadata.json is not valid JSON: ${(err as Error).message}`);
  }
}

/** Everything short of publishing: names, JSON, the weight manifest against the shards' sizes, the
 * metadata schema, sha256 of every artifact, and that TF.js loads and runs the model. */
export async function verifyUpload(
  upload: ReceivedUpload,
  model: string,
  check: ArtifactCheck,
): Promise<StagedVersion> {
  const requested = upload.fields.version?.trim() || undefined;
  if (requested !== undefined) {
    const ok = versionNameSchema.safeParse(requested);
    if (!ok.success) {
      throw new AppError(
        'invalid_input',
        `version ${JSON.stringify(requested)} is not allowed: ${ok.error.issues[0]?.message}`,
      );
    }
  }
  for (const needed of ['model.json', 'metadata.json']) {
    if (!upload.files.has(needed)) {
      throw new AppError(
        'invalid_input',
        `the upload has no ${needed}; send model.json, its weight shards and metadata.json`,
        {
          received: [...upload.files.keys()],
        },
      );
    }
  }
  const modelJson = parseModelJson(await readFile(path.join(upload.dir, 'model.json')));
  const shardNames = new Set(modelJson.weightsManifest.flatMap((g) => g.paths));
  const unexpected = [...upload.files.keys()].filter(
    (f) => f !== 'model.json' && f !== 'metadata.json' && !shardNames.has(f),
  );
  if (unexpected.length > 0) {
    throw new AppError(
      'invalid_input',
      `files not named in model.json's weightsManifest: ${unexpected.join(', ')}`,
    );
  }
  const shards = new Map<string, Buffer>();
  for (const name of shardNames) {
    if (!upload.files.has(name))
      throw new AppError('invalid_input', `weight shard "${name}" named in model.json was not uploaded`);
    shards.set(name, await readFile(path.join(upload.dir, name)));
  }
  const artifacts = assembleArtifacts(modelJson, shards);

  const artifactHashes: Record<string, string> = {
    'model.json': sha256(await readFile(path.join(upload.dir, 'model.json'))),
  };
  for (const [name, data] of shards) artifactHashes[name] = sha256(data);
  const rawMetadata = parseUploadedMetadata(await readFile(path.join(upload.dir, 'metadata.json')));
  if (typeof rawMetadata !== 'object' || rawMetadata === null || Array.isArray(rawMetadata)) {
    throw new AppError('invalid_input', 'metadata.json must hold a JSON object');
  }
  // The URL names the model and the registry assigns the version; the sha256 map is recomputed here
  // so a stale one from the client cannot make a model-server refuse the published files.
  const parsed = metadataSchema.safeParse({
    ...rawMetadata,
    model,
    version: requested ?? '0',
    artifacts: artifactHashes,
  });
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new AppError(
      'invalid_input',
      `metadata.json does not match the metadata schema: ${details.slice(0, 5).join('; ')}`,
      details,
    );
  }
  if (parsed.data.format !== (modelJson.format ?? 'layers-model')) {
    throw new AppError(
      'invalid_input',
      `metadata.json says format "${parsed.data.format}" but model.json is "${modelJson.format ?? 'layers-model'}"`,
    );
  }
  await check(artifacts, parsed.data);
  const bytes = [...upload.files.values()].reduce((a, b) => a + b, 0);
  return { dir: upload.dir, metadata: parsed.data, requestedVersion: requested, bytes };
}
