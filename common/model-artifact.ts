/** Reads and writes TF.js artifacts on plain files, without tfjs-node's file:// handler, and checks
 * every file against the sha256 recorded in metadata.json before a byte of it is trusted. */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import { AppError } from './errors';
import { type Metadata, metadataSchema } from './wire';

type ModelArtifacts = TF.io.ModelArtifacts;
type ModelJSON = TF.io.ModelJSON;

export function sha256(data: Buffer | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export class ArtifactError extends AppError {
  constructor(message: string, details?: unknown) {
    super('invalid_input', message, details);
  }
}

export async function readMetadata(dir: string): Promise<Metadata> {
  const file = path.join(dir, 'metadata.json');
  let raw: string;
  try {
    raw = await readFile(file, 'utf8');
  } catch {
    throw new ArtifactError(`${file} is missing`);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    throw new ArtifactError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = metadataSchema.safeParse(json);
  if (!parsed.success) {
    throw new ArtifactError(
      `${file} does not match the metadata schema`,
      parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
    );
  }
  return parsed.data;
}

/** Parses model.json and checks that the weight manifest names shards whose sizes add up to what
 * the weight specs need, so a truncated or swapped shard is refused before TF.js sees it. */
export function parseModelJson(raw: Buffer | string): ModelJSON {
  let json: ModelJSON;
  try {
    json = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8')) as ModelJSON;
  } catch (err) {
    throw new ArtifactError(`model.json is not valid JSON: ${(err as Error).message}`);
  }
  if (
    typeof json !== 'object' ||
    json === null ||
    typeof json.modelTopology !== 'object' ||
    !Array.isArray(json.weightsManifest)
  ) {
    throw new ArtifactError('model.json must be a TF.js artifact with "modelTopology" and "weightsManifest"');
  }
  for (const group of json.weightsManifest) {
    if (!Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      throw new ArtifactError('model.json weightsManifest entries need "paths" and "weights" arrays');
    }
    for (const p of group.paths) {
      if (typeof p !== 'string' || p.includes('/') || p.includes('\\') || p.startsWith('.')) {
        throw new ArtifactError(
          `weight shard path "${String(p)}" must be a plain file name beside model.json`,
        );
      }
    }
  }
  return json;
}

const BYTES_PER_DTYPE: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, float16: 2 };

function expectedWeightBytes(json: ModelJSON): number {
  let bytes = 0;
  for (const group of json.weightsManifest) {
    for (const spec of group.weights) {
      const per = spec.quantization
        ? spec.quantization.dtype === 'uint8'
          ? 1
          : 2
        : BYTES_PER_DTYPE[spec.dtype];
      if (per === undefined)
        throw new ArtifactError(`weight "${spec.name}" has unsupported dtype ${spec.dtype}`);
      bytes += per * spec.shape.reduce((a, b) => a * b, 1);
    }
  }
  return bytes;
}

/** Turns model.json plus its shard files into the artifacts TF.js loads, checking sizes. */
export function assembleArtifacts(json: ModelJSON, shards: ReadonlyMap<string, Buffer>): ModelArtifacts {
  const buffers: Buffer[] = [];
  for (const group of json.weightsManifest) {
    for (const p of group.paths) {
      const shard = shards.get(p);
      if (!shard) throw new ArtifactError(`weight shard "${p}" named in model.json is missing`);
      buffers.push(shard);
    }
  }
  const weightData = Buffer.concat(buffers);
  const expected = expectedWeightBytes(json);
  if (weightData.byteLength !== expected) {
    throw new ArtifactError(
      `weight shards hold ${weightData.byteLength} bytes but model.json describes ${expected}`,
    );
  }
  return {
    modelTopology: json.modelTopology,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData: weightData.buffer.slice(
      weightData.byteOffset,
      weightData.byteOffset + weightData.byteLength,
    ) as ArrayBuffer,
  };
}

export interface LoadedArtifact {
  metadata: Metadata;
  artifacts: ModelArtifacts;
}

/** Reads a version folder, verifying every file listed in metadata.artifacts by sha256. */
export async function readVersionFolder(dir: string): Promise<LoadedArtifact> {
  const metadata = await readMetadata(dir);
  const present = new Set(await readdir(dir));
  const files = new Map<string, Buffer>();
  for (const [name, digest] of Object.entries(metadata.artifacts)) {
    if (!present.has(name))
      throw new ArtifactError(`${path.join(dir, name)} is listed in metadata.json but missing`);
    const data = await readFile(path.join(dir, name));
    const actual = sha256(data);
    if (actual !== digest) {
      throw new ArtifactError(
        `${path.join(dir, name)} is corrupt: sha256 ${actual} does not match ${digest} in metadata.json`,
      );
    }
    files.set(name, data);
  }
  const modelJson = files.get('model.json');
  if (!modelJson) throw new ArtifactError(`${dir}: metadata.json must list model.json among its artifacts`);
  const json = parseModelJson(modelJson);
  return { metadata, artifacts: assembleArtifacts(json, files) };
}

/** An IOHandler over in-memory artifacts, so TF.js never touches the file system itself. */
export function memoryIOHandler(artifacts: ModelArtifacts): TF.io.IOHandler {
  return { load: async () => artifacts };
}

/** Serialises a model to model.json + one shard, returning file name → bytes (for training/export). */
export function artifactsToFiles(
  artifacts: ModelArtifacts,
  shardName = 'group1-shard1of1.bin',
): Map<string, Buffer> {
  const weightData = artifacts.weightData;
  if (!weightData || Array.isArray(weightData)) throw new Error('expected one concatenated weight buffer');
  const modelJson = {
    format: artifacts.format ?? 'layers-model',
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy ?? null,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: [shardName], weights: artifacts.weightSpecs ?? [] }],
  };
  return new Map([
    ['model.json', Buffer.from(JSON.stringify(modelJson))],
    [shardName, Buffer.from(weightData as ArrayBuffer)],
  ]);
}
