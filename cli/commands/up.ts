/** `modelgate up` (what `npm start` runs): the whole stack on loopback as supervised child processes.
 * The registry starts first; then the supervisor follows the registry's routing table and keeps
 * exactly one model-server per registered version (a pushed version gets one within seconds, a
 * deleted one loses it); the gateway runs beside them. Children are forked with an IPC channel and
 * report their port by message, so any LOG_LEVEL/LOG_FORMAT works; a crashed child is restarted with
 * backoff; Ctrl-C, SIGTERM or the death of our own parent stop every child. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { packageInfo } from '../../common/package-info';
import { openDatabase } from '../../tracking/store/database';
import { PortBusyError, type SupervisedChild, superviseChild } from '../supervisor/child';
import { untilGatewayRoutes } from '../supervisor/gateway-routes';
import { keyOf, planReconcile, versionsInRoutes } from '../supervisor/reconcile';
import { watchRoutes } from '../supervisor/routes-watch';
import { adminToken, ensureWorkingStore } from '../supervisor/working-store';

interface UpOptions {
  store?: string;
  data: string;
  gatewayPort: string;
  registryPort: string;
  modelServerPort: string;
  host: string;
  startTimeoutMs: string;
}

/** A child that has not reported `listening` by then failed to start (TF.js loading included). */
const START_TIMEOUT_MS = 60_000;
/** Between SIGTERM and SIGKILL: longer than PM2's 1600 ms, as a model-server drains its queue. */
const KILL_TIMEOUT_MS = 8_000;
/** How often we look whether our parent (npm, a shell) is gone. */
const PARENT_CHECK_MS = 500;
/** How long the banner waits for the gateway to route every started version (see gateway-routes.ts). */
const ROUTED_WAIT_MS = 20_000;

const port = (value: string, flag: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new Error(`${flag} must be a port number, got "${value}"`);
  return n;
};

export function registerUpCommand(program: Command): void {
  program
    .command('up')
    .description(
      'run the registry, one model-server per registered version (kept in step with pushes and deletes) and the gateway, on loopback',
    )
    .option(
      '--store <dir>',
      'model store to serve (default: $MODEL_STORE, else DATA/store, created from the shipped models/ on first start)',
    )
    .option(
      '--data <dir>',
      'folder for the working store, the evidence database and the admin token',
      './data',
    )
    .option('--gateway-port <n>', 'gateway port (0: any free port)', '8000')
    .option('--registry-port <n>', 'registry port (0: any free port)', '8100')
    .option('--model-server-port <n>', 'first model-server port, counting up (0: each from the OS)', '0')
    .option('--host <host>', 'interface every process binds', '127.0.0.1')
    .option(
      '--start-timeout-ms <n>',
      'a child not listening by then failed to start',
      String(START_TIMEOUT_MS),
    )
    .addHelpText(
      'after',
      '\nThe admin token is ADMIN_TOKEN when set, else the one kept in DATA/admin-token (created on first start).\n' +
        'Every other variable (LOG_LEVEL, LOG_FORMAT, API_KEYS, ...) is passed on to the services.',
    )
    .action((options: UpOptions) => up(options));
}

