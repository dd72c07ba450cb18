/** `modelgate rollout start|status|pause|resume|abort`: progressive delivery through the registry's
 * rollout API (DESIGN Part 2, "Rollouts"). */
import type { Command } from 'commander';
import { action, CliError, createOutput } from '../output';
import { formatRolloutStatus } from '../rollout-status';
import { client, name } from './registry';

/** "5,25,50,100" → weight steps; the registry checks the order and range and says what is wrong. */
export function parseSteps(spec: string): { weight: number }[] {
  return spec.split(',').map((part) => {
    const t = part.trim().replace(/%$/, '');
    if (!/^\d{1,3}$/.test(t)) throw new CliError(`--steps takes weights like 5,25,50,100, got "${part}"`);
    return { weight: Number(t) };
  });
}

/** A gate named alone takes its usual setting, as in the registry's defaults. */
const GATE_DEFAULTS: Record<string, string | number> = {
  accuracy: 'not_worse',
  error_rate: 'not_worse',
  latency_p95_ms: '+20%',
  drift_psi_max: 0.25,
};

/** "accuracy,latency_p95_ms=+50%" → the API's gates ("none": no gate, each step advances on its
 * minimums). Names and values are the registry's to check, so it says what is wrong with them. */
export function parseGates(spec: string): Record<string, string | number> {
  if (spec.trim() === 'none') return {};
  const gates: Record<string, string | number> = {};
  for (const part of spec.split(',')) {
    const [name = '', value] = part.split('=', 2).map((x) => x.trim());
    if (!/^[a-z0-9_]+$/.test(name))
      throw new CliError(`--gates takes gates like accuracy,latency_p95_ms=+20%, got "${part}"`);
    const setting = value ?? GATE_DEFAULTS[name] ?? 'not_worse';
    gates[name] = name === 'drift_psi_max' && value !== undefined ? Number(value) : setting;
  }
  return gates;
}

function number(flag: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new CliError(`${flag} takes a number ≥ 0, got "${value}"`);
    return n;
  };
}

interface StartOptions {
  steps?: string;
  shadow?: number;
  stepMinSeconds?: number;
  stepMinLabelled?: number;
  maxSeconds?: number;
  gates?: string;
  control?: string;
  strategy?: string;
  confirmUrl?: string;
  rollbackUrl?: string;
  preStepUrl?: string;
  json?: boolean;
}

export function startBody(version: string, o: StartOptions): Record<string, unknown> {
  const steps = o.steps ? parseSteps(o.steps) : undefined;
  const webhooks = {
    ...(o.confirmUrl ? { confirm_promotion: o.confirmUrl } : {}),
    ...(o.rollbackUrl ? { rollback: o.rollbackUrl } : {}),
    ...(o.preStepUrl ? { pre_step: o.preStepUrl } : {}),
  };
  return {
    candidate: version,
    ...(o.control ? { control: name('version', o.control) } : {}),
    ...(o.strategy ? { strategy: o.strategy } : {}),
    ...(steps || o.shadow !== undefined
      ? {
          steps: [
            ...(o.shadow !== undefined ? [{ shadow: o.shadow }] : []),
            ...(steps ?? [5, 25, 50, 100].map((weight) => ({ weight }))),
          ],
        }
      : {}),
    ...(o.stepMinSeconds === undefined ? {} : { step_min_seconds: o.stepMinSeconds }),
    ...(o.stepMinLabelled === undefined ? {} : { step_min_labelled: o.stepMinLabelled }),
    ...(o.maxSeconds === undefined ? {} : { max_seconds: o.maxSeconds }),
    ...(o.gates === undefined ? {} : { gates: parseGates(o.gates) }),
    ...(Object.keys(webhooks).length ? { webhooks } : {}),
  };
}

const FINAL = new Set(['promoted', 'rolled_back', 'aborted', 'timed_out']);

