#!/usr/bin/env node
/** `npm run train`: retrains the shipped model versions from the shipped data sets, reproducibly
 * (seeded split, initialisers and batch order), writing models/<model>/<version>/ plus each model's
 * starting policy.json and a held-out sample.json. `--model M` and `--version V` narrow the run. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import { Command } from 'commander';
import { loadTf } from '../../common/tfjs';
import { metadataSchema } from '../../common/wire';
import { installFastConv2dGradient } from './conv-filter-gradient';
import type { Dataset } from './dataset';
import { loadDigits } from './digits-data';
import { loadPenguins } from './penguins-data';
import { RECIPES, type Recipe, SPLIT_SEEDS } from './recipes';
import { refreshedMetadata, type TrainProgress, trainVersion } from './train-version';
import { writeFileAtomic, writeSample, writeStartingPolicy, writeVersionFolder } from './write-store';

interface Options {
  model?: string;
  version?: string;
  out: string;
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
    .description('retrain the shipped model versions (seeded, reproducible on the same backend)')
    .option('--model <model>', 'only this model (digits, penguins)')
    .option('--version <version>', 'only this version')
    .option('--out <dir>', 'model store to write', path.resolve(__dirname, '..', '..', '..', 'models'))
    .option('--reset-policy', 'overwrite an existing policy.json with the starting split', false)
    .option(
      '--metadata-only',
      'rewrite metadata.json (feature names and spec, drift baseline) of versions already trained; artifacts stay as they are',
      false,
    )
    .parse(process.argv)
    .opts<Options>();

  const recipes = RECIPES.filter(
    (r) =>
      (!options.model || r.model === options.model) && (!options.version || r.version === options.version),
  );
  if (recipes.length === 0) {
    const known = RECIPES.map((r) => `${r.model} v${r.version}`).join(', ');
    throw new Error(
      `no shipped version matches --model ${options.model ?? '*'} --version ${options.version ?? '*'}; known: ${known}`,
    );
  }

  if (options.metadataOnly) return refreshStore(options.out, recipes);
  const { tf } = await loadTf('wasm');
  installFastConv2dGradient(tf);
  const datasets = new Map<string, Dataset>();
  for (const recipe of recipes) {
    let data = datasets.get(recipe.model);
    if (!data) {
      data = LOADERS[recipe.model](SPLIT_SEEDS[recipe.model]);
      datasets.set(recipe.model, data);
      const modelDir = path.join(options.out, recipe.model);
      await writeSample(modelDir, data, SAMPLE_DECIMALS[recipe.model]);
    }
    const trained = await trainVersion({ tf, progress: progressBar(recipe), now: Date.now }, recipe, data);
    await writeVersionFolder(path.join(options.out, recipe.model, recipe.version), trained.files);
    const m = trained.metadata.metrics;
    process.stdout.write(
      `${recipe.model} v${recipe.version}: held-out accuracy ${m.accuracy} (loss ${m.loss}, ${m.heldout_rows} rows), ` +
        `trained on ${m.train_rows} rows in ${m.train_seconds}s on ${recipe.backend}\n`,
    );
  }
  // After training, so a starting policy never names a version whose folder failed to appear.
  for (const model of datasets.keys()) {
    const outcome = await writeStartingPolicy(path.join(options.out, model), model, options.resetPolicy);
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

main().catch((err: unknown) => {
  process.stderr.write(`train: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
