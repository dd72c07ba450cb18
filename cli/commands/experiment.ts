/** `modelgate experiment start|stop|list M`: experiments as stored objects in the registry
 * (REGISTRY_URL, ADMIN_TOKEN for start and stop). */
import type { Command } from 'commander';
import { z } from 'zod';
import { nameSchema } from '../../common/wire';
import { action, CliError, createOutput } from '../output';
import { RegistryClient } from '../registry-client';

export function registryClient(): RegistryClient {
  const url = z.url().safeParse(process.env.REGISTRY_URL?.trim() || 'http://127.0.0.1:8100');
  if (!url.success)
    throw new CliError(
      `REGISTRY_URL must be a URL like http://127.0.0.1:8100, got ${JSON.stringify(process.env.REGISTRY_URL)}`,
    );
  return new RegistryClient(url.data, process.env.ADMIN_TOKEN?.trim() || undefined);
}

function name(kind: string, value: string): string {
  if (!nameSchema.safeParse(value).success)
    throw new CliError(
      `${kind} ${JSON.stringify(value)} is not a valid name: use lower-case letters, digits, ".", "_" and "-"`,
    );
  return value;
}

export function registerExperimentCommands(program: Command): void {
  const experiment = program
    .command('experiment')
    .description('start, stop and list experiments (a control, candidates and the unit of analysis)');
  experiment
    .command('start <model>')
    .description('start an experiment, e.g. `experiment start digits --control 1 --candidates 2`')
    .requiredOption('--candidates <versions>', 'comma-separated candidate versions')
    .option(
      '--control <version>',
      'the version compared against (default: the stable alias, else the largest weight)',
    )
    .option('--unit <unit>', 'request (default) or user: analyse users, not rows, as independent', 'request')
    .option('--json', 'print JSON for scripts')
    .action(
      action(
        async (
          model: string,
          opts: { candidates: string; control?: string; unit: string; json?: boolean },
        ) => {
          if (opts.unit !== 'request' && opts.unit !== 'user')
            throw new CliError(`--unit must be request or user, got "${opts.unit}"`);
          const candidates = opts.candidates
            .split(',')
            .map((c) => c.trim())
            .filter(Boolean)
            .map((c) => name('version', c));
          if (candidates.length === 0)
            throw new CliError('--candidates needs at least one version, e.g. --candidates 2');
          const started = await registryClient().startExperiment(name('model', model), {
            candidates,
            unit: opts.unit,
            ...(opts.control ? { control: name('version', opts.control) } : {}),
          });
          createOutput(Boolean(opts.json)).result(
            `${model}: experiment ${started.id} started: ${started.candidates.map((c) => `v${c}`).join(', ')} against control v${started.control}, unit ${started.unit}`,
            started,
          );
        },
      ),
    );
  experiment
    .command('stop <model>')
    .description("stop the model's running experiment")
    .option('--json', 'print JSON for scripts')
    .action(
      action(async (model: string, opts: { json?: boolean }) => {
        const stopped = await registryClient().stopExperiment(name('model', model), 'current');
        createOutput(Boolean(opts.json)).result(`${model}: experiment ${stopped.id} stopped`, stopped);
      }),
    );
  experiment
    .command('list <model>')
    .description("the model's experiments, newest first")
    .option('--json', 'print JSON for scripts')
    .action(
      action(async (model: string, opts: { json?: boolean }) => {
        const { experiments } = await registryClient().listExperiments(name('model', model));
        createOutput(Boolean(opts.json)).table(
          experiments,
          [
            { header: 'id', value: (e) => e.id },
            { header: 'status', value: (e) => e.status },
            { header: 'control', value: (e) => e.control },
            { header: 'candidates', value: (e) => e.candidates.join(',') },
            { header: 'unit', value: (e) => e.unit },
            { header: 'started', value: (e) => e.started_at },
            { header: 'ended', value: (e) => e.ended_at },
          ],
          { experiments },
        );
      }),
    );
}
