/** `npm run bench [-- <scenario>...] [--quick] [--out FILE]`: starts what it measures on loopback,
 * runs competing arms interleaved, prints a Markdown table and, for a full run of every scenario,
 * writes it into bench/README.md between the result markers. */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchContext, Scenario } from './harness/context';
import { findWrk } from './harness/load';
import { ProcessGroup, ROOT } from './harness/processes';
import { renderResults, type Section, writeIntoReadme } from './harness/report';
import { cpuScenario } from './scenarios/cpu';
import { featuresScenario } from './scenarios/features';
import { gatewayScenario } from './scenarios/gateway';
import { haproxyScenario } from './scenarios/haproxy';
import { memoryScenario } from './scenarios/memory';
import { modelServerScenario } from './scenarios/model-server';
import { referenceScenario } from './scenarios/reference';
import { scalingScenario } from './scenarios/scaling';
import { statisticsScenario } from './scenarios/statistics';
import { trackingScenario } from './scenarios/tracking';

const SCENARIOS: Record<string, Scenario> = {
  'model-server': modelServerScenario,
  gateway: gatewayScenario,
  haproxy: haproxyScenario,
  cpu: cpuScenario,
  reference: referenceScenario,
  scaling: scalingScenario,
  memory: memoryScenario,
  tracking: trackingScenario,
  features: featuresScenario,
  statistics: statisticsScenario,
};

const USAGE = `usage: npm run bench -- [${Object.keys(SCENARIOS).join('|')}]... [--quick] [--out FILE]
  no scenario: all of them. --quick: short runs for CI. --out: also write the Markdown there.
  A full run of every scenario rewrites the results block of bench/README.md.`;

interface Args {
  names: string[];
  quick: boolean;
  out?: string;
}

export function parseArgs(argv: string[]): Args {
  const names: string[] = [];
  let quick = false;
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--quick') quick = true;
    else if (arg === '--out') out = argv[++i];
    else if (arg === '--help' || arg === '-h') throw new Error(USAGE);
    else if (arg in SCENARIOS) names.push(arg);
    else throw new Error(`unknown scenario or flag "${arg}"\n${USAGE}`);
  }
  if (out === '') throw new Error(`--out needs a file name\n${USAGE}`);
  return { names: names.length ? names : Object.keys(SCENARIOS), quick, out };
}

function machineNote(args: Args, startedAt: Date, load: number[]): string {
  const cpus = os.cpus();
  const command =
    `npm run bench --${args.quick ? ' --quick' : ''} ${args.names.length === Object.keys(SCENARIOS).length ? '' : args.names.join(' ')}`.trim();
  return [
    `Run ${startedAt.toISOString()} with \`${command}\` (${args.quick ? 'quick' : 'full'} mode).`,
    `Machine: ${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
      `${os.type()} ${os.release()}, Node ${process.version}; load average at start ${load.map((l) => l.toFixed(2)).join(' / ')} ` +
      '(shared with other work: absolute figures are noisy, the interleaved medians and ratios are what to read).',
    `Load generator: ${findWrk() ? 'wrk 4 for closed-loop single-URL runs, ' : ''}autocannon for fixed-rate and multi-URL runs.`,
  ].join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const startedAt = new Date();
  const load = os.loadavg();
  const group = new ProcessGroup();
  const ctx: BenchContext = {
    quick: args.quick,
    group,
    durationS: args.quick ? 3 : 8,
    rounds: args.quick ? 2 : 3,
    warmupS: args.quick ? 1 : 2,
    log: (line) => process.stderr.write(`${line}\n`),
  };
  const stopOnSignal = () => {
    void group.stopAll().then(() => process.exit(130));
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);

  const sections: Section[] = [];
  let failed = false;
  try {
    for (const name of args.names) {
      ctx.log(`== ${name}`);
      try {
        sections.push(...(await SCENARIOS[name]!(ctx)));
      } catch (err) {
        failed = true;
        ctx.log(`${name} failed: ${(err as Error).stack ?? String(err)}`);
        sections.push({
          title: `${name}: FAILED`,
          setup: `The scenario stopped with: ${(err as Error).message.split('\n')[0]}`,
          headers: [],
          rows: [],
          goals: [],
          notes: [],
        });
      }
    }
  } finally {
    await group.stopAll();
  }
  const markdown = renderResults(machineNote(args, startedAt, load), sections);
  process.stdout.write(`${markdown}\n`);
  if (args.out) writeFileSync(args.out, `${markdown}\n`);
  const everything = args.names.length === Object.keys(SCENARIOS).length;
  if (!args.quick && everything) writeIntoReadme(path.join(ROOT, 'bench', 'README.md'), markdown);
  if (failed) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  });
}
