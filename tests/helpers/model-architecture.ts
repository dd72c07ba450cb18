/** What a version folder's model.json says it is, in a form two versions can be compared by: its
 * layers (class and width), its weight tensors (name and shape) and the sha256 of its weight
 * shards. A freshly trained version that is "genuinely different" differs in all three. */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

interface LayerJson {
  class_name: string;
  config: { units?: number; filters?: number; kernel_size?: number[]; target_shape?: number[] };
}
interface ModelJson {
  modelTopology: { config: { layers: LayerJson[] } };
  weightsManifest: { paths: string[]; weights: { name: string; shape: number[] }[] }[];
}

export interface Architecture {
  /** e.g. `Conv2D(24, 3x3)`, `Dense(64)`, `Reshape(28x28x1)`. */
  layers: string[];
  /** e.g. `conv1/kernel 3x3x1x24`. */
  weights: string[];
  shardSha256: string[];
}

function layerName({ class_name, config }: LayerJson): string {
  const size = [config.filters ?? config.units, config.kernel_size?.join('x'), config.target_shape?.join('x')]
    .filter((part) => part !== undefined)
    .join(', ');
  return size ? `${class_name}(${size})` : class_name;
}

export async function architectureOf(versionDir: string): Promise<Architecture> {
  const json = JSON.parse(await readFile(path.join(versionDir, 'model.json'), 'utf8')) as ModelJson;
  const groups = json.weightsManifest;
  const shards = groups.flatMap((g) => g.paths);
  return {
    layers: json.modelTopology.config.layers.map(layerName),
    weights: groups.flatMap((g) => g.weights.map((w) => `${w.name} ${w.shape.join('x')}`)),
    shardSha256: await Promise.all(
      shards.map(async (p) =>
        createHash('sha256')
          .update(await readFile(path.join(versionDir, p)))
          .digest('hex'),
      ),
    ),
  };
}
