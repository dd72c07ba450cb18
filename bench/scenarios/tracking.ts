/** Issue 10: the evidence store. (1) The gateway with tracking on vs off at 32 connections, the two
 * gateways side by side on one registry and model-servers, interleaved: throughput ratio, added p50,
 * gateway CPU µs per request (/proc/<pid>/stat). (2) Sustained ingest of prediction records through
 * the batched writer, and feedback joins at 32 in flight, into SQLite and into PostgreSQL. (3) The
 * report's queries over 1M stored predictions on SQLite. */

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { uuidV7 } from '../../common/uuid-v7';
import { createEvidenceStore, type EvidenceStore } from '../../tracking/evidence-store';
import { noExperimentReport } from '../../tracking/experiments/no-experiment';
import type { PredictionRecord } from '../../tracking/record';
import { kyselySink } from '../../tracking/store/batch-write';
import { openDatabase } from '../../tracking/store/database';
import { latencyBucketOf } from '../../tracking/store/schema';
import { PredictionWriter } from '../../tracking/writer';
import type { BenchContext, Scenario } from '../harness/context';
import { type Arm, interleave } from '../harness/interleave';
import { runLoad } from '../harness/load';
import { createDatabase, startPostgres } from '../harness/postgres';
import { cpuMicros } from '../harness/proc-stats';
import { fmt, type Section } from '../harness/report';
import { metricValues, modelInfo, predictBody } from '../harness/stack';
import { median } from '../harness/stats';
import { GATEWAY_MODEL, splitLabel, startSplitStack, waitForSplit } from './gateway';

export const trackingScenario: Scenario = async (ctx) => [
  await trackingOverhead(ctx),
  await storeThroughput(ctx),
  await requestIdOrder(ctx),
  await reportLatency(ctx),
];

async function trackingOverhead(ctx: BenchContext): Promise<Section> {
  const info = modelInfo(GATEWAY_MODEL);
  const stack = await startSplitStack(ctx, info, { TRACKING_FLUSH_MS: '200' });
  try {
    const tracked = stack.gateway!;
    const untracked = await ctx.group.modelgate('gateway-untracked', ['gateway'], {
      REGISTRY_URL: stack.registry.url,
      TRACKING_ENABLED: 'false',
    });
    await waitForSplit(untracked.url, info);
    const body = predictBody(info);
    const cpu = new Map<string, { micros: number; requests: number }>();
    const arm = (name: string, gateway: typeof tracked): Arm => ({
      name,
      run: async (durationS) => {
        const before = cpuMicros(gateway.pid);
        const result = await runLoad({
          urls: [`${gateway.url}/predict`],
          method: 'POST',
          body,
          connections: 32,
          durationS,
        });
        const used = cpu.get(name) ?? { micros: 0, requests: 0 };
        used.micros += cpuMicros(gateway.pid) - before;
        used.requests += result.requests;
        cpu.set(name, used);
        return result;
      },
    });
    ctx.log('tracking: gateway with tracking on vs off, closed loop, 32 connections');
    // Five rounds in full mode: this machine's speed drifts by a third within one run, more than the
    // difference measured, so the per-round pairs are printed beside the medians.
    const [on, off] = await interleave([arm('tracking on', tracked), arm('tracking off', untracked)], {
      rounds: ctx.quick ? ctx.rounds : Math.max(ctx.rounds, 5),
      durationS: ctx.durationS,
      warmupS: ctx.warmupS,
      log: ctx.log,
    });
    const perRequest = (name: string) => {
      const c = cpu.get(name)!;
      return c.micros / c.requests;
    };
    const metrics = await (await fetch(`${tracked.url}/metrics`)).text();
    const written = metricValues(metrics, 'modelgate_tracking_records_written_total').reduce(
      (a, b) => a + b.value,
      0,
    );
    const dropped = metricValues(metrics, 'modelgate_tracking_dropped_total').reduce(
      (a, b) => a + b.value,
      0,
    );
    const ratio = on!.rps / off!.rps;
    const addedP50 = on!.p50Ms - off!.p50Ms;
    const row = (r: typeof on, name: string) => [
      name,
      fmt.rps(r!.rps),
      fmt.ms(r!.p50Ms),
      fmt.ms(r!.p99Ms),
      perRequest(name).toFixed(0),
      String(r!.failures),
    ];
    return {
      title: 'Tracking overhead: the gateway recording every prediction vs not (npm run bench -- tracking)',
      setup:
        `${info.model} ${splitLabel(info)}; two gateways on one registry and the same model-servers, one with ` +
        'the evidence store (SQLite file, TRACKING_FLUSH_MS=200), one with TRACKING_ENABLED=false; single-row ' +
        "`POST /predict`, closed loop at 32 connections, arms interleaved. CPU is the gateway process's " +
        'user+system time over the measured runs divided by the requests answered.',
      headers: ['arm', 'req/s', 'p50 ms', 'p99 ms', 'gateway CPU µs/req', 'failures'],
      rows: [row(on, 'tracking on'), row(off, 'tracking off')],
      goals: [
        { text: 'throughput with tracking ≥ 0.9x without', measured: fmt.ratio(ratio), met: ratio >= 0.9 },
        { text: 'added p50 ≤ 0.3 ms', measured: `${fmt.ms(addedP50)} ms`, met: addedP50 <= 0.3 },
      ],
      notes: [
        `records written by the tracked gateway: ${written}, dropped: ${dropped}`,
        `per round (on / off, A B A B …): throughput ${on!.runs.map((r, i) => fmt.ratio(r.rps / off!.runs[i]!.rps)).join(', ')}; ` +
          `added p50 ${on!.runs.map((r, i) => (r.p50Ms - off!.runs[i]!.p50Ms).toFixed(2)).join(', ')} ms`,
      ],
    };
  } finally {
    await stack.close();
  }
}