async function watch(model: string, intervalMs: number): Promise<void> {
  const registry = client();
  const tty = Boolean(process.stdout.isTTY);
  for (;;) {
    const view = await registry.getRollout(model);
    const text = formatRolloutStatus(view);
    process.stdout.write(
      tty
        ? `\x1b[H\x1b[2J${text}\n\n(refreshing every ${intervalMs / 1000} s; Ctrl-C to stop watching, the rollout goes on)\n`
        : `${text}\n\n`,
    );
    if (FINAL.has(view.state)) return;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export function registerRolloutCommands(program: Command): void {
  const rollout = program
    .command('rollout')
    .description(
      'progressive delivery: move a version to all traffic in steps gated by the experiment verdicts',
    );

  rollout
    .command('start <model> <version>')
    .description('start a rollout of VERSION against the stable version, e.g. `rollout start digits 3`')
    .option('--steps <weights>', 'candidate weight per step, e.g. 5,25,50,100 (default)')
    .option(
      '--shadow <percent>',
      'begin with a shadow step copying this share of requests',
      number('--shadow'),
    )
    .option('--step-min-seconds <n>', 'minimum time per step (default 300)', number('--step-min-seconds'))
    .option(
      '--step-min-labelled <n>',
      'minimum labelled rows per step (default 500)',
      number('--step-min-labelled'),
    )
    .option(
      '--max-seconds <n>',
      'give up (timed_out, policy restored) after this long (default 86400)',
      number('--max-seconds'),
    )
    .option(
      '--gates <list>',
      'gates to hold, e.g. accuracy,latency_p95_ms=+50% (default: accuracy,error_rate,latency_p95_ms=+20%,drift_psi_max=0.25; none: no gate)',
    )
    .option('--control <version>', 'compare against this version (default: the stable alias)')
    .option('--strategy <name>', 'steps (default) or bandit (Thompson sampling on feedback)')
    .option('--confirm-url <url>', 'webhook that must answer 2xx before promotion')
    .option('--rollback-url <url>', 'webhook told about a rollback')
    .option('--pre-step-url <url>', 'webhook that must answer 2xx before each step')
    .option('--json', 'print JSON for scripts')
    .action(
      action(async (model: string, version: string, opts: StartOptions) => {
        const view = await client().startRollout(
          name('model', model),
          startBody(name('version', version), opts),
        );
        createOutput(Boolean(opts.json)).result(
          `${formatRolloutStatus(view)}\n\nfollow it with \`modelgate rollout status ${model} --watch\``,
          view,
        );
      }),
    );

  rollout
    .command('status <model>')
    .description(
      'step, time in step, labelled rows, every gate with its verdict, and what the rollout waits for',
    )
    .option('--watch', 'redraw every 2 s until the rollout ends')
    .option('--interval <seconds>', 'redraw interval with --watch', number('--interval'), 2)
    .option('--json', 'print JSON for scripts')
    .action(
      action(async (model: string, opts: { watch?: boolean; interval: number; json?: boolean }) => {
        name('model', model);
        if (opts.watch && !opts.json) return watch(model, Math.max(0.2, opts.interval) * 1000);
        const view = await client().getRollout(model);
        createOutput(Boolean(opts.json)).result(formatRolloutStatus(view), view);
      }),
    );

  for (const [verb, what] of [
    ['pause', 'hold the rollout at its step (nothing is written)'],
    ['resume', "continue a paused rollout; its step's split is applied again"],
    ['abort', 'stop the rollout and restore the weights and aliases from before it'],
  ] as const) {
    rollout
      .command(`${verb} <model>`)
      .description(what)
      .option('--json', 'print JSON for scripts')
      .action(
        action(async (model: string, opts: { json?: boolean }) => {
          const view = await client().rolloutAction(name('model', model), verb);
          createOutput(Boolean(opts.json)).result(formatRolloutStatus(view), view);
        }),
      );
  }
}
