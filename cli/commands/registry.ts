/** `modelgate registry` (the service) and the operator commands that talk to it: models, versions,
 * push, traffic show|set, alias set|rm. REGISTRY_URL picks the registry, ADMIN_TOKEN authorises writes. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { parseHttpUrl } from '../../common/config';
import { parseModelJson } from '../../common/model-artifact';
import { nameSchema, type Policy, policyInputSchema, unknownPolicyVersions } from '../../common/wire';
import type { DriftAnswer } from '../../registry/drift/readings';
import { runRegistry } from '../../registry/main';
import { action, CliError, type Column, createOutput } from '../output';
import { RegistryClient, type UploadFile } from '../registry-client';

export function client(): RegistryClient {
  let url: string;
  try {
    url = parseHttpUrl('REGISTRY_URL', process.env.REGISTRY_URL?.trim() || 'http://127.0.0.1:8100');
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  return new RegistryClient(url, process.env.ADMIN_TOKEN?.trim() || undefined);
}

export function name(kind: string, value: string): string {
  if (!nameSchema.safeParse(value).success) {
    throw new CliError(
      `${kind} ${JSON.stringify(value)} is not a valid name: use lower-case letters, digits, ".", "_" and "-"`,
    );
  }
  return value;
}

const percent = (n: number) => `${n}%`;

type DriftRow = {
  version: string;
  url: string;
  rows: number | null;
  feature: string;
  psi: number | null;
  ks: string;
};

/** One row per instance and feature; an instance without readings yet gets one row saying why. */
export function driftRows(drift: DriftAnswer): DriftRow[] {
  const rows: DriftRow[] = [];
  for (const v of drift.versions) {
    for (const i of v.instances) {
      const base = { version: v.version, url: i.url, rows: i.window_rows };
      if (!i.ok) rows.push({ ...base, feature: i.error ?? 'unreachable', psi: null, ks: '-' });
      else if (i.features.every((f) => f.psi === null))
        rows.push({ ...base, feature: '(too few rows in the window yet)', psi: null, ks: '-' });
      else
        for (const f of i.features)
          rows.push({
            ...base,
            feature: f.name,
            psi: f.psi,
            ks:
              f.ks === null
                ? '-'
                : `${f.ks.toFixed(3)}${f.ks_critical !== null && f.ks > f.ks_critical ? ' (significant)' : ''}`,
          });
    }
  }
  return rows;
}

const DRIFT_COLUMNS: Column<DriftRow>[] = [
  { header: 'VERSION', value: (r) => r.version },
  { header: 'INSTANCE', value: (r) => r.url },
  { header: 'WINDOW ROWS', value: (r) => r.rows, align: 'right' },
  { header: 'FEATURE', value: (r) => r.feature },
  {
    header: 'PSI',
    value: (r) =>
      r.psi === null
        ? '-'
        : `${r.psi.toFixed(3)}${r.psi > 0.25 ? ' (significant)' : r.psi >= 0.1 ? ' (moderate)' : ''}`,
    align: 'right',
  },
  { header: 'KS', value: (r) => r.ks, align: 'right' },
];

/** "1=90" → {version: "1", weight: 90}. */
export function parseSplit(pairs: readonly string[]): Policy['variants'] {
  return pairs.map((pair) => {
    const m = /^([^=]+)=(\d{1,3})$/.exec(pair);
    if (!m)
      throw new CliError(`"${pair}" is not VERSION=PERCENT; write e.g. \`traffic set digits 1=90 2=10\``);
    return { version: name('version', m[1]!), weight: Number(m[2]) };
  });
}

/** "header:x-user-id" → {header: "x-user-id"}. */
export function parseSticky(spec: string): NonNullable<Policy['sticky']> {
  const m = /^header:(.+)$/.exec(spec);
  if (!m) throw new CliError(`--sticky must be header:NAME, e.g. --sticky header:x-user-id, got "${spec}"`);
  return { header: m[1]! };
}

/** "3:10" → {version: "3", percent: 10}. */
export function parseShadow(spec: string): NonNullable<Policy['shadow']> {
  const m = /^([^:]+):(\d+(?:\.\d+)?)$/.exec(spec);
  if (!m) throw new CliError(`--shadow must be VERSION:PERCENT, e.g. --shadow 3:10, got "${spec}"`);
  return { version: name('version', m[1]!), percent: Number(m[2]) };
}

/** Reads a version folder: model.json, metadata.json and every shard model.json names. */
async function readVersionFolder(dir: string): Promise<UploadFile[]> {
  const read = async (file: string) => {
    try {
      return await readFile(path.join(dir, file));
    } catch {
      throw new CliError(
        `${path.join(dir, file)} is missing; a version folder holds model.json, its weight shards and metadata.json`,
      );
    }
  };
  const modelJson = await read('model.json');
  let shards: string[];
  try {
    shards = parseModelJson(modelJson).weightsManifest.flatMap((g) => g.paths);
  } catch (err) {
    throw new CliError(`${path.join(dir, 'model.json')}: ${(err as Error).message}`);
  }
  const files: UploadFile[] = [{ name: 'model.json', data: modelJson }];
  for (const shard of shards) files.push({ name: shard, data: await read(shard) });
  files.push({ name: 'metadata.json', data: await read('metadata.json') });
  return files;
}