function syntheticRecord(i: number, at: number): PredictionRecord {
  return {
    requestId: `bench-${i}`,
    row: 0,
    model: 'digits',
    version: String(1 + (i % 3)),
    experimentId: null,
    unit: `u${i % 5000}`,
    route: '/predict',
    reason: 'split',
    status: 200,
    ok: true,
    latencyMs: 2 + (i % 17) * 0.7,
    predictedClass: String(i % 10),
    confidence: 0.9,
    at,
  };
}

/** Pushes `rows` records a chunk per event-loop turn (as request handlers would) and waits until the
 * writer has flushed them all; rows per second over the whole run. */
async function ingest(store: EvidenceStore, rows: number): Promise<number> {
  const started = performance.now();
  const now = Date.now();
  for (let i = 0; i < rows; i += 2000) {
    for (let j = i; j < Math.min(rows, i + 2000); j++) store.record(syntheticRecord(j, now));
    await new Promise((r) => setImmediate(r));
  }
  await store.flush();
  await store.flush();
  return rows / ((performance.now() - started) / 1000);
}

async function joinFeedback(store: EvidenceStore, labels: number, concurrency: number): Promise<number> {
  let next = 0;
  let failed = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < labels) {
        const i = next++;
        const outcome = await store.feedback({ requestId: `bench-${i}`, label: String((i * 7) % 10) });
        if (outcome.kind !== 'created') failed++;
      }
    }),
  );
  if (failed > 0) throw new Error(`${failed} of ${labels} feedback joins did not create a label`);
  return labels / ((performance.now() - started) / 1000);
}

async function storeThroughput(ctx: BenchContext): Promise<Section> {
  const rows = ctx.quick ? 100_000 : 500_000;
  const labels = ctx.quick ? 5_000 : 20_000;
  const dir = mkdtempSync(path.join(tmpdir(), 'modelgate-bench-tracking-'));
  ctx.log('tracking: starting a throwaway PostgreSQL cluster');
  const pg = await startPostgres();
  const results: string[][] = [];
  try {
    const urls = {
      SQLite: `sqlite:${path.join(dir, 'ingest.db')}`,
      PostgreSQL: await createDatabase(pg, 'bench_ingest'),
    };
    for (const [engine, url] of Object.entries(urls)) {
      const store = createEvidenceStore({
        database: await openDatabase(url),
        now: Date.now,
        flushMs: 50,
        bufferRows: rows + 1,
        retentionDays: 30,
        retention: false,
      });
      try {
        ctx.log(`tracking: ingest ${rows} records into ${engine}`);
        const ingestRate = await ingest(store, rows);
        ctx.log(`tracking: ${labels} feedback joins into ${engine}, 32 in flight`);
        const joinRate = await joinFeedback(store, labels, 32);
        results.push([engine, fmt.rps(ingestRate), fmt.rps(joinRate)]);
      } finally {
        await store.close();
      }
    }
  } finally {
    await pg.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    title: 'Evidence store throughput: ingest and feedback joins, SQLite vs PostgreSQL',
    setup:
      `${rows} prediction records pushed into the batched writer (2 000 per event-loop turn, flushed every 50 ms ` +
      `in 1 000-row INSERTs) until all are written; then ${labels} feedback joins (lookup, insert, 32 in ` +
      'flight). SQLite: a WAL file on the local disk; PostgreSQL 15: a throwaway cluster on loopback with fsync off.',
    headers: ['engine', 'ingest rows/s', 'feedback joins/s'],
    rows: results,
    goals: [],
    notes: [],
  };
}

