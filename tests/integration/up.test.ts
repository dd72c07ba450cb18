/** `modelgate up` end to end, as a newcomer meets it: started with LOG_LEVEL=warn and LOG_FORMAT=pretty
 * (ports come over IPC, not from log lines), from a fresh data folder (working copy of the shipped
 * store, admin token kept in a 0600 file); a pushed version gets its model-server and is live within
 * 10 s with no other command, a deleted one loses it, a crashed one is restarted, SIGTERM stops all;
 * busy fixed ports exit 1 with the hint; the death of up's parent stops the whole stack. */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { architectureOf } from '../helpers/model-architecture';
import { CLI, ROOT, runCli } from '../helpers/processes';
import { SHIPPED_STORE } from '../helpers/test-store';
import {
  alive,
  childPids,
  commandOf,
  descendantPids,
  liveInstances,
  startUp,
  type UpProcess,
  until,
} from '../helpers/up-process';

jest.setTimeout(240_000);

const run = promisify(execFile);

let dataDir: string;
const started: UpProcess[] = [];
/** Pids started outside startUp, killed in afterAll if a test failed before they stopped. */
const stray: number[] = [];

function env(extra: Record<string, string> = {}): Record<string, string | undefined> {
  const e: Record<string, string | undefined> = {
    ...process.env,
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'pretty',
    ...extra,
  };
  delete e.ADMIN_TOKEN;
  delete e.MODEL_STORE;
  delete e.DATABASE_URL; // up's default: DATA/modelgate.db, inside the temp data folder
  return e;
}

const upArgs = () => ['--data', dataDir, '--gateway-port', '0', '--registry-port', '0'];

const serverPid = (up: UpProcess, model: string, version: string) =>
  childPids(up.proc.pid!).find((p) => commandOf(p).endsWith(`--model ${model} --version ${version}`));

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'up-data-'));
});

afterAll(async () => {
  for (const up of started) up.kill();
  for (const pid of stray.flatMap((p) => [...childPids(p), p])) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  await rm(dataDir, { recursive: true, force: true });
});

describe('modelgate up under LOG_LEVEL=warn LOG_FORMAT=pretty', () => {
  let up: UpProcess;
  let urls: { gateway: string; registry: string; token?: string };

  it('is ready within a minute, on a working copy of the store, with a kept token', async () => {
    const t0 = Date.now();
    up = startUp(upArgs(), env());
    started.push(up);
    urls = await up.banner(60_000);
    // The banner waits until the gateway routes each started version, so a request sent right after
    // it reaches any of them (it used to come once the model-servers listened, a heartbeat early).
    const shipped = ['digits/1', 'digits/2', 'penguins/1', 'penguins/2'];
    const liveAtBanner = await Promise.all(
      shipped.map((k) => {
        const [m, v] = k.split('/') as [string, string];
        return liveInstances(urls.gateway, m, v);
      }),
    );
    expect(Object.fromEntries(shipped.map((k, i) => [k, liveAtBanner[i]! > 0]))).toEqual(
      Object.fromEntries(shipped.map((k) => [k, true])),
    );
    const consoleUrl = /console\s+(http:\/\/\S+)/.exec(await up.waitForLine(/^ {2}console\s+http/))![1]!;
    expect(consoleUrl).toBe(`${urls.registry}/console`);
    const page = await fetch(consoleUrl);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>modelgate console</title>');
    expect(Date.now() - t0).toBeLessThan(60_000);
    expect(up.lines.some((l) => l.includes('"event":"listening"'))).toBe(false);
    expect(urls.token).toMatch(/^[0-9a-f]{48}$/);
    const tokenFile = path.join(dataDir, 'admin-token');
    expect((await readFile(tokenFile, 'utf8')).trim()).toBe(urls.token);
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
    expect(await up.waitForLine(/^ {2}store\s+/)).toContain(path.join(dataDir, 'store'));
    await stat(path.join(dataDir, 'store', 'penguins', 'policy.json'));
    await until('every shipped version live', async () =>
      (
        await Promise.all(
          ['digits/1', 'digits/2', 'penguins/1', 'penguins/2'].map((k) => {
            const [m, v] = k.split('/') as [string, string];
            return liveInstances(urls.gateway, m, v);
          }),
        )
      ).every((n) => n === 1),
    );
  });

  it('serves a freshly trained and pushed version within 10 s, and drains and stops it when deleted', async () => {
    // What the README's workflow does: `npm run train -- --model M --version 3 --out DIR`, then push.
    const folder = path.join(dataDir, 'penguins-v3');
    const trainer = path.join(ROOT, 'dist', 'models', 'train', 'main.js');
    const trained = await run(
      process.execPath,
      [trainer, '--model', 'penguins', '--version', '3', '--out', folder],
      {
        cwd: ROOT,
      },
    );
    expect(trained.stdout).toContain('penguins v3 (mlp-wide)');
    // Genuinely new: another architecture than both shipped versions, not a retrained copy.
    const v3 = await architectureOf(folder);
    expect(v3.layers).toEqual(['Dense(32)', 'Dense(16)', 'Dense(3)']);
    for (const shipped of ['1', '2']) {
      const other = await architectureOf(path.join(SHIPPED_STORE, 'penguins', shipped));
      expect(v3.layers).not.toEqual(other.layers);
      expect(v3.weights).not.toEqual(other.weights);
      expect(v3.shardSha256).not.toEqual(other.shardSha256);
    }
    const cliEnv = { REGISTRY_URL: urls.registry, ADMIN_TOKEN: urls.token };
    const pushed = await runCli(['push', folder, '--model', 'penguins', '--version', '3'], cliEnv);
    expect(pushed.stderr).toBe('');
    expect(pushed.code).toBe(0);
    const t0 = Date.now();
    await until(
      'penguins/3 live in the gateway',
      async () => (await liveInstances(urls.gateway, 'penguins', '3')) === 1,
      10_000,
    );
    expect(Date.now() - t0).toBeLessThan(10_000);
    const pid = serverPid(up, 'penguins', '3');
    expect(pid).toBeDefined();
    const sample = JSON.parse(await readFile(path.join(SHIPPED_STORE, 'penguins', 'sample.json'), 'utf8'));
    const answer = await fetch(`${urls.gateway}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-model-version': '3' },
      body: JSON.stringify({ model: 'penguins', features: sample[0] }),
    });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-model-version')).toBe('3');

    const deleted = await fetch(`${urls.registry}/models/penguins/versions/3`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${urls.token}` },
    });
    expect(deleted.status).toBe(200);
    await up.waitForLine(/penguins\/3 is no longer registered; draining and stopping/, 10_000);
    await until('the penguins/3 model-server to exit', () => !alive(pid!), 15_000);
    expect(serverPid(up, 'penguins', '3')).toBeUndefined();
  });

  it('restarts a model-server that crashes', async () => {
    const pid = serverPid(up, 'digits', '1')!;
    process.kill(pid, 'SIGKILL');
    await up.waitForLine(/digits\/1 exited \(SIGKILL\); restarting in \d+ ms/, 10_000);
    await until('a new digits/1 model-server', () => {
      const next = serverPid(up, 'digits', '1');
      return next !== undefined && next !== pid;
    });
    await until('digits/1 live again', async () => (await liveInstances(urls.gateway, 'digits', '1')) === 1);
  });

  it('stops every child on SIGTERM and exits 0', async () => {
    const children = childPids(up.proc.pid!);
    expect(children.length).toBe(2 + 4); // registry, gateway, one model-server per shipped version
    up.proc.kill('SIGTERM');
    expect(await up.exited).toBe(0);
    expect(children.filter(alive)).toEqual([]);
  });
});

