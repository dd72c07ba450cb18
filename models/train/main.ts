#!/usr/bin/env node
/** `npm run train`, two ways:
 * - `npm run train -- --model M --version V [--recipe R] --out DIR` trains one version into DIR, a
 *   folder `modelgate push DIR --model M --version V` accepts (model.json, shard, metadata.json);
 * - `npm run train [-- --model M] [--store DIR]` retrains the shipped versions from the shipped data
 *   sets into models/ (or DIR), plus each model's starting policy.json and held-out sample.json.
 * Both are reproducible: seeded split, initialisers and batch order. */
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import { Command } from 'commander';
import { loadTf } from '../../common/tfjs';
import { type Metadata, metadataSchema, versionNameSchema } from '../../common/wire';
import { installFastConv2dGradient } from './conv-filter-gradient';
import type { Dataset } from './dataset';
import { loadDigits } from './digits-data';
import { loadPenguins } from './penguins-data';
import { EXTRA_RECIPES, findRecipe, RECIPES, type Recipe, SPLIT_SEEDS } from './recipes';
import { refreshedMetadata, type TrainProgress, trainVersion } from './train-version';
import { writeFileAtomic, writeSample, writeStartingPolicy, writeVersionFolder } from './write-store';

interface Options {
  model?: string;
  version?: string;
  recipe?: string;
  out?: string;
  store: string;
  resetPolicy: boolean;
  metadataOnly: boolean;
}

const LOADERS: Record<Recipe['model'], (seed: number) => Dataset> = {
  penguins: loadPenguins,
  digits: loadDigits,
};
/** Pixels keep three decimals in sample.json (the file stays small; predictions do not change). */
const SAMPLE_DECIMALS: Record<Recipe['model'], number> = { penguins: 2, digits: 3 };

/** One bar per version; versions train one after another, so each bar finishes before the next. */
function progressBar(recipe: Recipe): TrainProgress {
  const bar = new SingleBar(
    {
      format: `${recipe.model} v${recipe.version} [{bar}] {percentage}% | epoch {epoch}/${recipe.epochs} | loss {loss} | {duration_formatted}`,
      hideCursor: true,
    },
    Presets.shades_classic,
  );
  let done = 0;
  return {
    start(total) {
      bar.start(total, 0, { epoch: 1, loss: '-' });
    },
    batch(epoch, loss) {
      done++;
      bar.update(done, { epoch, loss: loss.toFixed(4) });
    },
    stop() {
      bar.stop();
    },
  };
}

async function main(): Promise<void> {
  const options = new Command('train')
    .description('train one new version into a folder for `modelgate push`, or retrain the shipped versions')
    .option('--model <model>', 'model (digits, penguins)')
    .option(
      '--version <version>',
      'version to train (with --out: the version name written into metadata.json)',
    )
    .option(
      '--recipe <name>',
      `architecture (${[...RECIPES, ...EXTRA_RECIPES].map((r) => `${r.model}: ${r.name}`).join(', ')}); default: the shipped version's, else the model's new one`,
    )
    .option(
      '--out <dir>',
      'write ONE version folder here (needs --model and --version), ready for `modelgate push`',
    )
    .option(
      '--store <dir>',
      'model store for retraining the shipped versions',
      path.resolve(__dirname, '..', '..', '..', 'models'),
    )
    .option('--reset-policy', 'overwrite an existing policy.json with the starting split', false)
    .option(
      '--metadata-only',
      'rewrite metadata.json (feature names and spec, drift baseline) of versions already trained; artifacts stay as they are',
      false,
    )
    .parse(process.argv)
    .opts<Options>();

  if (options.out !== undefined) return trainOne(options, options.out);
  if (options.recipe !== undefined)
    throw new Error('--recipe trains one version: add --model, --version and --out DIR');

  const recipes = RECIPES.filter(
    (r) =>
      (!options.model || r.model === options.model) && (!options.version || r.version === options.version),
  );
  if (recipes.length === 0) {
    const known = RECIPES.map((r) => `${r.model} v${r.version}`).join(', ');
    throw new Error(
      `no shipped version matches --model ${options.model ?? '*'} --version ${options.version ?? '*'}; known: ${known}. ` +
        'To train a new version: --model M --version V --out DIR',
    );
  }

  if (options.metadataOnly) return refreshStore(options.store, recipes);
  const tf = await trainingTf();
  const datasets = new Map<string, Dataset>();
  for (const recipe of recipes) {
    let data = datasets.get(recipe.model);
    if (!data) {
      data = LOADERS[recipe.model](SPLIT_SEEDS[recipe.model]);
      datasets.set(recipe.model, data);
      const modelDir = path.join(options.store, recipe.model);
      await writeSample(modelDir, data, SAMPLE_DECIMALS[recipe.model]);
    }
    const trained = await trainVersion({ tf, progress: progressBar(recipe), now: Date.now }, recipe, data);
    await writeVersionFolder(path.join(options.store, recipe.model, recipe.version), trained.files);
    report(recipe, trained.metadata);
  }
  // After training, so a starting policy never names a version whose folder failed to appear.
  for (const model of datasets.keys()) {
    const outcome = await writeStartingPolicy(path.join(options.store, model), model, options.resetPolicy);
    process.stdout.write(`${model}/policy.json: ${outcome}\n`);
  }
}

