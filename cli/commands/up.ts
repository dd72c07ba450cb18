/** `modelgate up` (what `npm start` runs): the whole stack on loopback as child processes — the
 * registry, one model-server per version folder in the store, the gateway — with each child's lines
 * prefixed by its name, a crashed child restarted with backoff, and Ctrl-C / SIGTERM stopping all. */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { NAME_PATTERN } from '../../common/wire';
import { DEFAULT_DATABASE_URL } from '../../tracking/config';
import { openDatabase } from '../../tracking/store/database';

interface UpOptions {
  store: string;
  gatewayPort: string;
  registryPort: string;
  modelServerPort: string;
  host: string;
}

interface ChildSpec {
  name: string;
  args: string[];
  env: Record<string, string>;
}

interface Supervised {
  spec: ChildSpec;
  child?: ChildProcess;
  /** URL from the child's `listening` line, once printed. */
  url?: string;
  restarts: number;
  startedAt: number;
  /** Called once with the URL from the next `listening` line. */
  urlWaiters: ((url: string) => void)[];
}

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10_000;
/** A child that ran this long before dying starts its backoff from the minimum again. */
const STABLE_AFTER_MS = 30_000;
const STOP_DEADLINE_MS = 8_000;

/** `model/version` folders holding a metadata.json, sorted, as the store lays them out. */
export function storeVersions(store: string): { model: string; version: string }[] {
  const found: { model: string; version: string }[] = [];
  const dirs = (dir: string) =>
    readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && NAME_PATTERN.test(d.name))
      .map((d) => d.name)
      .sort(new Intl.Collator('en', { numeric: true }).compare);
  for (const model of dirs(store)) {
    for (const version of dirs(path.join(store, model))) {
      if (existsSync(path.join(store, model, version, 'metadata.json'))) found.push({ model, version });
    }
  }
  return found;
}

const port = (value: string, flag: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new Error(`${flag} must be a port number, got "${value}"`);
  return n;
};

export function registerUpCommand(program: Command): void {
  program
    .command('up')
    .description('run registry, one model-server per version in the store, and the gateway on loopback')
    .option('--store <dir>', 'model store (MODEL_STORE)', process.env.MODEL_STORE ?? './models')
    .option('--gateway-port <n>', 'gateway port (0: any free port)', '8000')
    .option('--registry-port <n>', 'registry port (0: any free port)', '8100')
    .option(
      '--model-server-port <n>',
      'first model-server port; one per version counting up (0: any free)',
      '8501',
    )
    .option('--host <host>', 'interface every process binds', '127.0.0.1')
    .action((options: UpOptions) => up(options));
}

