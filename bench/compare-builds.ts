/** Two builds of the model-server side by side, batching on and off, arms interleaved: what a code
 * change did to req/s and to CPU per request, measured in one run rather than across runs.
 *
 *   git worktree add /tmp/base <commit> && ln -s "$PWD/node_modules" /tmp/base/node_modules
 *   (cd /tmp/base && npx tsc -p tsconfig.build.json)
 *   npm run build && node dist/bench/compare-builds.js /tmp/base/dist [MODEL VERSION CLIENTS]
 *
 * Defaults: digits 2 at 64 clients (issue 13's batching goal), 3 rounds of 8 s after a 2 s warm-up. */
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { freePort } from './harness/free-port';
import { interleave } from './harness/interleave';
import { runLoad } from './harness/load';
import { CpuTally } from './harness/proc-stats';
import { ProcessGroup, ROOT } from './harness/processes';
import { fmt } from './harness/report';
import { modelInfo, oipBody, temporaryStore } from './harness/stack';
import { batchingEnv } from './scenarios/model-server';

async function main(): Promise<void> {
  const [baseline, model = 'digits', version = '2', clients = '64'] = process.argv.slice(2);
  const baselineCli = baseline === undefined ? '' : path.resolve(baseline, 'cli', 'main.js');
  if (!existsSync(baselineCli))
    throw new Error('usage: compare-builds BASELINE_DIST [MODEL VERSION CLIENTS]');
  const group = new ProcessGroup();
  const store = temporaryStore([model]);
  try {
    const builds = { this: path.join(ROOT, 'dist', 'cli', 'main.js'), baseline: baselineCli };
    const services = [];
    for (const [build, cli] of Object.entries(builds)) {
      for (const on of [true, false]) {
        const port = await freePort();
        const name = `${build} build, batching ${on ? 'on' : 'off'}`;
        const service = await group.external(
          name,
          process.execPath,
          [cli, 'model-server', '--model', model, '--version', version],
          port,
          `http://127.0.0.1:${port}/metrics`,
          { ...batchingEnv(store, on), HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn' },
        );
        services.push({ name, service });
      }
    }
    const body = oipBody(modelInfo(model), 1);
    const tally = new CpuTally();
    const connections = Number(clients);
    const arms = services.map(({ name, service }) => ({
      name,
      run: (durationS: number) =>
        tally.measure(name, { server: [service.pid] }, () =>
          runLoad({
            urls: [`${service.url}/v2/models/${model}/versions/${version}/infer`],
            method: 'POST',
            body,
            connections,
            durationS,
          }),
        ),
    }));
    const summaries = await interleave(arms, { rounds: 3, durationS: 8, warmupS: 2, log: console.log });
    const rps = (name: string) => summaries.find((s) => s.name === name)!.rps;
    console.log(`\n${model}/${version}, ${connections} clients, single-row OIP v2 bodies\n`);
    console.log(
      '| arm | req/s | p50 ms | p99 ms | CPU µs/req | failures |\n| --- | --- | --- | --- | --- | --- |',
    );
    for (const s of summaries) {
      const cpu = fmt.rps(tally.perRequest(s.name, 'server'));
      console.log(
        `| ${s.name} | ${fmt.rps(s.rps)} | ${fmt.ms(s.p50Ms)} | ${fmt.ms(s.p99Ms)} | ${cpu} | ${s.failures} |`,
      );
    }
    for (const build of Object.keys(builds)) {
      const gain = rps(`${build} build, batching on`) / rps(`${build} build, batching off`);
      console.log(`\n${build} build: batching on / off = ${fmt.ratio(gain)}`);
    }
  } finally {
    await group.stopAll();
    rmSync(store, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
