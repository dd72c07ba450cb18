/** The feature store's added latency: a prediction's row built from an entity lookup (one MGET on a
 * real redis-server, one SELECT on the embedded SQLite store) against the same row carried in the
 * request, measured in-process on the gateway's own code path (gateway/features/rows.ts encodeRows
 * with the shipped penguins spec), arms interleaved A B C A B C so machine noise hits all alike.
 * HTTP and the model are the same in every arm, so they are left out: what differs is the lookup. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { compileFeatureSpec } from '../../common/feature-spec';
import { encodeRows } from '../../gateway/features/rows';
import type { ModelRoute, VersionRoute } from '../../gateway/routing/route-state';
import { PENGUIN_FEATURE_SPEC } from '../../models/train/penguins-data';
import { createRedisFeatureStore } from '../../tracking/features/redis-store';
import { createSqlFeatureStore } from '../../tracking/features/sql-store';
import type { FeatureStore } from '../../tracking/features/store';
import { openDatabase } from '../../tracking/store/database';
import type { Scenario } from '../harness/context';
import { freePort } from '../harness/free-port';
import { percentile } from '../harness/stats';

const ENTITIES = 1000;
const values = {
  bill_length_mm: 39.1,
  bill_depth_mm: 18.7,
  flipper_length_mm: 181,
  body_mass_g: 3750,
  island: 'Torgersen',
  sex: 'male',
};

export const featuresScenario: Scenario = async (ctx) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-features-'));
  const port = await freePort();
  const redis = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  try {
    const database = await openDatabase(`sqlite:${path.join(dir, 'features.db')}`);
    const stores: Record<string, FeatureStore> = {
      redis: createRedisFeatureStore({ url: `redis://127.0.0.1:${port}`, timeoutMs: 1000, prefix: 'bench' }),
      sqlite: createSqlFeatureStore({ db: database.db, now: Date.now }),
    };
    await stores.redis!.ready(10_000);
    const rows = Array.from({ length: ENTITIES }, (_, i) => ({ entity: `p-${i}`, values }));
    for (const store of Object.values(stores)) await store.put('penguins', rows);
    const encoder = compileFeatureSpec(PENGUIN_FEATURE_SPEC);
    const version = {
      version: '1',
      encoder,
      specKey: 'k',
      inputWidth: 8,
      features: [],
    } as unknown as VersionRoute;
    const model = { name: 'penguins' } as ModelRoute;
    const arms: Record<string, () => unknown> = {
      'features in the request': () =>
        encodeRows({ model, version, inputs: [{ features: values }], lookup: undefined }),
      'entity, Redis': () =>
        encodeRows({
          model,
          version,
          inputs: [{ entity: { penguin_id: `p-${Math.floor(Math.random() * ENTITIES)}` } }],
          lookup: (m, e) => stores.redis!.getMany(m, e),
        }),
      'entity, embedded SQLite': () =>
        encodeRows({
          model,
          version,
          inputs: [{ entity: { penguin_id: `p-${Math.floor(Math.random() * ENTITIES)}` } }],
          lookup: (m, e) => stores.sqlite!.getMany(m, e),
        }),
    };
    const perRound = ctx.quick ? 500 : 5000;
    const samples: Record<string, number[]> = Object.fromEntries(Object.keys(arms).map((k) => [k, []]));
    for (let round = 0; round < (ctx.quick ? 3 : ctx.rounds * 2); round++) {
      for (const [name, run] of Object.entries(arms)) {
        for (let i = 0; i < perRound; i++) {
          const t = performance.now();
          await run();
          if (round > 0) samples[name]!.push((performance.now() - t) * 1000);
        }
      }
    }
    for (const store of Object.values(stores)) await store.close();
    await database.close();
    const base = samples['features in the request']!;
    const p = (s: number[], q: number) => percentile(s, q);
    const table = Object.entries(samples).map(([name, s]) => [
      name,
      p(s, 50).toFixed(1),
      p(s, 99).toFixed(1),
      (p(s, 50) - p(base, 50)).toFixed(1),
      (p(s, 99) - p(base, 99)).toFixed(1),
    ]);
    ctx.log(`features: ${table.map((r) => r.join(' ')).join('; ')}`);
    const added = Math.max(...Object.values(samples).map((s) => p(s, 50) - p(base, 50)));
    return [
      {
        title: 'Feature store lookup',
        setup: `Row encoding for one penguins prediction, ${perRound} per arm per round, arms interleaved; the stores hold ${ENTITIES} entities.`,
        headers: ['arm', 'p50 µs', 'p99 µs', 'added p50 µs', 'added p99 µs'],
        rows: table,
        goals: [
          { text: 'lookup adds at most 1 ms at p50', measured: `${added.toFixed(0)} µs`, met: added <= 1000 },
        ],
        notes: ['In-process: HTTP and the model cost the same in every arm and are left out.'],
      },
    ];
  } finally {
    redis.kill();
    rmSync(dir, { recursive: true, force: true });
  }
};
