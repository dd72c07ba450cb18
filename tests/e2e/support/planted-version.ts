/** Plants a real accuracy difference for the e2e experiment: copies a shipped version and swaps two
 * classes in its output layer, so the copy really answers "1" for every "0" it sees and vice versa.
 * Its inputs (and drift baseline) stay those of the original; only its answers get worse. */
import { createHash } from 'node:crypto';
import { cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
}
interface ModelJson {
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
}

export async function plantSwappedClasses(
  store: string,
  model: string,
  fromVersion: string,
  toVersion: string,
  swap: [number, number],
): Promise<void> {
  const from = path.join(store, model, fromVersion);
  const to = path.join(store, model, toVersion);
  await cp(from, to, { recursive: true });
  const modelJson = JSON.parse(await readFile(path.join(to, 'model.json'), 'utf8')) as ModelJson;
  const metadata = JSON.parse(await readFile(path.join(to, 'metadata.json'), 'utf8'));
  const classes: number = metadata.outputs[0].labels.length;

  const group = modelJson.weightsManifest[modelJson.weightsManifest.length - 1]!;
  const shards = await Promise.all(group.paths.map((p) => readFile(path.join(to, p))));
  const joined = Buffer.concat(shards);
  const floats = new Float32Array(joined.buffer, joined.byteOffset, joined.byteLength / 4);
  // Offsets of each weight in the group, in manifest order.
  let offset = 0;
  const placed = group.weights.map((w) => {
    const size = w.shape.reduce((a, b) => a * b, 1);
    const at = offset;
    offset += size;
    return { ...w, at, size };
  });
  const kernel = [...placed].reverse().find((w) => w.shape.length === 2 && w.shape[1] === classes);
  const bias = [...placed].reverse().find((w) => w.shape.length === 1 && w.shape[0] === classes);
  if (!kernel || !bias || kernel.dtype !== 'float32')
    throw new Error(`no float32 output layer with ${classes} units`);
  const [a, b] = swap;
  const exchange = (i: number, j: number) => {
    const t = floats[i]!;
    floats[i] = floats[j]!;
    floats[j] = t;
  };
  for (let row = 0; row < kernel.shape[0]!; row++)
    exchange(kernel.at + row * classes + a, kernel.at + row * classes + b);
  exchange(bias.at + a, bias.at + b);

  let start = 0;
  for (const [i, p] of group.paths.entries()) {
    const bytes = Buffer.from(joined.subarray(start, start + shards[i]!.byteLength));
    start += shards[i]!.byteLength;
    await writeFile(path.join(to, p), bytes);
    metadata.artifacts[p] = createHash('sha256').update(bytes).digest('hex');
  }
  metadata.version = toVersion;
  metadata.description = `${metadata.description} (e2e copy of v${fromVersion} with classes ${a} and ${b} swapped)`;
  await writeFile(path.join(to, 'metadata.json'), `${JSON.stringify(metadata, null, 2)}\n`);
}
