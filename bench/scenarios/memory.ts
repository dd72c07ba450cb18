/** Scenario 6: memory. RSS of the gateway and the model-servers at rest and under load, then a soak
 * at a fixed 200 req/s (30 s in --quick, 10 minutes in the full run) sampling RSS and open sockets
 * from /proc, and event-loop lag and live TF.js tensors from each process's /metrics. "No growth"
 * is judged on the slope over the soak after its first fifth (heaps and JIT settle first). */
import type { Scenario } from '../harness/context';
import { runLoad } from '../harness/load';
import { openSockets, rssBytes } from '../harness/proc-stats';
import { fmt, type Goal } from '../harness/report';
import { metricValues, modelInfo, oipBody } from '../harness/stack';
import { slope } from '../harness/stats';
import { splitLabel, startSplitStack } from './gateway';

interface Sample {
  tS: number;
  rss: number;
  sockets: number;
  lagP99S: number;
  tensors: number;
}

interface Watched {
  name: string;
  pid: number;
  url: string;
}

async function sample(proc: Watched, t0: number): Promise<Sample> {
  let lagP99S = Number.NaN;
  let tensors = Number.NaN;
  try {
    const text = await (await fetch(`${proc.url}/metrics`)).text();
    lagP99S = metricValues(text, 'modelgate_nodejs_eventloop_lag_p99_seconds')[0]?.value ?? Number.NaN;
    tensors = metricValues(text, 'modelgate_model_tensors')[0]?.value ?? Number.NaN;
  } catch {
    // a missed scrape leaves NaN; the /proc figures still count
  }
  return {
    tS: (Date.now() - t0) / 1000,
    rss: rssBytes(proc.pid),
    sockets: openSockets(proc.pid),
    lagP99S,
    tensors,
  };
}

/** Samples every process every `everyMs` until `until` settles. */
async function sampleDuring(
  procs: Watched[],
  until: Promise<unknown>,
  everyMs: number,
): Promise<Map<string, Sample[]>> {
  const t0 = Date.now();
  const samples = new Map<string, Sample[]>(procs.map((p) => [p.name, []]));
  let done = false;
  void until.finally(() => {
    done = true;
  });
  while (!done) {
    for (const p of procs) samples.get(p.name)!.push(await sample(p, t0));
    await Promise.race([until.catch(() => {}), new Promise((r) => setTimeout(r, everyMs))]);
  }
  await until;
  return samples;
}

export const memoryScenario: Scenario = async (ctx) => {
  const info = modelInfo('digits');
  const stack = await startSplitStack(ctx, info);
  try {
    const procs: Watched[] = [
      { name: 'gateway', pid: stack.gateway!.pid, url: stack.gateway!.url },
      ...stack.modelServers.map((m) => ({
        name: `model-server ${m.model}/${m.version}`,
        pid: m.service.pid,
        url: m.service.url,
      })),
    ];
    const infer = `${stack.gateway!.url}/v2/models/${info.model}/infer`;
    const body = oipBody(info, 1);
    await new Promise((r) => setTimeout(r, 2000));
    const rest = new Map(procs.map((p) => [p.name, rssBytes(p.pid)]));

    ctx.log('memory: under load (32 connections)');
    const loaded = await sampleDuring(
      procs,
      runLoad({ urls: [infer], method: 'POST', body, connections: 32, durationS: ctx.durationS * 2 }),
      1000,
    );

    const soakS = ctx.quick ? 30 : 600;
    ctx.log(`memory: soak at 200 req/s for ${soakS} s`);
    const soakRun = runLoad({
      urls: [infer],
      method: 'POST',
      body,
      connections: 10,
      durationS: soakS,
      rate: 200,
    });
    const soak = await sampleDuring(procs, soakRun, ctx.quick ? 2000 : 10_000);
    const soakResult = await soakRun;

    const rows: string[][] = [];
    const goals: Goal[] = [];
    for (const p of procs) {
      const underLoad = Math.max(...loaded.get(p.name)!.map((s) => s.rss));
      const series = soak.get(p.name)!;
      const settled = series.filter((s) => s.tS >= soakS / 5);
      const first = settled[0];
      const last = settled[settled.length - 1];
      const mbPerMin = slope(settled.map((s) => ({ x: s.tS / 60, y: s.rss }))) / 1024 / 1024;
      const lagMax = Math.max(...series.map((s) => s.lagP99S).filter(Number.isFinite));
      rows.push([
        p.name,
        fmt.mb(rest.get(p.name)!),
        fmt.mb(underLoad),
        `${fmt.mb(first?.rss ?? Number.NaN)} → ${fmt.mb(last?.rss ?? Number.NaN)}`,
        mbPerMin.toFixed(2),
        `${first?.sockets ?? '–'} → ${last?.sockets ?? '–'}`,
        Number.isFinite(first?.tensors) ? `${first!.tensors} → ${last!.tensors}` : 'n/a',
        Number.isFinite(lagMax) ? (lagMax * 1000).toFixed(1) : '–',
      ]);
      // Under 1 MB/min after settling, sockets and tensors flat: anything that grows with requests
      // served would show at 200 req/s as a steady climb.
      const flatTensors = !Number.isFinite(first?.tensors) || first!.tensors === last!.tensors;
      const flatSockets = (last?.sockets ?? 0) <= (first?.sockets ?? 0) + 4;
      goals.push({
        text: `${p.name}: no growth over the soak (RSS slope < 1 MB/min, sockets and tensors flat)`,
        measured: `${mbPerMin.toFixed(2)} MB/min; sockets ${first?.sockets}→${last?.sockets}; tensors ${
          Number.isFinite(first?.tensors) ? `${first!.tensors}→${last!.tensors}` : 'n/a'
        }`,
        // 30 s is too short to tell growth from a GC cycle, so --quick reports without judging.
        met: ctx.quick ? undefined : mbPerMin < 1 && flatSockets && flatTensors,
      });
    }
    return [
      {
        title: `Memory: RSS at rest, under load, and a ${soakS / 60 >= 1 ? `${soakS / 60}-minute` : `${soakS}-second`} soak (npm run bench -- memory)`,
        setup:
          `digits ${splitLabel(info)} behind the gateway, single-row OIP bodies. Under load: ` +
          `32 connections for ${ctx.durationS * 2} s (peak RSS). Soak: 200 req/s for ${soakS} s (${soakResult.requests} ` +
          `requests, ${soakResult.failures} failures, p99 ${fmt.ms(soakResult.p99Ms)} ms), sampled every ` +
          `${ctx.quick ? 2 : 10} s; the slope ignores the first fifth. RSS in MB; lag is the worst event-loop lag p99 ` +
          'the process reported during the soak.',
        headers: [
          'process',
          'RSS at rest',
          'RSS peak under load',
          'soak RSS (settled start → end)',
          'RSS slope MB/min',
          'open sockets',
          'TF.js tensors',
          'event-loop lag p99 ms',
        ],
        rows,
        goals,
        notes: [],
      },
    ];
  } finally {
    await stack.close();
  }
};