/** The writer's CPU per row as the table grows, with the gateway's request ids random (UUID v4, as
 * before) or time-ordered (UUID v7, common/uuid-v7.ts): the `predictions_request` index takes random
 * keys on random pages once it outgrows the page cache. Two SQLite files, chunks alternating between
 * them, so both arms see the same machine; CPU is this process's (the writer is synchronous here). */
async function requestIdOrder(ctx: BenchContext): Promise<Section> {
  const chunk = ctx.quick ? 20_000 : 50_000;
  const chunks = ctx.quick ? 3 : 8;
  const dir = mkdtempSync(path.join(tmpdir(), 'modelgate-bench-ids-'));
  const arms = [
    { name: 'random (UUID v4)', id: () => randomUUID(), perRow: [] as number[] },
    { name: 'time-ordered (UUID v7)', id: () => uuidV7(), perRow: [] as number[] },
  ];
  try {
    const writers = await Promise.all(
      arms.map(async (_, i) => {
        const database = await openDatabase(`sqlite:${path.join(dir, `ids-${i}.db`)}`);
        const writer = new PredictionWriter({
          sink: kyselySink(database.db),
          flushMs: 1e9,
          bufferRows: chunk,
        });
        return { database, writer };
      }),
    );
    ctx.log(`tracking: ${chunks} chunks of ${chunk} rows per request-id kind, alternating`);
    for (let c = 0; c < chunks; c++) {
      for (const [i, arm] of arms.entries()) {
        const { writer } = writers[i]!;
        const now = Date.now();
        for (let j = 0; j < chunk; j++) writer.push({ ...syntheticRecord(j, now), requestId: arm.id() });
        const before = process.cpuUsage();
        await writer.flush();
        const used = process.cpuUsage(before);
        arm.perRow.push((used.user + used.system) / chunk);
      }
    }
    for (const { database } of writers) await database.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const [random, ordered] = arms;
  const last = (a: (typeof arms)[number]) => a.perRow[a.perRow.length - 1]!;
  return {
    title: 'Request-id order and the writer: CPU per row as the predictions table grows (SQLite)',
    setup:
      `${chunks} chunks of ${chunk} records per arm, written through the batched writer in 1 000-row ` +
      'INSERTs, chunks of the two arms alternating; the arms differ only in how request ids are made.',
    headers: ['request ids', 'first chunk µs/row', 'last chunk µs/row', 'rows at the end'],
    rows: arms.map((a) => [a.name, a.perRow[0]!.toFixed(1), last(a).toFixed(1), String(chunk * chunks)]),
    goals: [],
    notes: [`last chunk, random vs time-ordered: ${fmt.ratio(last(random!) / last(ordered!))}`],
  };
}

/** Bulk-loads the SQLite file directly (one prepared INSERT in large transactions, then the hourly
 * counts the writer would have kept: the writer's own speed is measured above), then times what
 * GET /experiments/:model and GET /predictions run. */
async function reportLatency(ctx: BenchContext): Promise<Section> {
  const predictions = 1_000_000;
  const labelEvery = 10;
  const dir = mkdtempSync(path.join(tmpdir(), 'modelgate-bench-report-'));
  const file = path.join(dir, 'report.db');
  try {
    (await openDatabase(`sqlite:${file}`)).close();
    ctx.log(
      `tracking: loading ${predictions} predictions (${predictions / labelEvery} labelled) into SQLite`,
    );
    const raw = new SqliteDatabase(file);
    raw.pragma('journal_mode = WAL');
    const insert = raw.prepare(
      'INSERT INTO predictions (request_id, "row", model, version, experiment_id, unit, route, reason, status, ok, latency_ms, latency_bucket, predicted_class, confidence, created_at) VALUES (?, 0, ?, ?, NULL, ?, ?, ?, 200, ?, ?, ?, ?, ?, ?)',
    );
    const label = raw.prepare(
      'INSERT INTO feedback (request_id, "row", label, correct, model, version, experiment_id, predicted_at, created_at) VALUES (?, 0, ?, ?, ?, ?, NULL, ?, ?)',
    );
    const start = Date.now() - 7 * 86_400_000;
    const load = raw.transaction((from: number, to: number) => {
      for (let i = from; i < to; i++) {
        // Two models, so the report's query has to pick one; digits gets 90% of the rows.
        const model = i % 10 === 9 ? 'penguins' : 'digits';
        const version = String(1 + (i % 3));
        const latency = 2 + ((i * 7919) % 400) / 10;
        const at = start + Math.floor((i * 7 * 86_400_000) / predictions);
        const ok = i % 200 === 0 ? 0 : 1;
        insert.run(
          `r${i}`,
          model,
          version,
          `u${i % 20_000}`,
          '/predict',
          'split',
          ok,
          latency,
          latencyBucketOf(latency),
          ok ? String(i % 10) : null,
          0.9,
          at,
        );
        if (ok && i % labelEvery === 0)
          label.run(`r${i}`, String(i % 7), i % 7 === i % 10 ? 1 : 0, model, version, at, at + 1000);
      }
    });
    const loadStarted = performance.now();
    for (let i = 0; i < predictions; i += 50_000) load(i, Math.min(predictions, i + 50_000));
    // The hourly counts the writer keeps beside the rows, computed once for the bulk-loaded ones.
    raw.exec(`INSERT INTO prediction_counts (model, experiment_id, version, reason, ok, latency_bucket, hour, requests, "rows")
      SELECT model, coalesce(experiment_id, ''), version, reason, ok, latency_bucket, created_at - (created_at % 3600000),
             sum(case when "row" = 0 then 1 else 0 end), count(*)
      FROM predictions GROUP BY 1, 2, 3, 4, 5, 6, 7`);
    raw.pragma('wal_checkpoint(TRUNCATE)');
    raw.exec('ANALYZE');
    raw.close();
    const loadSeconds = (performance.now() - loadStarted) / 1000;

    const store = createEvidenceStore({
      database: await openDatabase(`sqlite:${file}`),
      now: Date.now,
      flushMs: 200,
      bufferRows: 10,
      retentionDays: 30,
      retention: false,
    });
    try {
      const time = async (work: () => Promise<unknown>, runs: number) => {
        await work();
        const ms: number[] = [];
        for (let i = 0; i < runs; i++) {
          const t = performance.now();
          await work();
          ms.push(performance.now() - t);
        }
        return { median: median(ms), max: Math.max(...ms) };
      };
      const report = async () => {
        const { versions, since } = await store.evidence({ model: 'digits' });
        return noExperimentReport({
          model: 'digits',
          weights: versions.map((v) => ({ version: v.version, weight: 100 / versions.length })),
          control: '1',
          evidence: versions,
          since,
          driftPsiMax: new Map(),
        });
      };
      ctx.log('tracking: timing the report and a GET /predictions page over 1M rows');
      const runs = ctx.quick ? 5 : 15;
      const r = await time(report, runs);
      const page = await time(() => store.predictions({ model: 'digits', version: '2', limit: 100 }), runs);
      const deep = await time(
        () =>
          store.predictions({
            model: 'digits',
            since: start + 3 * 86_400_000,
            until: start + 4 * 86_400_000,
            limit: 1000,
          }),
        runs,
      );
      const checked = await report();
      const counted = checked.versions.reduce((sum, v) => sum + v.requests, 0);
      return {
        title: 'Report latency at 1M stored predictions (SQLite)',
        setup:
          `${predictions} predictions over 7 days (90% digits, 3 versions; 0.5% errors), ${predictions / labelEvery} ` +
          `labels, loaded in ${loadSeconds.toFixed(1)} s; the report counted ${counted} digits requests. Times are ` +
          `in-process (the query layer and noExperimentReport, no HTTP), median and max of ${runs} runs after one warm-up.`,
        headers: ['query', 'median ms', 'max ms'],
        rows: [
          [
            'report: per-version evidence with no experiment running (GET /experiments/digits)',
            fmt.ms(r.median),
            fmt.ms(r.max),
          ],
          ['GET /predictions?model=digits&version=2&limit=100', fmt.ms(page.median), fmt.ms(page.max)],
          [
            'GET /predictions?model=digits&since=…&until=… (one day)&limit=1000',
            fmt.ms(deep.median),
            fmt.ms(deep.max),
          ],
        ],
        goals: [
          {
            text: 'report < 200 ms at 1M predictions on SQLite',
            measured: `${fmt.ms(r.median)} ms`,
            met: r.median < 200,
          },
        ],
        notes: [],
      };
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
