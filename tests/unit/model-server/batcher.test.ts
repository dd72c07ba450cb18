import { AppError } from '../../../common/errors';
import { type BatchReport, createBatcher } from '../../../model-server/batcher';
import type { Prediction } from '../../../model-server/model-loader';

/** A fake model: two classes, probabilities [x0, 1 - x0] per row, so results reveal which row they came from. */
function fakeRun(width: number) {
  const calls: number[] = [];
  const run = (rows: Float32Array, n: number): Prediction => {
    calls.push(n);
    const probabilities = new Float32Array(n * 2);
    const classIndex = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const x = rows[i * width]!;
      probabilities[i * 2] = x;
      probabilities[i * 2 + 1] = 1 - x;
      classIndex[i] = x >= 0.5 ? 0 : 1;
    }
    return { probabilities, classIndex };
  };
  return { run, calls };
}

const rowsOf = (...firsts: number[]) => new Float32Array(firsts.flatMap((x) => [x, 0]));

describe('batcher', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  const make = (overrides: Partial<Parameters<typeof createBatcher>[0]> = {}) => {
    const fake = fakeRun(2);
    const reports: BatchReport[] = [];
    const batcher = createBatcher({
      maxBatchSize: 4,
      maxDelayMs: 5,
      maxQueueRows: 10,
      width: 2,
      run: fake.run,
      now: () => Date.now(),
      onBatch: (r) => reports.push(r),
      ...overrides,
    });
    return { batcher, calls: fake.calls, reports };
  };

  /** A full batch leaves the batcher in its loaded mode, where the next first row waits for company. */
  async function loadUp(batcher: ReturnType<typeof make>['batcher']) {
    await Promise.all([1, 2, 3, 4].map(() => batcher.submit(rowsOf(0.5), 1)));
  }

  it('when traffic is light, runs a lone row on the next turn instead of waiting the delay', async () => {
    const { batcher, calls } = make();
    const a = batcher.submit(rowsOf(0.1), 1);
    expect(calls).toEqual([]); // not synchronously: requests parsed in this I/O phase may still join
    const b = batcher.submit(rowsOf(0.2), 1);
    jest.advanceTimersByTime(0); // the next turn (setImmediate), no time passes
    expect(calls).toEqual([2]);
    expect(Array.from((await a).probabilities)).toEqual([Math.fround(0.1), Math.fround(0.9)]);
    expect(Array.from((await b).probabilities)).toEqual([Math.fround(0.2), Math.fround(0.8)]);
  });

  it('under load (last batch full), holds rows until MAX_BATCH_DELAY_MS after the first one', async () => {
    const { batcher, calls } = make();
    await loadUp(batcher);
    expect(calls).toEqual([4]);
    const a = batcher.submit(rowsOf(0.1), 1);
    jest.advanceTimersByTime(3);
    const b = batcher.submit(rowsOf(0.2), 1);
    expect(calls).toEqual([4]);
    jest.advanceTimersByTime(1);
    expect(calls).toEqual([4]);
    jest.advanceTimersByTime(1);
    expect(calls).toEqual([4, 2]);
    expect(Array.from((await a).probabilities)).toEqual([Math.fround(0.1), Math.fround(0.9)]);
    expect(Array.from((await b).probabilities)).toEqual([Math.fround(0.2), Math.fround(0.8)]);
  });

  it('under load, runs as soon as the batch fills, before the delay is up', async () => {
    const { batcher, calls } = make();
    await loadUp(batcher);
    const all = [0.1, 0.2, 0.3].map((x) => batcher.submit(rowsOf(x), 1));
    jest.advanceTimersByTime(2);
    expect(calls).toEqual([4]);
    all.push(batcher.submit(rowsOf(0.4), 1));
    expect(calls).toEqual([4, 4]);
    await Promise.all(all);
  });

  it('goes back to next-turn batching once a partial batch shows the load has gone', async () => {
    const { batcher, calls } = make();
    await loadUp(batcher);
    const waited = batcher.submit(rowsOf(0.1), 1);
    jest.advanceTimersByTime(0);
    expect(calls).toEqual([4]); // still loaded: waits for company
    jest.advanceTimersByTime(5);
    expect(calls).toEqual([4, 1]);
    await waited;
    const lone = batcher.submit(rowsOf(0.2), 1);
    jest.advanceTimersByTime(0);
    expect(calls).toEqual([4, 1, 1]);
    await lone;
  });

  it('runs at once when MAX_BATCH_SIZE rows are waiting, without waiting for the delay', async () => {
    const { batcher, calls } = make();
    const results = [batcher.submit(rowsOf(0.1, 0.2), 2), batcher.submit(rowsOf(0.3, 0.4), 2)];
    expect(calls).toEqual([4]);
    const [first, second] = await Promise.all(results);
    expect(Array.from(first!.classIndex)).toEqual([1, 1]);
    expect(Array.from(second!.probabilities)).toEqual([0.3, 0.7, 0.4, 0.6].map(Math.fround));
  });

  it('keeps a request whole: one that does not fit in the current batch waits for the next', async () => {
    const { batcher, calls } = make();
    const a = batcher.submit(rowsOf(0.1, 0.2, 0.3), 3);
    const b = batcher.submit(rowsOf(0.4, 0.5), 2);
    // 5 rows waiting ≥ 4: the first batch takes request a (3 rows); b does not fit beside it.
    expect(calls).toEqual([3]);
    jest.advanceTimersByTime(5);
    expect(calls).toEqual([3, 2]);
    expect((await a).classIndex).toHaveLength(3);
    expect(Array.from((await b).probabilities)).toEqual([0.4, 0.6, 0.5, 0.5].map(Math.fround));
  });

  it('runs a request bigger than MAX_BATCH_SIZE alone, as one batch', async () => {
    const { batcher, calls } = make();
    const big = batcher.submit(rowsOf(0.1, 0.2, 0.3, 0.4, 0.5, 0.6), 6);
    expect(calls).toEqual([6]);
    expect((await big).classIndex).toHaveLength(6);
  });

  it('with MAX_BATCH_SIZE=1 runs every request on its own without delay', async () => {
    const { batcher, calls } = make({ maxBatchSize: 1 });
    await Promise.all([batcher.submit(rowsOf(0.1), 1), batcher.submit(rowsOf(0.2, 0.3), 2)]);
    expect(calls).toEqual([1, 2]);
  });

  it('sheds load with 503 overloaded and Retry-After when the queue would pass MAX_QUEUE_ROWS', async () => {
    const { batcher } = make({ maxBatchSize: 10, maxQueueRows: 10 });
    const accepted = batcher.submit(rowsOf(...new Array(8).fill(0.5)), 8);
    await expect(batcher.submit(rowsOf(0.1, 0.2, 0.3), 3)).rejects.toMatchObject({
      code: 'overloaded',
      status: 503,
      headers: { 'Retry-After': '1' },
    });
    expect(batcher.pendingRows()).toBe(8);
    jest.advanceTimersByTime(5);
    await accepted;
    expect(batcher.pendingRows()).toBe(0);
  });

  it('refuses a request with more rows than the queue can ever hold with 413', async () => {
    const { batcher } = make();
    const err = await batcher.submit(rowsOf(...new Array(11).fill(0)), 11).catch((e: AppError) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'payload_too_large', status: 413 });
  });

  it('reports each batch with its rows, duration and per-request waits', async () => {
    let clock = 0;
    const { batcher, reports } = make({ now: () => clock });
    const a = batcher.submit(rowsOf(0.1), 1);
    clock = 2;
    const b = batcher.submit(rowsOf(0.2, 0.3), 2);
    clock = 5;
    jest.advanceTimersByTime(5);
    await Promise.all([a, b]);
    expect(reports).toHaveLength(1);
    expect(reports[0]!.n).toBe(3);
    expect(Array.from(reports[0]!.rows)).toEqual([0.1, 0, 0.2, 0, 0.3, 0].map(Math.fround));
    expect(reports[0]!.waits).toEqual([
      { rows: 1, waitMs: 5 },
      { rows: 2, waitMs: 3 },
    ]);
  });

  it('rejects every request of a batch whose run throws, and keeps serving', async () => {
    let fail = true;
    const fake = fakeRun(2);
    const batcher = createBatcher({
      maxBatchSize: 2,
      maxDelayMs: 1,
      maxQueueRows: 10,
      width: 2,
      now: () => Date.now(),
      run: (rows, n) => {
        if (fail) throw new Error('backend exploded');
        return fake.run(rows, n);
      },
    });
    const a = batcher.submit(rowsOf(0.1), 1);
    const b = batcher.submit(rowsOf(0.2), 1);
    await expect(a).rejects.toThrow('backend exploded');
    await expect(b).rejects.toThrow('backend exploded');
    fail = false;
    const c = batcher.submit(rowsOf(0.3), 1);
    jest.advanceTimersByTime(1);
    expect((await c).classIndex[0]).toBe(1);
  });

  it('drain() resolves once queued rows have run, and at once when idle', async () => {
    const { batcher, calls } = make();
    await batcher.drain();
    const a = batcher.submit(rowsOf(0.1), 1);
    let drained = false;
    const d = batcher.drain().then(() => {
      drained = true;
    });
    await Promise.resolve();
    expect(drained).toBe(false);
    jest.advanceTimersByTime(5);
    await d;
    expect(drained).toBe(true);
    expect(calls).toEqual([1]);
    await a;
  });

  it('runs full batches as they fill and leaves the remainder to the delay', async () => {
    const { batcher, calls } = make({ maxQueueRows: 20 });
    const all = Array.from({ length: 10 }, (_, i) => batcher.submit(rowsOf(i / 10), 1));
    expect(calls).toEqual([4, 4]);
    jest.advanceTimersByTime(5);
    expect(calls).toEqual([4, 4, 2]);
    const results = await Promise.all(all);
    results.forEach((r, i) => {
      expect(r.probabilities[0]).toBeCloseTo(i / 10, 6);
    });
  });

  it('runs the next full batch on the next turn when a backlog remains after a batch', async () => {
    const { batcher, calls } = make();
    const small = batcher.submit(rowsOf(0.1), 1);
    const big = batcher.submit(rowsOf(0.2, 0.3, 0.4, 0.5, 0.6), 5);
    expect(calls).toEqual([1]); // the big request does not fit beside the small one
    jest.runOnlyPendingTimers(); // setImmediate, not the 5 ms delay
    expect(calls).toEqual([1, 5]);
    await Promise.all([small, big]);
  });
});
