/** CPU per request, per process, read from /proc/<pid>/stat around each interleaved run: on a shared
 * 2-core machine CPU time per request is steadier than req/s. Arms over the same two model-servers
 * and the same 50/50 split on the OIP path: the gateway, a bare node:http + undici forwarder (the
 * floor for a Node hop), HAProxy with 1 thread; then the gateway with GATEWAY_WORKERS=2 against
 * HAProxy with 2 threads. */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Scenario } from '../harness/context';
import { freePort } from '../harness/free-port';
import { interleave } from '../harness/interleave';
import { type LoadResult, runLoad } from '../harness/load';
import { cpuMicros } from '../harness/proc-stats';
import { ROOT, type Service } from '../harness/processes';
import { fmt } from '../harness/report';
import { modelInfo, oipBody } from '../harness/stack';
import { GATEWAY_MODEL, splitLabel, startSplitStack, waitForSplit } from './gateway';
import { findHaproxy, haproxyConfig } from './haproxy';

/** The process and every descendant (cluster workers), from the ppid field of /proc/<pid>/stat. */
function processTree(root: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited meanwhile
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++)
    for (const [pid, ppid] of parent) if (ppid === tree[i]) tree.push(pid);
  return tree;
}

const treeCpu = (pids: number[]) => pids.reduce((sum, p) => sum + cpuMicros(p), 0);

interface CpuTally {
  requests: number;
  /** Answers that were not errors: a shed 503 costs less than a proxied answer, so CPU per request
   * alone would flatter an arm that sheds under a loaded machine. */
  answered: number;
  proxyMicros: number;
  serverMicros: number;
}

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

    const tallies = new Map<string, CpuTally>();
    const connections = 32;
    const arm = (name: string, service: Service) => ({
      name,
      run: async (durationS: number): Promise<LoadResult> => {
        const pids = processTree(service.pid);
        const proxyBefore = treeCpu(pids);
        const serverBefore = treeCpu(serverPids);
        const result = await runLoad({
          urls: [service.url + inferPath],
          method: 'POST',
          body,
          connections,
          durationS,
        });
        const t = tallies.get(name) ?? { requests: 0, answered: 0, proxyMicros: 0, serverMicros: 0 };
        t.requests += result.requests;
        t.answered += result.requests - result.failures;
        t.proxyMicros += treeCpu(pids) - proxyBefore;
        t.serverMicros += treeCpu(serverPids) - serverBefore;
        tallies.set(name, t);
        return result;
      },
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
    const perRequest = (name: string, key: 'proxyMicros' | 'serverMicros') => {
      const t = tallies.get(name);
      return t && t.requests > 0 ? t[key] / t.requests : Number.NaN;
    };
    const perAnswer = (name: string) => {
      const t = tallies.get(name);
      return t && t.answered > 0 ? t.proxyMicros / t.answered : Number.NaN;
    };
    const rps = (name: string) => summaries.find((s) => s.name === name)?.rps ?? Number.NaN;
    const cpuRatio =
      perRequest('gateway', 'proxyMicros') / perRequest('bare undici forwarder', 'proxyMicros');
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
          fmt.rps(perRequest(s.name, 'proxyMicros')),
          fmt.rps(perAnswer(s.name)),
          fmt.rps(perRequest(s.name, 'serverMicros')),
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