async function up(options: UpOptions): Promise<void> {
  const store = path.resolve(options.store);
  if (!existsSync(store)) throw new Error(`model store ${store} does not exist (--store DIR)`);
  const versions = storeVersions(store);
  if (versions.length === 0)
    throw new Error(`no model versions under ${store}: expected <model>/<version>/metadata.json`);
  const gatewayPort = port(options.gatewayPort, '--gateway-port');
  const registryPort = port(options.registryPort, '--registry-port');
  const firstModelPort = port(options.modelServerPort, '--model-server-port');
  const adminToken = process.env.ADMIN_TOKEN || randomBytes(24).toString('hex');
  const cli = process.argv[1]!;
  // Every child shares one evidence store; migrated here, before any child starts, so concurrent
  // starters never race on a fresh SQLite file.
  const databaseUrl = process.env.DATABASE_URL?.trim() || DEFAULT_DATABASE_URL;
  await (await openDatabase(databaseUrl)).close();
  const base = {
    ...stringEnv(process.env),
    HOST: options.host,
    MODEL_STORE: store,
    ADMIN_TOKEN: adminToken,
    DATABASE_URL: databaseUrl,
  };

  let stopping = false;
  const all: Supervised[] = [];

  const start = (s: Supervised) => {
    s.startedAt = Date.now();
    const child = spawn(process.execPath, [cli, ...s.spec.args], {
      env: { ...base, ...s.spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    s.child = child;
    const prefix = `[${s.spec.name}] `;
    const onLine = (out: NodeJS.WriteStream) => (line: string) => {
      out.write(`${prefix}${line}\n`);
      if (s.url === undefined && line.includes('"event":"listening"')) {
        try {
          s.url = (JSON.parse(line) as { url?: string }).url;
          if (s.url !== undefined) for (const wake of s.urlWaiters.splice(0)) wake(s.url);
        } catch {
          // a line that merely mentions the event
        }
      }
    };
    createInterface({ input: child.stdout! }).on('line', onLine(process.stdout));
    createInterface({ input: child.stderr! }).on('line', onLine(process.stderr));
    child.once('exit', (code, signal) => {
      if (stopping) return;
      const ranMs = Date.now() - s.startedAt;
      if (ranMs > STABLE_AFTER_MS) s.restarts = 0;
      const delayMs = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** s.restarts);
      s.restarts++;
      s.url = undefined;
      process.stderr.write(
        `modelgate up: ${s.spec.name} exited (${signal ?? `code ${code}`}); restarting in ${delayMs} ms\n`,
      );
      setTimeout(() => {
        if (!stopping) start(s);
      }, delayMs);
    });
  };

  const supervise = (spec: ChildSpec) => {
    const s: Supervised = { spec, restarts: 0, startedAt: 0, urlWaiters: [] };
    all.push(s);
    start(s);
    return s;
  };

  const stopAll = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`modelgate up: ${signal}, stopping ${all.length} processes\n`);
    const running = all
      .map((s) => s.child)
      .filter((c): c is ChildProcess => !!c && c.exitCode === null && c.signalCode === null);
    const exited = running.map((c) => new Promise<void>((resolve) => c.once('exit', () => resolve())));
    for (const c of running) c.kill('SIGTERM');
    const killer = setTimeout(() => {
      for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }, STOP_DEADLINE_MS);
    void Promise.all(exited).then(() => {
      clearTimeout(killer);
      process.exit(0);
    });
  };
  process.on('SIGINT', () => stopAll('SIGINT'));
  process.on('SIGTERM', () => stopAll('SIGTERM'));

  const registry = supervise({ name: 'registry', args: ['registry'], env: { PORT: String(registryPort) } });
  const registryUrl = await waitForUrl(registry);
  const servers = versions.map((v, i) =>
    supervise({
      name: `${v.model}/${v.version}`,
      args: ['model-server', '--model', v.model, '--version', v.version],
      env: {
        PORT: String(firstModelPort === 0 ? 0 : firstModelPort + i),
        REGISTRY_URL: registryUrl,
        MODEL_STORE: store,
      },
    }),
  );
  const gateway = supervise({
    name: 'gateway',
    args: ['gateway'],
    env: { PORT: String(gatewayPort), REGISTRY_URL: registryUrl },
  });
  const gatewayUrl = await waitForUrl(gateway);
  const serverUrls = await Promise.all(servers.map((s) => waitForUrl(s)));
  process.stdout.write(
    [
      '',
      'modelgate is up',
      `  gateway      ${gatewayUrl}   (POST /predict, /v2, /v1, /metrics)`,
      `  API docs     ${gatewayUrl}/docs`,
      `  registry     ${registryUrl}`,
      ...servers.map((s, i) => `  ${s.spec.name.padEnd(12)} ${serverUrls[i]}`),
      // A token the user supplied is theirs already; only a generated one is worth printing.
      process.env.ADMIN_TOKEN
        ? '  admin token  (from ADMIN_TOKEN)'
        : `  admin token  ${adminToken} (generated; export ADMIN_TOKEN=${adminToken} for the CLI)`,
      '  Ctrl-C stops everything',
      '',
    ].join('\n'),
  );
}

/** Resolves with the child's URL once it printed its `listening` line (across restarts); never
 * settles if the stack is stopped first, since the process exits then anyway. */
function waitForUrl(s: Supervised): Promise<string> {
  return new Promise((resolve) => {
    if (s.url !== undefined) resolve(s.url);
    else s.urlWaiters.push(resolve);
  });
}

function stringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}
