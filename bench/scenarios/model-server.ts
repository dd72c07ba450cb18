/** Scenario 4 (issue 2): dynamic batching. For each shipped version, single-row OIP v2 clients at
 * 1, 16 and 64 connections against two model-servers of the same version, batching on
 * (MAX_BATCH_SIZE=32) and off (MAX_BATCH_SIZE=1), interleaved; plus the in-process limit. */
import { rmSync } from 'node:fs';
import type { BenchContext, Scenario } from '../harness/context';
import { type ArmSummary, interleave } from '../harness/interleave';
import { runLoad } from '../harness/load';
import { fmt, type Goal } from '../harness/report';
import { type ModelInfo, modelInfo, oipBody, temporaryStore } from '../harness/stack';
import { measureInProcessLimit } from './in-process';

const GOAL_MODEL = { model: 'digits', version: '2' };

export const modelServerScenario: Scenario = async (ctx) => {
  const infos = ['digits', 'penguins'].map(modelInfo);
  const concurrencies = ctx.quick ? [1, 64] : [1, 16, 64];
  const rows: string[][] = [];
  const goals: Goal[] = [];
  const notes: string[] = [];
  for (const info of infos) {
    for (const version of info.versions) {
      ctx.log(`model-server: ${info.model}/${version} in-process limit`);
      const limit = await measureInProcessLimit(info.model, version, { seconds: ctx.quick ? 2 : 5 });
      // The ceiling for any batching gain: a bare predict's rows/s at batch 32 over batch 1. Served
      // batching cannot beat it, since each request also costs HTTP and JSON that batching keeps.
      const single = await measureInProcessLimit(info.model, version, {
        batch: 1,
        seconds: ctx.quick ? 2 : 5,
      });
      const ceiling = limit.rowsPerSecond / single.rowsPerSecond;
      const results = await measureVersion(ctx, info, version, concurrencies);
      for (const r of results) {
        rows.push([
          `${info.model}/${version}`,
          String(r.connections),
          fmt.rps(r.off.rps),
          `${fmt.ms(r.off.p50Ms)} / ${fmt.ms(r.off.p99Ms)}`,
          fmt.rps(r.on.rps),
          `${fmt.ms(r.on.p50Ms)} / ${fmt.ms(r.on.p99Ms)}`,
          fmt.ratio(r.on.rps / r.off.rps),
          `${fmt.rps(limit.rowsPerSecond)} (${limit.backend})`,
          `${((100 * r.on.rps) / limit.rowsPerSecond).toFixed(0)}%`,
          fmt.ratio(ceiling),
          String(r.on.failures + r.off.failures),
        ]);
      }
      const at64 = results.find((r) => r.connections === 64);
      if (info.model === GOAL_MODEL.model && version === GOAL_MODEL.version && at64) {
        const speedup = at64.on.rps / at64.off.rps;
        const share = at64.on.rps / limit.rowsPerSecond;
        goals.push(
          {
            text: `digits v2 (CNN): batching on ≥ 3x rows/s of batching off at 64 clients`,
            measured: `${fmt.ratio(speedup)} (in-process ceiling, bare predict at batch 32 over batch 1: ${fmt.ratio(ceiling)})`,
            met: speedup >= 3,
          },
          {
            text: 'digits v2 (CNN): served rows/s ≥ 25% of the in-process limit (batch 32)',
            measured: `${(100 * share).toFixed(0)}%`,
            met: share >= 0.25,
          },
        );
      }
      if (info.model === 'penguins' && at64) {
        notes.push(
          `penguins/${version}: a bare predict does ${fmt.rps(limit.rowsPerSecond)} rows/s, so HTTP and JSON ` +
            `dominate; served ${fmt.rps(at64.on.rps)} rows/s (${((100 * at64.on.rps) / limit.rowsPerSecond).toFixed(1)}% of it). ` +
            'Batching helps only as far as it saves predict calls; see Findings in bench/README.md.',
        );
      }
    }
  }
  return [
    {
      title: 'Model-server: dynamic batching (npm run bench -- model-server)',
      setup:
        'Single-row OIP v2 requests (`POST /v2/models/M/versions/V/infer`) from N keep-alive connections to ' +
        'one model-server with batching on (MAX_BATCH_SIZE=32, MAX_BATCH_DELAY_MS=2) and one with it off ' +
        '(MAX_BATCH_SIZE=1), interleaved. rows/s = req/s here. The in-process limit is a bare predict at ' +
        'batch 32 in the harness process (tensor in, probabilities and argmax out); "in-process batch 32 / batch 1" ' +
        'is that limit over the same predict at batch 1: the most any batching can gain for the model.',
      headers: [
        'version',
        'clients',
        'off rows/s',
        'off p50 / p99 ms',
        'on rows/s',
        'on p50 / p99 ms',
        'on / off',
        'in-process limit rows/s',
        'on / limit',
        'in-process batch 32 / batch 1',
        'failures',
      ],
      rows,
      goals,
      notes,
    },
  ];
};

/** A model-server's environment with batching on (MAX_BATCH_SIZE=32, MAX_BATCH_DELAY_MS=2) or off
 * (MAX_BATCH_SIZE=1), as this scenario and bench/compare-builds.ts run it. No registry: heartbeats
 * fail quietly and the model-server serves regardless. */
export function batchingEnv(store: string, on: boolean): NodeJS.ProcessEnv {
  return {
    MODEL_STORE: store,
    REGISTRY_URL: 'http://127.0.0.1:9',
    MAX_BATCH_DELAY_MS: '2',
    MAX_BATCH_SIZE: on ? '32' : '1',
  };
}

interface VersionResult {
  connections: number;
  on: ArmSummary;
  off: ArmSummary;
}

async function measureVersion(
  ctx: BenchContext,
  info: ModelInfo,
  version: string,
  concurrencies: number[],
): Promise<VersionResult[]> {
  const store = temporaryStore([info.model]);
  const args = ['model-server', '--model', info.model, '--version', version];
  const on = await ctx.group.modelgate(
    `${info.model}/${version} batching on`,
    args,
    batchingEnv(store, true),
  );
  const off = await ctx.group.modelgate(
    `${info.model}/${version} batching off`,
    args,
    batchingEnv(store, false),
  );
  try {
    const body = oipBody(info, 1);
    const path = `/v2/models/${info.model}/versions/${version}/infer`;
    const results: VersionResult[] = [];
    for (const connections of concurrencies) {
      ctx.log(`model-server: ${info.model}/${version} at ${connections} clients`);
      const arm = (name: string, url: string) => ({
        name,
        run: (durationS: number) =>
          runLoad({ urls: [url + path], method: 'POST', body, connections, durationS }),
      });
      const [onSummary, offSummary] = await interleave([arm('on', on.url), arm('off', off.url)], {
        rounds: ctx.rounds,
        durationS: ctx.durationS,
        warmupS: ctx.warmupS,
        log: ctx.log,
      });
      results.push({ connections, on: onSummary!, off: offSummary! });
    }
    return results;
  } finally {
    await Promise.all([on.stop(), off.stop()]);
    rmSync(store, { recursive: true, force: true });
  }
}
