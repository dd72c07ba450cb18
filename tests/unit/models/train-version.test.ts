import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readVersionFolder } from '../../../common/model-artifact';
import { loadTf } from '../../../common/tfjs';
import { loadPenguins } from '../../../models/train/penguins-data';
import { RECIPES, SPLIT_SEEDS } from '../../../models/train/recipes';
import { evaluate, type TrainProgress, trainVersion } from '../../../models/train/train-version';
import { writeVersionFolder } from '../../../models/train/write-store';

describe('evaluate', () => {
  it('scores accuracy by argmax and mean cross-entropy of the true class', () => {
    const result = evaluate(
      [
        [0.5, 0.25, 0.25],
        [0.1, 0.8, 0.1],
      ],
      [0, 2],
    );
    expect(result.accuracy).toBe(0.5);
    // −(ln 0.5 + ln 0.1) / 2
    expect(result.loss).toBeCloseTo(-(Math.log(0.5) + Math.log(0.1)) / 2, 12);
  });
});

describe('trainVersion', () => {
  const recipe = RECIPES.find((r) => r.model === 'penguins' && r.version === '1')!;
  const data = loadPenguins(SPLIT_SEEDS.penguins);
  let clock = 0;
  const now = () => (clock += 500);

  function countingProgress() {
    const seen = { total: 0, batches: 0, stopped: false };
    const progress: TrainProgress = {
      start: (total) => {
        seen.total = total;
      },
      batch: () => {
        seen.batches++;
      },
      stop: () => {
        seen.stopped = true;
      },
    };
    return { seen, progress };
  }

  it('trains reproducibly: the same recipe gives byte-identical artifacts', async () => {
    const { tf } = await loadTf('wasm');
    const first = countingProgress();
    const a = await trainVersion({ tf, progress: first.progress, now }, recipe, data);
    const b = await trainVersion({ tf, progress: countingProgress().progress, now }, recipe, data);
    expect(a.files.get('group1-shard1of1.bin')!.equals(b.files.get('group1-shard1of1.bin')!)).toBe(true);
    expect(a.files.get('model.json')!.equals(b.files.get('model.json')!)).toBe(true);
    expect(a.metadata.metrics).toEqual(b.metadata.metrics);
    expect(a.metadata.metrics.accuracy).toBeGreaterThan(0.95);
    expect(a.metadata.metrics.train_seconds).toBe(0.5);
    expect(first.seen).toEqual({
      total: 40 * Math.ceil(249 / 16),
      batches: 40 * Math.ceil(249 / 16),
      stopped: true,
    });
  }, 60_000);

  it('writes a folder that readVersionFolder loads and verifies', async () => {
    const { tf } = await loadTf('wasm');
    const trained = await trainVersion({ tf, progress: countingProgress().progress, now }, recipe, data);
    const dir = await mkdtemp(path.join(tmpdir(), 'modelgate-train-'));
    try {
      await writeVersionFolder(path.join(dir, 'penguins', '1'), trained.files);
      const loaded = await readVersionFolder(path.join(dir, 'penguins', '1'));
      expect(loaded.metadata).toEqual(trained.metadata);
      expect(loaded.metadata.training).toMatchObject({ backend: 'wasm', seed: 11, epochs: 40 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
