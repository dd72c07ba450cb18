/** CPU per request, per process, read from /proc/<pid>/stat around each interleaved run: on a shared
 * 2-core machine CPU time per request is steadier than req/s. Arms over the same two model-servers
 * and the same 50/50 split on the OIP path: the gateway, a bare node:http + undici forwarder (the
 * floor for a Node hop), HAProxy with 1 thread; then the gateway with GATEWAY_WORKERS=2 against
 * HAProxy with 2 threads. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Scenario } from '../harness/context';
import { freePort } from '../harness/free-port';
import { interleave } from '../harness/interleave';
import { runLoad } from '../harness/load';
import { CpuTally } from '../harness/proc-stats';
import { ROOT, type Service } from '../harness/processes';
import { fmt } from '../harness/report';
import { modelInfo, oipBody } from '../harness/stack';
import { GATEWAY_MODEL, splitLabel, startSplitStack, waitForSplit } from './gateway';
import { findHaproxy, haproxyConfig } from './haproxy';

export const cpuScenario: Scenario = async (ctx) => {
  const info = modelInfo(GATEWAY_MODEL);
  const stack = await startSplitStack(ctx, info);
  const dir = mkdtempSync(path.join(tmpdir(), 'modelgate-cpu-'));
  const started: Service[] = [];
  try {
    const inferPath = `/v2/models/${info.model}/infer`;
    const body = oipBody(info, 1);
    const upstreams = stack.modelServers.map((m) => ({
      version: m.version,
      hostPort: `127.0.0.1:${m.service.port}`,
    }));
    const serverPids = stack.modelServers.map((m) => m.service.pid);

    const forwarderPort = await freePort();
    const forwarder = await ctx.group.external(
      'bare forwarder',
      process.execPath,
      [
        path.join(ROOT, 'dist', 'bench', 'harness', 'bare-forwarder.js'),
        String(forwarderPort),
        info.model,
        ...upstreams.map((u) => `${u.version}=${u.hostPort}`),
      ],
      forwarderPort,
      `http://127.0.0.1:${forwarderPort}/`,
    );
    started.push(forwarder);
    const gateway2 = await ctx.group.modelgate('gateway x2', ['gateway'], {
      REGISTRY_URL: stack.registry.url,
      GATEWAY_WORKERS: '2',
      DATABASE_URL: `sqlite:${path.join(stack.store, '.gateway2-data', 'modelgate.db')}`,
    });
    started.push(gateway2);
    await waitForSplit(gateway2.url, info);

    const haproxy = findHaproxy();
    const proxies: { name: string; service: Service }[] = [];
    if (haproxy) {
      for (const threads of [1, 2]) {
        const port = await freePort();
        const cfg = path.join(dir, `haproxy-${threads}.cfg`);
        writeFileSync(cfg, haproxyConfig(port, info.model, upstreams, threads));
        const service = await ctx.group.external(
          `haproxy x${threads}`,
          haproxy,
          ['-db', '-f', cfg],
          port,
          `http://127.0.0.1:${port}/`,
        );
        started.push(service);
        proxies.push({ name: `haproxy nbthread ${threads}`, service });
      }
    }

    const tally = new CpuTally();
    const connections = 32;
    const arm = (name: string, service: Service) => ({
      name,
      run: (durationS: number) =>
        tally.measure(name, { proxy: [service.pid], servers: serverPids }, () =>
          runLoad({ urls: [service.url + inferPath], method: 'POST', body, connections, durationS }),
        ),
    });
    const arms = [
      arm('gateway', stack.gateway!),
      arm('bare undici forwarder', forwarder),
      arm('gateway GATEWAY_WORKERS=2', gateway2),
      ...proxies.map((p) => arm(p.name, p.service)),
    ];
    ctx.log(`cpu: ${arms.map((a) => a.name).join(', ')}; closed loop, ${connections} connections`);
    const summaries = await interleave(arms, {
      rounds: ctx.rounds,
      durationS: ctx.durationS,
      warmupS: ctx.warmupS,
      log: ctx.log,
    });
    const rps = (name: string) => summaries.find((s) => s.name === name)?.rps ?? Number.NaN;
    const cpuRatio =
      tally.perRequest('gateway', 'proxy') / tally.perRequest('bare undici forwarder', 'proxy');
    const hp1 = rps('gateway') / rps('haproxy nbthread 1');
    const hp2 = rps('gateway GATEWAY_WORKERS=2') / rps('haproxy nbthread 2');
    return [
      {
        title: 'CPU per request by process, gateway vs bare forwarder vs HAProxy (npm run bench -- cpu)',
        setup:
          `${info.model} ${splitLabel(info)}, one model-server each, single-row OIP v2 bodies to \`POST ${inferPath}\` ` +
          `at ${connections} keep-alive connections, arms interleaved. CPU from /proc/<pid>/stat (user + system) ` +
          'of the proxy process and its descendants (cluster workers) and of both model-servers, over every run ' +
          'including warm-up, divided by the requests answered.',
        headers: [
          'arm',
          'req/s',
          'p50 ms',
          'p99 ms',
          'proxy CPU µs/req',
          'proxy CPU µs/2xx',
          'model-servers CPU µs/req',
          'failures',
        ],
        rows: summaries.map((s) => [
          s.name,
          fmt.rps(s.rps),
          fmt.ms(s.p50Ms),
          fmt.ms(s.p99Ms),
          fmt.rps(tally.perRequest(s.name, 'proxy')),
          fmt.rps(tally.perAnswer(s.name, 'proxy')),
          fmt.rps(tally.perRequest(s.name, 'servers')),
          String(s.failures),
        ]),
        goals: [
          {
            text: 'gateway CPU per request ≤ 1.5x the bare undici forwarder',
            measured: fmt.ratio(cpuRatio),
            met: cpuRatio <= 1.5,
          },
          {
            text: 'gateway throughput ≥ 0.6x HAProxy, 1 thread each',
            measured: fmt.ratio(hp1),
            met: Number.isFinite(hp1) ? hp1 >= 0.6 : undefined,
          },
          {
            text: 'gateway GATEWAY_WORKERS=2 throughput ≥ 0.6x HAProxy nbthread 2',
            measured: fmt.ratio(hp2),
            met: Number.isFinite(hp2) ? hp2 >= 0.6 : undefined,
          },
        ],
        notes: haproxy ? [] : ['HAProxy is not installed: its arms were skipped.'],
      },
    ];
  } finally {
    for (const s of started) await s.stop();
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  }
};