describe('busy fixed ports', () => {
  let blocker: Server;
  afterAll(() => new Promise<void>((resolve) => blocker.close(() => resolve())));

  it('make up exit 1 with the troubleshooting hint instead of retrying', async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const busy = (blocker.address() as { port: number }).port;
    const up = startUp(['--data', dataDir, '--gateway-port', '0', '--registry-port', String(busy)], env());
    started.push(up);
    expect(await up.exited).toBe(1);
    const out = up.lines.join('\n');
    expect(out).toContain(`registry could not listen on port ${busy}: it is already in use`);
    expect(out).toContain('npm start -- --gateway-port 9000 --registry-port 9100');
    expect(out).not.toMatch(/restarting in/);
  });
});

describe('the death of up’s parent', () => {
  it('stops the whole stack; the token kept in the data folder is reused', async () => {
    const first = (await readFile(path.join(dataDir, 'admin-token'), 'utf8')).trim();
    // sh stands in for npm: it starts up, and we SIGKILL it so it cannot pass a signal on.
    const args = [CLI, 'up', ...upArgs()].map((a) => `'${a}'`).join(' ');
    const sh = spawn('sh', ['-c', `'${process.execPath}' ${args} > '${dataDir}/up.log' 2>&1; sleep 60`], {
      cwd: ROOT,
      env: env(),
      stdio: 'ignore',
    });
    let upPid: number | undefined;
    await until('up to start', () => {
      upPid = childPids(sh.pid!).find((p) => commandOf(p).includes(' up '));
      return upPid !== undefined;
    });
    await until(
      'the banner',
      async () => (await readFile(`${dataDir}/up.log`, 'utf8')).includes('modelgate is up'),
      90_000,
    );
    const log = await readFile(`${dataDir}/up.log`, 'utf8');
    expect(log).toMatch(new RegExp(`admin token\\s+${first} \\(kept in `));
    const stack = [upPid!, ...childPids(upPid!)];
    stray.push(upPid!);
    expect(stack.length).toBe(1 + 2 + 4);
    sh.kill('SIGKILL');
    await until('every process of the stack to exit', () => stack.every((p) => !alive(p)), 30_000);
    expect(await readFile(`${dataDir}/up.log`, 'utf8')).toContain('parent process exited');
  });
});

describe('npm start', () => {
  it('stops every child when npm alone gets SIGINT or SIGTERM, as an IDE or a process manager sends it', async () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      // --ignore-scripts skips prestart's build (dist/ is built already), not the start script itself.
      const npm = startUp(['--ignore-scripts', '--', ...upArgs()], env(), { command: ['npm', 'start'] });
      started.push(npm);
      await npm.banner(90_000);
      const stack = descendantPids(npm.proc.pid!);
      expect(stack.filter((p) => /^\S*node .*dist\/cli\/main\.js/.test(commandOf(p))).length).toBe(1 + 2 + 4);
      npm.proc.kill(signal);
      await until(
        `every process of the stack to exit after ${signal}`,
        () => stack.every((p) => !alive(p)),
        20_000,
      );
      await npm.exited;
    }
  });
});