async function refreshStore(out: string, recipes: readonly Recipe[]): Promise<void> {
  const datasets = new Map<string, Dataset>();
  for (const recipe of recipes) {
    let data = datasets.get(recipe.model);
    if (!data) {
      data = LOADERS[recipe.model](SPLIT_SEEDS[recipe.model]);
      datasets.set(recipe.model, data);
    }
    const file = path.join(out, recipe.model, recipe.version, 'metadata.json');
    const existing = metadataSchema.parse(JSON.parse(await readFile(file, 'utf8')));
    await writeFileAtomic(file, `${JSON.stringify(refreshedMetadata(existing, data), null, 2)}\n`);
    process.stdout.write(`${recipe.model} v${recipe.version}: metadata.json rewritten\n`);
  }
}

async function trainingTf() {
  const { tf } = await loadTf('wasm');
  installFastConv2dGradient(tf);
  return tf;
}

function report(recipe: Recipe, metadata: Metadata): void {
  const m = metadata.metrics;
  process.stdout.write(
    `${recipe.model} v${recipe.version} (${recipe.name}): held-out accuracy ${m.accuracy} (loss ${m.loss}, ${m.heldout_rows} rows), ` +
      `trained on ${m.train_rows} rows in ${m.train_seconds}s on ${recipe.backend}\n`,
  );
}

/** One version folder at `out`; refuses a folder that already holds files, so nothing is mixed. */
async function trainOne(options: Options, out: string): Promise<void> {
  if (!options.model || !options.version)
    throw new Error('--out DIR trains one version: add --model M and --version V');
  const version = versionNameSchema.safeParse(options.version);
  if (!version.success) throw new Error(`--version "${options.version}" is not a valid version name`);
  const dir = path.resolve(out);
  if (existsSync(dir) && readdirSync(dir).length > 0)
    throw new Error(`${dir} is not empty; --out needs a new or empty folder`);
  const base = findRecipe({ model: options.model, name: options.recipe, version: options.version });
  const recipe: Recipe = { ...base, version: version.data };
  const tf = await trainingTf();
  const data = LOADERS[recipe.model](SPLIT_SEEDS[recipe.model]);
  const trained = await trainVersion({ tf, progress: progressBar(recipe), now: Date.now }, recipe, data);
  await writeVersionFolder(dir, trained.files);
  report(recipe, trained.metadata);
  process.stdout.write(
    `wrote ${dir}; register it with: modelgate push ${out} --model ${recipe.model} --version ${recipe.version}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`train: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
