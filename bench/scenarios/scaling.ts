/** Scenario 5: how cost grows with work. (a) Rows per request 1 → 32 → 256 through the gateway's
 * OIP path (interleaved): rows/s and the cost of one row. (b) Model-servers per version 1 → 2 behind
 * one gateway: the second instances join the same registry, so the two settings run one after the
 * other rather than interleaved (the gateway must first learn the new routing table). */
import type { Scenario } from '../harness/context';
import { type ArmSummary, interleave } from '../harness/interleave';
import { findWrk, runLoad } from '../harness/load';
import { fmt, type Section } from '../harness/report';
import { modelInfo, oipBody, waitForGatewayInstances } from '../harness/stack';
import { splitLabel, startSplitStack } from './gateway';

const SCALING_MODEL = 'digits';

export const scalingScenario: Scenario = async (ctx) => {
  const info = modelInfo(SCALING_MODEL);
  const stack = await startSplitStack(ctx, info);
  const gatewayInfer = `${stack.gateway!.url}/v2/models/${info.model}/infer`;
  const options = { rounds: ctx.rounds, durationS: ctx.durationS, warmupS: ctx.warmupS, log: ctx.log };
  try {
    const rowCounts = [1, 32, 256];
    const connections = 8;
    ctx.log('scaling: rows per request 1, 32, 256');
    const byRows = await interleave(
      rowCounts.map((n) => {
        const body = oipBody(info, n);
        return {
          name: String(n),
          run: (durationS: number) =>
            runLoad({ urls: [gatewayInfer], method: 'POST', body, connections, durationS }),
        };
      }),
      options,
    );
    const rowsTable = byRows.map((s, i) => {
      const n = rowCounts[i]!;
      const rowsPerS = s.rps * n;
      return [
        String(n),
        fmt.rps(s.rps),
        fmt.rps(rowsPerS),
        fmt.ms(s.p50Ms),
        fmt.ms(s.p99Ms),
        (1e6 / rowsPerS).toFixed(0),
        String(s.failures),
      ];
    });

    ctx.log('scaling: 1 model-server per version, 32 connections');
    const single = oipBody(info, 1);
    const instanceArm = (name: string) => ({
      name,
      run: (durationS: number) =>
        runLoad({ urls: [gatewayInfer], method: 'POST', body: single, connections: 32, durationS }),
    });
    const [one] = await interleave([instanceArm('1 per version')], options);
    const versions = info.versions.slice(0, 2);
    for (const version of versions) {
      const service = await ctx.group.modelgate(
        `model-server ${info.model}/${version}#2`,
        ['model-server', '--model', info.model, '--version', version],
        { MODEL_STORE: stack.store, REGISTRY_URL: stack.registry.url, INSTANCE_TOKEN: stack.adminToken },
      );
      stack.modelServers.push({ model: info.model, version, service });
    }
    await waitForGatewayInstances(
      stack.gateway!.url,
      versions.map((version) => ({ model: info.model, version })),
      2,
    );
    ctx.log('scaling: 2 model-servers per version, 32 connections');
    const [two] = await interleave([instanceArm('2 per version')], options);
    const instanceRow = (s: ArmSummary) => [
      s.name,
      fmt.rps(s.rps),
      fmt.ms(s.p50Ms),
      fmt.ms(s.p99Ms),
      String(s.failures),
    ];
    const generator = findWrk() ? 'wrk' : 'autocannon';
    const sections: Section[] = [
      {
        title: `Scaling: rows per request (npm run bench -- scaling)`,
        setup:
          `${info.model} ${splitLabel(info)} behind the gateway, OIP v2 \`POST /v2/models/${info.model}/infer\` ` +
          `with n rows per body, ${connections} connections, ${generator}. µs/row is wall time per row at that throughput.`,
        headers: ['rows/request', 'req/s', 'rows/s', 'p50 ms', 'p99 ms', 'µs per row', 'failures'],
        rows: rowsTable,
        goals: [],
        notes: [],
      },
      {
        title: 'Scaling: model-servers per version',
        setup:
          `Same stack, single-row bodies, 32 connections, ${generator}; then a second model-server per version joins ` +
          `(registry heartbeat → gateway routing table) and the run repeats. ${ctx.rounds} rounds each, not interleaved. ` +
          'All processes and the load generator share the same 2 cores.',
        headers: ['model-servers', 'req/s', 'p50 ms', 'p99 ms', 'failures'],
        rows: [instanceRow(one!), instanceRow(two!)],
        goals: [],
        notes: [`2 per version / 1 per version: ${fmt.ratio(two!.rps / one!.rps)} the throughput.`],
      },
    ];
    return sections;
  } finally {
    await stack.close();
  }
};