function policyLines(model: string, p: Policy): string {
  const aliases = Object.entries(p.aliases).map(([a, v]) => `${a}→${v}`);
  return [
    `model ${model}, revision ${p.revision}`,
    `sticky    ${p.sticky ? `header ${p.sticky.header}` : 'off'}`,
    `shadow    ${p.shadow ? `version ${p.shadow.version} at ${p.shadow.percent}%` : 'off'}`,
    `failover  ${p.failover ? 'on' : 'off'}`,
    `aliases   ${aliases.join(', ') || 'none'}`,
  ].join('\n');
}

export function registerRegistryCommands(program: Command): void {
  program
    .command('registry')
    .description(
      'run the registry service (versions, traffic policies, audit log, live instances) on PORT (8100)',
    )
    .addHelpText(
      'after',
      '\nEnvironment: PORT (8100), HOST, MODEL_STORE (./models), ADMIN_TOKEN, ADMIN_TOKENS (name:token,...),\n' +
        'HEARTBEAT_INTERVAL_MS (2000), INSTANCE_TTL_MS, MAX_UPLOAD_BYTES, LOG_LEVEL, LOG_FORMAT.\n' +
        'Every variable is described in the README, section Configuration.',
    )
    .action(async () => {
      await runRegistry();
    });

  program
    .command('models')
    .description('list the models in the registry with their versions, split and aliases')
    .option('--json', 'print JSON for scripts')
    .action(
      action(async (opts: { json?: boolean }) => {
        const { models } = await client().listModels();
        createOutput(Boolean(opts.json)).table(
          models,
          [
            { header: 'MODEL', value: (m) => m.name },
            { header: 'VERSIONS', value: (m) => m.versions.join(',') },
            {
              header: 'SPLIT',
              value: (m) =>
                Object.entries(m.weights)
                  .map(([v, w]) => `${v}=${w}`)
                  .join(' '),
            },
            {
              header: 'ALIASES',
              value: (m) =>
                Object.entries(m.aliases)
                  .map(([a, v]) => `${a}→${v}`)
                  .join(' ') || '-',
            },
            { header: 'LIVE', value: (m) => m.live_instances, align: 'right' },
            { header: 'REV', value: (m) => m.revision, align: 'right' },
          ],
          { models },
        );
      }),
    );

  program
    .command('versions <model>')
    .description("list a model's versions with weight, aliases, live instances and held-out metrics")
    .option('--json', 'print JSON for scripts')
    .action(
      action(async (model: string, opts: { json?: boolean }) => {
        const detail = await client().getModel(name('model', model));
        createOutput(Boolean(opts.json)).table(
          detail.versions,
          [
            { header: 'VERSION', value: (v) => v.version },
            { header: 'WEIGHT', value: (v) => percent(v.weight), align: 'right' },
            { header: 'ALIASES', value: (v) => v.aliases.join(',') || '-' },
            { header: 'LIVE', value: (v) => v.instances.length, align: 'right' },
            {
              header: 'ACCURACY',
              value: (v) => (v.metrics.accuracy === undefined ? '-' : v.metrics.accuracy.toFixed(4)),
              align: 'right',
            },
            { header: 'CREATED', value: (v) => v.created },
            { header: 'DESCRIPTION', value: (v) => v.description },
          ],
          detail,
        );
      }),
    );

  program
    .command('drift <model>')
    .description(
      "what each live model-server's drift monitor says: PSI and KS per feature against the training baseline",
    )
    .option('--json', 'print JSON for scripts')
    .action(
      action(async (model: string, opts: { json?: boolean }) => {
        const drift = await client().getDrift(name('model', model));
        createOutput(Boolean(opts.json)).table(driftRows(drift), DRIFT_COLUMNS, drift);
      }),
    );

  program
    .command('push <dir>')
    .description(
      'register a new version from a folder holding model.json, its weight shards and metadata.json',
    )
    .requiredOption('--model <model>', 'model to add the version to (created if new)')
    .option('--version <version>', 'version name (default: the next integer)')
    .option('--json', 'print JSON for scripts')
    .action(
      action(async (dir: string, opts: { model: string; version?: string; json?: boolean }) => {
        const model = name('model', opts.model);
        const version = opts.version === undefined ? undefined : name('version', opts.version);
        const files = await readVersionFolder(dir);
        const showBar = Boolean(process.stderr.isTTY) && !opts.json;
        const bar = showBar
          ? new SingleBar({
              format: 'uploading [{bar}] {percentage}% {value}/{total} bytes',
              stream: process.stderr,
              hideCursor: true,
            })
          : undefined;
        let started = false;
        try {
          const result = await client().pushVersion(model, files, {
            version,
            onProgress: (sent, total) => {
              if (!bar) return;
              if (!started) bar.start(total, 0);
              started = true;
              bar.update(sent);
            },
          });
          bar?.stop();
          const bytes = files.reduce((n, f) => n + f.data.length, 0);
          createOutput(Boolean(opts.json)).result(
            `pushed ${model} version ${result.version} (${files.length} files, ${bytes} bytes)${result.created_model ? '; new model with 100% of its traffic on it' : '; it takes no traffic until `modelgate traffic set`'}`,
            result,
          );
        } finally {
          bar?.stop();
        }
      }),
    );

  const traffic = program.command('traffic').description("show or change a model's traffic split");
  traffic
    .command('show <model>')
    .description('the split, sticky key, shadow, failover and aliases of a model')
    .option('--json', 'print JSON for scripts')
    .action(
      action(async (model: string, opts: { json?: boolean }) => {
        const { policy } = await client().getPolicy(name('model', model));
        const out = createOutput(Boolean(opts.json));
        if (out.json) return out.result('', policy);
        out.table(policy.variants, [
          { header: 'VERSION', value: (v) => v.version },
          { header: 'WEIGHT', value: (v) => percent(v.weight), align: 'right' },
        ]);
        out.result(policyLines(model, policy), policy);
      }),
    );
  traffic
    .command('set <model> <split...>')
    .description('set the split, e.g. `traffic set digits 1=90 2=10 --sticky header:x-user-id --shadow 3:10`')
    .option('--sticky <header:name>', 'route each caller consistently by this request header')
    .option('--no-sticky', 'turn sticky routing off')
    .option(
      '--shadow <version:percent>',
      'copy this share of requests to a version, answers compared, never returned',
    )
    .option('--no-shadow', 'turn shadow traffic off')
    .option('--failover', 'fail over to another variant when the chosen one is down (default)')
    .option('--no-failover', 'answer 503 instead of failing over')
    .option('--json', 'print JSON for scripts')
    .action(
      action(
        async (
          model: string,
          split: string[],
          opts: { sticky?: string | false; shadow?: string | false; failover?: boolean; json?: boolean },
        ) => {
          name('model', model);
          const registry = client();
          const [{ policy, etag }, detail] = await Promise.all([
            registry.getPolicy(model),
            registry.getModel(model),
          ]);
          const next = {
            variants: parseSplit(split),
            sticky:
              opts.sticky === undefined
                ? policy.sticky
                : opts.sticky === false
                  ? null
                  : parseSticky(opts.sticky),
            shadow:
              opts.shadow === undefined
                ? policy.shadow
                : opts.shadow === false
                  ? null
                  : parseShadow(opts.shadow),
            aliases: policy.aliases,
            failover: opts.failover ?? policy.failover,
          };
          const checked = policyInputSchema.safeParse(next);
          if (!checked.success) {
            throw new CliError(
              `the new split is invalid: ${checked.error.issues.map((i) => i.message).join('; ')}`,
            );
          }
          const unknown = unknownPolicyVersions(checked.data, new Set(detail.versions.map((v) => v.version)));
          if (unknown.length > 0) {
            throw new CliError(
              `${model} has no version ${unknown.join(', ')} (versions: ${detail.versions.map((v) => v.version).join(', ')}); push it first`,
            );
          }
          const stored = await registry.putPolicy(model, next, etag);
          createOutput(Boolean(opts.json)).result(
            `${model} revision ${stored.revision}: ${stored.variants.map((v) => `${v.version}=${v.weight}%`).join(' ')}`,
            stored,
          );
        },
      ),
    );

  const alias = program
    .command('alias')
    .description('move labels such as stable and canary between versions');
  alias
    .command('set <model> <alias> <version>')
    .description('point an alias at a version, e.g. `alias set digits canary 2`')
    .option('--json', 'print JSON for scripts')
    .action(
      action(async (model: string, aliasName: string, version: string, opts: { json?: boolean }) => {
        const stored = await client().setAlias(
          name('model', model),
          name('alias', aliasName),
          name('version', version),
        );
        createOutput(Boolean(opts.json)).result(
          `${model}: ${aliasName} → ${version} (revision ${stored.revision})`,
          stored,
        );
      }),
    );
  alias
    .command('rm <model> <alias>')
    .description('remove an alias')
    .option('--json', 'print JSON for scripts')
    .action(
      action(async (model: string, aliasName: string, opts: { json?: boolean }) => {
        const stored = await client().deleteAlias(name('model', model), name('alias', aliasName));
        createOutput(Boolean(opts.json)).result(
          `${model}: removed alias ${aliasName} (revision ${stored.revision})`,
          stored,
        );
      }),
    );
}
