/** Scenario 3 (issue 4): gateway overhead. The same two model-servers (v1 and v2, 50/50) measured
 * through the gateway's OIP path and straight, interleaved: closed-loop throughput at 32 connections
 * and latency at a fixed 200 req/s. "Straight" spreads connections evenly over both model-servers, so
 * both arms see the same 50/50 mix of versions. One load generator (autocannon) for both arms, since
 * only it can spread one run over two upstream URLs. */
import type { BenchContext, Scenario } from '../harness/context';
import { type ArmSummary, interleave } from '../harness/interleave';
import { runLoad } from '../harness/load';
import { fmt, type Section } from '../harness/report';
import { type ModelInfo, modelInfo, oipBody, type Stack, startStack } from '../harness/stack';

/** One table row: load, arm, then the arm's measured figures. */
function armRow(load: string, arm: string, r: ArmSummary): string[] {
  return [load, arm, fmt.rps(r.rps), fmt.ms(r.p50Ms), fmt.ms(r.p99Ms), String(r.failures)];
}

export const GATEWAY_MODEL = 'penguins';

export async function startSplitStack(ctx: BenchContext, info: ModelInfo, gatewayEnv = {}): Promise<Stack> {
  // Until a second version is trained the split degenerates to 100% on the one there is; the
  // tables name the versions served, so such a run is visible as such.
  const versions = info.versions.slice(0, 2);
  ctx.log(`starting registry, model-servers ${info.model}/${versions.join(',')} and gateway`);
  const stack = await startStack(ctx.group, {
    models: [info.model],
    versions: { [info.model]: versions },
    gateway: true,
    gatewayEnv,
  });
  await stack.setPolicy(info.model, {
    variants: versions.map((version) => ({ version, weight: 100 / versions.length })),
  });
  await waitForSplit(stack.gateway!.url, info);
  return stack;
}

/** "v1/v2 50/50", or "v1 100% (only version trained)" while a model has one version. */
export function splitLabel(info: ModelInfo): string {
  const [a, b] = info.versions;
  return b ? `v${a}/v${b} 50/50` : `v${a} 100% (the only version trained at the time)`;
}

/** After a policy change the gateway picks it up on its next poll; wait until both versions answer. */
export async function waitForSplit(gatewayUrl: string, info: ModelInfo, timeoutMs = 30_000): Promise<void> {
  const seen = new Set<string>();
  const wanted = info.versions.slice(0, 2);
  const deadline = Date.now() + timeoutMs;
  const body = oipBody(info, 1);
  while (Date.now() < deadline) {
    const res = await fetch(`${gatewayUrl}/v2/models/${info.model}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    await res.arrayBuffer();
    const version = res.headers.get('x-model-version');
    if (res.ok && version) seen.add(version);
    else await new Promise((r) => setTimeout(r, 100));
    if (wanted.every((v) => seen.has(v))) return;
  }
  throw new Error(
    `gateway did not split ${info.model} over ${info.versions.slice(0, 2).join(', ')}; saw ${[...seen]}`,
  );
}

export function upstreamUrls(stack: Stack, info: ModelInfo): string[] {
  return stack.modelServers
    .filter((m) => m.model === info.model)
    .map((m) => `${m.service.url}/v2/models/${info.model}/versions/${m.version}/infer`);
}

/** penguins (a model so cheap the hop is most of the cost) always; digits too in the full run. */
export const gatewayScenario: Scenario = async (ctx) => {
  const sections: Section[] = [];
  for (const model of ctx.quick ? [GATEWAY_MODEL] : [GATEWAY_MODEL, 'digits']) {
    sections.push(await measureOverhead(ctx, modelInfo(model)));
  }
  return sections;
};

async function measureOverhead(ctx: BenchContext, info: ModelInfo): Promise<Section> {
  const stack = await startSplitStack(ctx, info);
  try {
    const body = oipBody(info, 1);
    const gatewayUrl = `${stack.gateway!.url}/v2/models/${info.model}/infer`;
    const direct = upstreamUrls(stack, info);
    const arms = (connections: number, rate?: number) => [
      {
        name: 'gateway',
        run: (durationS: number) =>
          runLoad({
            urls: [gatewayUrl],
            method: 'POST' as const,
            body,
            connections,
            durationS,
            rate,
            generator: 'autocannon',
          }),
      },
      {
        name: 'direct',
        run: (durationS: number) =>
          runLoad({
            urls: direct,
            method: 'POST' as const,
            body,
            connections,
            durationS,
            rate,
            generator: 'autocannon',
          }),
      },
    ];
    const options = { rounds: ctx.rounds, durationS: ctx.durationS, warmupS: ctx.warmupS, log: ctx.log };
    ctx.log(`gateway: ${info.model}, closed-loop throughput, 32 connections`);
    const [gwMax, directMax] = await interleave(arms(32), options);
    ctx.log(`gateway: ${info.model}, fixed 200 req/s, 10 connections`);
    const [gwFixed, directFixed] = await interleave(arms(10, 200), options);
    const throughputRatio = gwMax!.rps / directMax!.rps;
    const addedP50 = gwFixed!.p50Ms - directFixed!.p50Ms;
    const addedP99 = gwFixed!.p99Ms - directFixed!.p99Ms;
    const section: Section = {
      title: `Gateway overhead: through the gateway vs straight to the model-servers, ${info.model} (npm run bench -- gateway)`,
      setup:
        `${info.model} ${splitLabel(info)}, one model-server per version; single-row ` +
        'OIP v2 bodies. Gateway: `POST /v2/models/M/infer` (split, breaker, metrics). Direct: the same body to ' +
        '`/v2/models/M/versions/V/infer` of both model-servers, connections split evenly. autocannon for both arms; ' +
        'latencies recorded per response at µs precision.',
      headers: ['load', 'arm', 'req/s', 'p50 ms', 'p99 ms', 'failures'],
      rows: [
        armRow('closed loop, 32 conns', 'gateway', gwMax!),
        armRow('closed loop, 32 conns', 'direct', directMax!),
        armRow('fixed 200 req/s', 'gateway', gwFixed!),
        armRow('fixed 200 req/s', 'direct', directFixed!),
      ],
      goals: [
        {
          text: `${info.model}: throughput through the gateway ≥ 0.7x direct`,
          measured: fmt.ratio(throughputRatio),
          met: throughputRatio >= 0.7,
        },
        {
          text: `${info.model}: added p99 at 200 req/s ≤ 2 ms`,
          measured: `${fmt.ms(addedP99)} ms (p50 added ${fmt.ms(addedP50)} ms)`,
          met: addedP99 <= 2,
        },
      ],
      notes: [],
    };
    return section;
  } finally {
    await stack.close();
  }
}