async function up(options: UpOptions): Promise<void> {
  const gatewayPort = port(options.gatewayPort, '--gateway-port');
  const registryPort = port(options.registryPort, '--registry-port');
  const firstModelPort = port(options.modelServerPort, '--model-server-port');
  const startTimeoutMs = Number(options.startTimeoutMs);
  if (!Number.isInteger(startTimeoutMs) || startTimeoutMs <= 0)
    throw new Error(`--start-timeout-ms must be a positive integer, got "${options.startTimeoutMs}"`);

  const dataDir = path.resolve(options.data);
  const explicitStore = options.store ?? process.env.MODEL_STORE;
  const store = path.resolve(explicitStore ?? path.join(dataDir, 'store'));
  let seeded = false;
  if (explicitStore === undefined) {
    seeded = await ensureWorkingStore({ store, seed: path.join(packageInfo(__dirname).root, 'models') });
  } else if (!existsSync(store)) {
    throw new Error(`model store ${store} does not exist (--store DIR)`);
  }
  const token = await adminToken({ env: process.env, file: path.join(dataDir, 'admin-token') });
  const cli = process.argv[1]!;
  // Every child shares one evidence store (by default beside the working store, in DATA); migrated
  // here, before any child starts, so concurrent starters never race on a fresh SQLite file.
  const databaseUrl = process.env.DATABASE_URL?.trim() || `sqlite:${path.join(dataDir, 'modelgate.db')}`;
  await (await openDatabase(databaseUrl)).close();
  // Everything every child sees.
  const base: Record<string, string> = {
    ...stringEnv(process.env),
    HOST: options.host,
    MODEL_STORE: store,
    ADMIN_TOKEN: token.token,
    DATABASE_URL: databaseUrl,
  };

  let stopping = false;
  const watch = new AbortController();
  const servers = new Map<string, SupervisedChild>();
  const services: SupervisedChild[] = [];
  const all = () => [...services, ...servers.values()];
  const note = (text: string) => process.stderr.write(`modelgate up: ${text}\n`);

  const stopAll = async (reason: string, exitCode: number) => {
    if (stopping) return;
    stopping = true;
    watch.abort();
    note(`${reason}, stopping ${all().length} processes`);
    await Promise.all(all().map((c) => c.stop()));
    process.exit(exitCode);
  };

  const fatal = (err: Error) => {
    if (stopping) return;
    if (err instanceof PortBusyError) {
      note(
        `${err.message}.\n` +
          `  Something else listens there, often an earlier \`npm start\` still running (lsof -i :${err.port}).\n` +
          '  Stop it, or pick other ports: npm start -- --gateway-port 9000 --registry-port 9100',
      );
    } else {
      note(err.message);
    }
    void stopAll('cannot run without it', 1);
  };

  const child = (name: string, args: string[], env: Record<string, string>, childPort: number) =>
    superviseChild({
      spec: { name, cli, args, env: { ...base, ...env }, port: childPort },
      startTimeoutMs,
      killTimeoutMs: KILL_TIMEOUT_MS,
      out: (line) => process.stdout.write(`[${name}] ${line}\n`),
      err: (line) => process.stderr.write(`[${name}] ${line}\n`),
      note,
      onGiveUp: (err) => {
        // A version that cannot be served leaves the rest running; the stack needs the others.
        if (!servers.has(name) || err instanceof PortBusyError) fatal(err);
      },
    });

  process.on('SIGINT', () => void stopAll('SIGINT', 0));
  process.on('SIGTERM', () => void stopAll('SIGTERM', 0));
  process.on('SIGHUP', () => void stopAll('SIGHUP', 0));
  // When npm (or whoever started us) dies without signalling us, we are re-parented: stop, rather
  // than leave a stack nobody can Ctrl-C.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) void stopAll('parent process exited', 0);
  }, PARENT_CHECK_MS);

  const registry = child('registry', ['registry'], {}, registryPort);
  services.push(registry);
  registry.start();
  const registryUrl = await registry.listening();

  let nextModelPort = firstModelPort;
  const reconcile = (table: unknown) => {
    if (stopping) return;
    const plan = planReconcile(versionsInRoutes(table), servers.keys());
    for (const key of plan.stop) {
      const server = servers.get(key)!;
      servers.delete(key);
      note(`${key} is no longer registered; draining and stopping its model-server`);
      void server.stop();
    }
    for (const v of plan.start) {
      const name = keyOf(v);
      const server = child(
        name,
        ['model-server', '--model', v.model, '--version', v.version],
        { REGISTRY_URL: registryUrl },
        firstModelPort === 0 ? 0 : nextModelPort++,
      );
      servers.set(name, server);
      server.start();
    }
    return plan;
  };

  const gateway = child('gateway', ['gateway'], { REGISTRY_URL: registryUrl }, gatewayPort);
  services.push(gateway);
  gateway.start();

  let first: ((plan: ReturnType<typeof reconcile>) => void) | undefined;
  const firstPlan = new Promise<ReturnType<typeof reconcile>>((resolve) => {
    first = resolve;
  });
  void watchRoutes({
    registryUrl: () => registry.url() ?? registryUrl,
    signal: watch.signal,
    onTable: (table) => {
      const plan = reconcile(table);
      first?.(plan);
      first = undefined;
    },
    onError: note,
  });

  const gatewayUrl = await gateway.listening();
  await firstPlan;
  const initial = [...servers.values()];
  const urls = await Promise.all(
    initial.map((s) => s.listening().catch((err: Error) => `not running: ${err.message}`)),
  );
  if (stopping) return;
  const notLive = await untilGatewayRoutes({
    gatewayUrl,
    versions: initial
      .filter((_, i) => !urls[i]!.startsWith('not running'))
      .map((s) => {
        const [model, version] = s.name.split('/') as [string, string];
        return { model, version };
      }),
    timeoutMs: ROUTED_WAIT_MS,
  });
  if (stopping) return;
  if (notLive.length > 0)
    note(
      `not yet routed by the gateway after ${ROUTED_WAIT_MS / 1000} s: ${notLive.map((v) => `${v.model}/${v.version}`).join(', ')}`,
    );
  const tokenLine = {
    env: '  admin token  (from ADMIN_TOKEN)',
    file: `  admin token  ${token.token} (kept in ${path.join(dataDir, 'admin-token')})`,
    generated: `  admin token  ${token.token} (new; kept in ${path.join(dataDir, 'admin-token')})`,
  }[token.source];
  process.stdout.write(
    [
      '',
      'modelgate is up',
      `  gateway      ${gatewayUrl}   (POST /predict, /v2, /v1, /metrics)`,
      `  API docs     ${gatewayUrl}/docs`,
      `  registry     ${registryUrl}`,
      `  console      ${registryUrl}/console   (models, traffic, experiments, rollouts, drift, audit)`,
      ...initial.map((s, i) => `  ${s.name.padEnd(12)} ${urls[i]}`),
      `  store        ${store}${seeded ? ' (new working copy of models/)' : ''}`,
      tokenLine,
      `  export ADMIN_TOKEN=${process.env.ADMIN_TOKEN ? '...' : token.token} for the CLI; a pushed version is served within seconds`,
      '  Ctrl-C stops everything',
      '',
    ].join('\n'),
  );
}

function stringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}
