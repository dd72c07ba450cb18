/** Scenario 1: the gateway vs Debian's HAProxy doing the same 50/50 split in front of the same two
 * model-servers on the OIP path. HAProxy picks a backend by `rand(100)` and rewrites the path to the
 * version's own OIP route, which is the least a plain L7 proxy needs to do the gateway's job. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Scenario } from '../harness/context';
import { freePort } from '../harness/free-port';
import { interleave } from '../harness/interleave';
import { findWrk, runLoad } from '../harness/load';
import { fmt } from '../harness/report';
import { modelInfo, oipBody } from '../harness/stack';
import { GATEWAY_MODEL, splitLabel, startSplitStack } from './gateway';

export function findHaproxy(): string | null {
  for (const candidate of ['/usr/sbin/haproxy', '/usr/bin/haproxy']) {
    try {
      execFileSync(candidate, ['-v'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

export function haproxyConfig(
  port: number,
  model: string,
  upstreams: { version: string; hostPort: string }[],
  threads = 1,
): string {
  const [a, b] = upstreams;
  if (!a || !b) throw new Error('haproxy config needs two upstreams');
  const backend = (u: { version: string; hostPort: string }) => `
backend v${u.version}
  http-request set-path /v2/models/${model}/versions/${u.version}/infer
  http-reuse always
  server s${u.version} ${u.hostPort} maxconn 256`;
  // One thread by default: the gateway is one Node.js process with one JS thread, like with like.
  return `global
  nbthread ${threads}
  maxconn 4096
defaults
  mode http
  option http-keep-alive
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend split
  bind 127.0.0.1:${port}
  use_backend v${a.version} if { rand(100) lt 50 }
  default_backend v${b.version}
${backend(a)}
${backend(b)}
`;
}

export const haproxyScenario: Scenario = async (ctx) => {
  const haproxy = findHaproxy();
  const title = 'Gateway vs HAProxy, same 50/50 split, same model-servers (npm run bench -- haproxy)';
  if (!haproxy) {
    return [
      {
        title,
        setup: 'HAProxy is not installed (apt-get install haproxy); nothing measured.',
        headers: [],
        rows: [],
        goals: [{ text: "throughput ≥ 0.7x HAProxy's", measured: 'not run', met: undefined }],
        notes: [],
      },
    ];
  }
  const info = modelInfo(GATEWAY_MODEL);
  const stack = await startSplitStack(ctx, info);
  const dir = mkdtempSync(path.join(tmpdir(), 'modelgate-haproxy-'));
  try {
    const port = await freePort();
    const upstreams = stack.modelServers.map((m) => ({
      version: m.version,
      hostPort: `127.0.0.1:${m.service.port}`,
    }));
    const cfg = path.join(dir, 'haproxy.cfg');
    writeFileSync(cfg, haproxyConfig(port, info.model, upstreams));
    const body = oipBody(info, 1);
    const inferPath = `/v2/models/${info.model}/infer`;
    // -db: stay in the foreground; HAProxy answers 404 on the bare path, which proves it is up.
    const proxy = await ctx.group.external(
      'haproxy',
      haproxy,
      ['-db', '-f', cfg],
      port,
      `http://127.0.0.1:${port}/`,
    );
    const connections = 32;
    const arm = (name: string, url: string) => ({
      name,
      run: (durationS: number) => runLoad({ urls: [url], method: 'POST', body, connections, durationS }),
    });
    ctx.log('haproxy: closed loop, 32 connections');
    const [gw, hp] = await interleave(
      [arm('gateway', stack.gateway!.url + inferPath), arm('haproxy', proxy.url + inferPath)],
      { rounds: ctx.rounds, durationS: ctx.durationS, warmupS: ctx.warmupS, log: ctx.log },
    );
    await proxy.stop();
    const ratio = gw!.rps / hp!.rps;
    return [
      {
        title,
        setup:
          `${info.model} ${splitLabel(info)}, one model-server each, single-row OIP v2 bodies to ` +
          `\`POST ${inferPath}\` at ${connections} keep-alive connections, ${findWrk() ? 'wrk' : 'autocannon'}. HAProxy ` +
          `${haproxyVersion(haproxy)} with nbthread 1, \`rand(100)\` split and a path rewrite per backend, server ` +
          'keep-alive (`http-reuse always`). The gateway also records metrics and runs a breaker per upstream.',
        headers: ['arm', 'req/s', 'p50 ms', 'p99 ms', 'failures'],
        rows: [gw!, hp!].map((s) => [
          s.name,
          fmt.rps(s.rps),
          fmt.ms(s.p50Ms),
          fmt.ms(s.p99Ms),
          String(s.failures),
        ]),
        goals: [
          { text: "gateway throughput ≥ 0.7x HAProxy's", measured: fmt.ratio(ratio), met: ratio >= 0.7 },
        ],
        notes: [`p99: gateway ${fmt.ms(gw!.p99Ms)} ms vs HAProxy ${fmt.ms(hp!.p99Ms)} ms.`],
      },
    ];
  } finally {
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  }
};

function haproxyVersion(bin: string): string {
  try {
    return /version (\S+)/.exec(execFileSync(bin, ['-v'], { encoding: 'utf8' }))?.[1] ?? '';
  } catch {
    return '';
  }
}
