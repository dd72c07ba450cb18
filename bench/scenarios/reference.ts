/** Scenario 2: the full modelgate path (gateway `/predict` with a 50/50 split, breakers and metrics,
 * registry, two model-servers) vs the seed's reference stack (FastAPI + uvicorn + scikit-learn MLP of
 * the same input width, one /predict), at 32 connections. uvicorn runs with one worker, as the
 * tutorial does, and again with two for fairness: this machine has two cores. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { BenchContext, Scenario } from '../harness/context';
import { freePort } from '../harness/free-port';
import { interleave } from '../harness/interleave';
import { findWrk, runLoad } from '../harness/load';
import { CpuTally } from '../harness/proc-stats';
import { ROOT, type Service } from '../harness/processes';
import { fmt, type Section } from '../harness/report';
import { MODELS_DIR, type ModelInfo, modelInfo, predictBody } from '../harness/stack';
import { splitLabel, startSplitStack } from './gateway';

const PYTHON = '/usr/bin/python3'; // Debian's: python3-fastapi, -uvicorn and -sklearn install there

export function referenceAvailable(): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import fastapi, uvicorn, sklearn'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function startReference(ctx: BenchContext, info: ModelInfo, workers: number): Promise<Service> {
  const port = await freePort();
  const sample = path.join(MODELS_DIR, info.model, 'sample.json');
  const labels = path.join(MODELS_DIR, info.model, 'sample-labels.json');
  return ctx.group.external(
    `uvicorn ${workers}w`,
    PYTHON,
    [
      '-m',
      'uvicorn',
      '--app-dir',
      path.join(ROOT, 'bench', 'reference'),
      'app:app',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--workers',
      String(workers),
      '--log-level',
      'warning',
      '--no-access-log',
    ],
    port,
    `http://127.0.0.1:${port}/health`,
    {
      INPUT_WIDTH: String(info.width),
      SAMPLE_FILE: existsSync(sample) ? sample : '',
      SAMPLE_LABELS_FILE: existsSync(labels) ? labels : '',
      PYTHONWARNINGS: 'ignore',
    },
  );
}

export const referenceScenario: Scenario = async (ctx) => {
  const title = 'Full path vs the FastAPI + uvicorn + scikit-learn reference (npm run bench -- reference)';
  if (!referenceAvailable()) {
    return [
      {
        title,
        setup:
          'python3-fastapi, python3-uvicorn or python3-sklearn missing (apt-get install them); nothing measured.',
        headers: [],
        rows: [],
        goals: [
          {
            text: '≥ 1.5x reference throughput at 32 connections, lower p99',
            measured: 'not run',
            met: undefined,
          },
        ],
        notes: [],
      },
    ];
  }
  const sections: Section[] = [];
  for (const model of ctx.quick ? ['penguins'] : ['penguins', 'digits']) {
    sections.push(await compare(ctx, modelInfo(model), title));
  }
  return sections;
};

async function compare(ctx: BenchContext, info: ModelInfo, title: string): Promise<Section> {
  const stack = await startSplitStack(ctx, info);
  try {
    const one = await startReference(ctx, info, 1);
    const two = await startReference(ctx, info, 2);
    const connections = 32;
    const gatewayBody = predictBody(info);
    const referenceBody = JSON.stringify({ features: info.rows[0] });
    // CPU per request by process (issue 13): the gateway and the model-servers, or uvicorn and its
    // workers, read from /proc around every run.
    const tally = new CpuTally();
    const servers = stack.modelServers.map((m) => m.service.pid);
    const arm = (name: string, url: string, body: string, groups: Record<string, number[]>) => ({
      name,
      run: (durationS: number) =>
        tally.measure(name, groups, () =>
          runLoad({ urls: [url], method: 'POST', body, connections, durationS }),
        ),
    });
    ctx.log(`reference: ${info.model}, 32 connections`);
    const [gw, ref1, ref2] = await interleave(
      [
        arm('modelgate (gateway /predict, split)', `${stack.gateway!.url}/predict`, gatewayBody, {
          front: [stack.gateway!.pid],
          servers,
        }),
        arm('FastAPI+uvicorn, 1 worker', `${one.url}/predict`, referenceBody, { front: [one.pid] }),
        arm('FastAPI+uvicorn, 2 workers', `${two.url}/predict`, referenceBody, { front: [two.pid] }),
      ],
      { rounds: ctx.rounds, durationS: ctx.durationS, warmupS: ctx.warmupS, log: ctx.log },
    );
    await Promise.all([one.stop(), two.stop()]);
    const ratio1 = gw!.rps / ref1!.rps;
    const ratio2 = gw!.rps / ref2!.rps;
    return {
      title: `${title}: ${info.model} (${info.width} inputs)`,
      setup:
        `modelgate: gateway \`POST /predict\` {model, features} → ${info.model} ${splitLabel(info)} ` +
        `(one model-server per version; breakers, metrics, request ids). Reference: bench/reference/app.py, an ` +
        `MLPClassifier(hidden_layer_sizes=(64,)) trained at start on models/${info.model}/sample.json rows and sample-labels.json, pydantic ` +
        `body, sync endpoint. ${connections} connections, ${findWrk() ? 'wrk' : 'autocannon'}, single-row bodies. ` +
        'CPU from /proc/<pid>/stat (user + system) of the process and its descendants, over every run including ' +
        'warm-up, divided by the requests answered.',
      headers: [
        'arm',
        'req/s',
        'p50 ms',
        'p99 ms',
        'gateway / uvicorn CPU µs/req',
        'model-servers CPU µs/req',
        'failures',
      ],
      rows: [gw!, ref1!, ref2!].map((s) => [
        s.name,
        fmt.rps(s.rps),
        fmt.ms(s.p50Ms),
        fmt.ms(s.p99Ms),
        fmt.rps(tally.perRequest(s.name, 'front')),
        s === gw ? fmt.rps(tally.perRequest(s.name, 'servers')) : '–',
        String(s.failures),
      ]),
      goals: [
        {
          text: `${info.model}: ≥ 1.5x the 1-worker reference's throughput at 32 connections`,
          measured: fmt.ratio(ratio1),
          met: ratio1 >= 1.5,
        },
        {
          text: `${info.model}: lower p99 than the 1-worker reference`,
          measured: `${fmt.ms(gw!.p99Ms)} vs ${fmt.ms(ref1!.p99Ms)} ms`,
          met: gw!.p99Ms < ref1!.p99Ms,
        },
      ],
      notes: [
        `Against 2 uvicorn workers: ${fmt.ratio(ratio2)} the throughput, p99 ${fmt.ms(gw!.p99Ms)} vs ${fmt.ms(ref2!.p99Ms)} ms.`,
      ],
    };
  } finally {
    await stack.close();
  }
}
