/** The README from the top, in a throwaway clone of the tracked files, as a newcomer runs it:
 * `npm start` builds, then the stack is ready within a minute; every curl example of the Endpoints section;
 * the experimenter's workflow (train a digits v3 with the cnn-wide recipe, push it, and it serves
 * within 10 s with no other command; a rollout started, watched, paused, resumed, aborted; the manual
 * path to promotion and back; v3 retired). Then `git status --porcelain` is empty: nothing the README
 * does writes into the checkout. The CNN's training (about 100 s of CPU) is why this is e2e.
 * Ports are the OS's (a clean CI machine would have 8000 and 8100 free; the curl test in `npm test`
 * uses those), so the CLI gets REGISTRY_URL and GATEWAY_URL, and the curls the ports up printed. */
import { execFile, execFileSync } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { architectureOf } from '../helpers/model-architecture';
import { ROOT } from '../helpers/processes';
import { readmeSteps, runSteps } from '../helpers/readme-steps';
import {
  alive,
  commandOf,
  descendantPids,
  liveInstances,
  startUp,
  type UpProcess,
  until,
} from '../helpers/up-process';

jest.setTimeout(900_000);

let temp: string;
let clone: string;
let up: UpProcess;
let urls: { gateway: string; registry: string; token?: string };
let readme: string;
let env: NodeJS.ProcessEnv;

/** The clone's tracked files as they are in the working tree (so uncommitted edits are what is tested). */
async function cloneTrackedFiles(into: string): Promise<void> {
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter(Boolean);
  for (const file of files) {
    await mkdir(path.dirname(path.join(into, file)), { recursive: true });
    await copyFile(path.join(ROOT, file), path.join(into, file)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err; // deleted in the working tree, not yet in the index
    });
  }
  const git = (...args: string[]) => execFileSync('git', args, { cwd: into, stdio: 'pipe' });
  git('init', '-q');
  git('add', '-A');
  git('-c', 'user.name=test', '-c', 'user.email=test@localhost', 'commit', '-qm', 'clone');
  // `npm install` makes node_modules a folder, which .gitignore's `node_modules/` covers; this clone
  // borrows the checkout's, and git does not take a symlink for a folder.
  await symlink(path.join(ROOT, 'node_modules'), path.join(into, 'node_modules'));
  await writeFile(path.join(into, '.git', 'info', 'exclude'), 'node_modules\n');
}

const gitStatus = () => execFileSync('git', ['status', '--porcelain'], { cwd: clone, encoding: 'utf8' });

/** One README command, run by bash in the clone; the test first checks the README shows it verbatim. */
function sh(command: string, timeoutMs = 600_000): Promise<{ code: number; stdout: string; stderr: string }> {
  expect({ command, inReadme: readme.includes(command) }).toEqual({ command, inReadme: true });
  const local = command.replaceAll('localhost:8100', urls.registry.replace('http://', ''));
  return new Promise((resolve) =>
    execFile(
      'bash',
      ['-c', local],
      { cwd: clone, env, timeout: timeoutMs, maxBuffer: 64 << 20 },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 124) : 0, stdout, stderr }),
    ),
  );
}

async function ok(command: string): Promise<string> {
  const r = await sh(command);
  expect({ command, code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({
    command,
    code: 0,
    stderr: '',
  });
  return r.stdout;
}

const live = (model: string, version: string) => liveInstances(urls.gateway, model, version);

async function predictDigit(
  headers: Record<string, string> = {},
): Promise<{ status: number; version: string | null }> {
  const sample = JSON.parse(
    await readFile(path.join(clone, 'models', 'digits', 'sample.json'), 'utf8'),
  ) as number[][];
  const r = await fetch(`${urls.gateway}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'digits', features: sample[0] }),
  });
  await r.arrayBuffer();
  return { status: r.status, version: r.headers.get('x-model-version') };
}

const policyOf = async (model: string) =>
  (await (await fetch(`${urls.registry}/models/${model}/policy`)).json()) as {
    variants: { version: string; weight: number }[];
    aliases: Record<string, string>;
  };

beforeAll(async () => {
  readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
  temp = await mkdtemp(path.join(tmpdir(), 'readme-workflow-'));
  clone = path.join(temp, 'modelgate');
  await cloneTrackedFiles(clone);
  // What the README's `npm link` gives: `modelgate` on PATH, running this clone's build.
  const bin = path.join(temp, 'bin');
  await mkdir(bin);
  await writeFile(path.join(bin, 'modelgate'), `#!/bin/sh\nexec node '${clone}/dist/cli/main.js' "$@"\n`);
  await chmod(path.join(bin, 'modelgate'), 0o755);
  env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
  for (const k of [
    'ADMIN_TOKEN',
    'MODEL_STORE',
    'DATABASE_URL',
    'REGISTRY_URL',
    'GATEWAY_URL',
    'LOG_LEVEL',
    'LOG_FORMAT',
  ])
    delete env[k];
});

afterAll(async () => {
  up?.kill();
  if (temp) await rm(temp, { recursive: true, force: true });
});

test('npm start in a fresh clone builds, then is ready within a minute', async () => {
  expect(readme).toContain('npm install && npm start');
  up = startUp(['--gateway-port', '0', '--registry-port', '0'], env, {
    cwd: clone,
    command: ['npm', 'start', '--'],
  });
  // The build (prestart: tsc and the console bundle) takes 12 s on a quiet machine, minutes on a busy
  // one; the minute is the stack's, from the moment the start script runs.
  await up.waitForLine(/^> exec node dist\/cli\/main\.js up/, 240_000);
  const t0 = Date.now();
  urls = await up.banner(60_000);
  await until(
    'every shipped version live',
    async () => (await Promise.all(['1', '2'].map((v) => live('digits', v)))).every((n) => n === 1),
    Math.max(1, 60_000 - (Date.now() - t0)),
  );
  expect((await fetch(`${urls.gateway}/ready`)).status).toBe(200);
  expect(Date.now() - t0).toBeLessThan(60_000);
  env.ADMIN_TOKEN = (await readFile(path.join(clone, 'data', 'admin-token'), 'utf8')).trim();
  env.REGISTRY_URL = urls.registry;
  env.GATEWAY_URL = urls.gateway;
});

test("every curl example of the README's Endpoints section works in the clone", async () => {
  const { steps } = readmeSteps(readme);
  const local = steps.map((s) => ({
    ...s,
    command: s.command
      .replaceAll('localhost:8000', urls.gateway.replace('http://', ''))
      .replaceAll('localhost:8100', urls.registry.replace('http://', '')),
  }));
  expect(await runSteps(local, { cwd: clone, env })).toEqual([]);
});

test('a digits v3 trained with the cnn-wide recipe is genuinely new, and is served within 10 s of its push', async () => {
  const out = await ok('npm run train -- --model digits --version 3 --recipe cnn-wide --out data/digits-v3');
  expect(out).toContain('digits v3 (cnn-wide)');
  const v3 = await architectureOf(path.join(clone, 'data', 'digits-v3'));
  expect(v3.layers).toEqual([
    'Reshape(28x28x1)',
    'Conv2D(24, 3x3)',
    'MaxPooling2D',
    'Conv2D(48, 3x3)',
    'MaxPooling2D',
    'Flatten',
    'Dense(64)',
    'Dense(10)',
  ]);
  for (const shipped of ['1', '2']) {
    const other = await architectureOf(path.join(clone, 'models', 'digits', shipped));
    expect(v3.layers).not.toEqual(other.layers);
    expect(v3.weights).not.toEqual(other.weights);
    expect(v3.shardSha256).not.toEqual(other.shardSha256);
  }

  await ok('modelgate push data/digits-v3 --model digits --version 3');
  const pushed = Date.now();
  await until('digits/3 live in the gateway', async () => (await live('digits', '3')) === 1, 10_000);
  expect(Date.now() - pushed).toBeLessThan(10_000);
  expect(await predictDigit({ 'x-model-version': '3' })).toEqual({ status: 200, version: '3' });
  expect(await ok('modelgate versions digits')).toMatch(/^\s*3\b.*\b0\b/m);
});

test('a rollout of v3 starts, can be watched, paused, resumed and aborted back to the split before it', async () => {
  const before = await policyOf('digits');
  await ok('modelgate rollout start digits 3');
  await until('v3 gets its first step', async () =>
    (await policyOf('digits')).variants.some((v) => v.version === '3' && v.weight > 0),
  );
  // --watch never ends by itself: it must still be watching, not failing, when we stop it.
  const watched = await sh('modelgate rollout status digits --watch', 15_000);
  expect({ code: watched.code, stderr: watched.stderr }).toEqual({ code: 124, stderr: '' });
  expect(watched.stdout).toContain('digits');
  await ok('modelgate rollout pause digits');
  await ok('modelgate rollout resume digits');
  await ok('modelgate rollout abort digits');
  await until('the split from before the rollout', async () => {
    const now = await policyOf('digits');
    return JSON.stringify([now.variants, now.aliases]) === JSON.stringify([before.variants, before.aliases]);
  });
});

test('the manual path promotes v3 and rolls back, weights and aliases; then v3 is retired and its server stops', async () => {
  await ok('modelgate predict penguins --json models/penguins/sample.json');
  await ok('modelgate traffic set digits 1=100 --shadow 3:10');
  await ok('modelgate traffic set digits 1=95 3=5 --sticky header:x-user-id --no-shadow');
  await ok('modelgate alias set digits canary 3');
  await ok('modelgate report digits');
  await ok('modelgate traffic set digits 3=100 && modelgate alias set digits stable 3');
  await until('routing to v3 only', async () => (await predictDigit()).version === '3');
  await ok(
    'modelgate traffic set digits 1=100 && modelgate alias set digits canary 1 && modelgate alias set digits stable 1',
  );
  await until('routing to v1 only', async () => (await predictDigit()).version === '1');
  expect((await policyOf('digits')).aliases).toEqual({ stable: '1', canary: '1' });

  const server = descendantPids(up.proc.pid!).find((p) =>
    commandOf(p).endsWith('--model digits --version 3'),
  );
  expect(server).toBeDefined();
  const retired = await ok(
    'curl -X DELETE localhost:8100/models/digits/versions/3 -H "Authorization: Bearer $ADMIN_TOKEN"',
  );
  expect(retired).not.toContain('"error"');
  expect((await fetch(`${urls.registry}/models/digits/versions/3`)).status).toBe(404);
  await until('the digits/3 model-server to exit', () => !alive(server!), 20_000);
});

test('git status is clean after all of it, while the stack runs and once npm start is stopped', async () => {
  expect(gitStatus()).toBe('');
  const stack = [up.proc.pid!, ...descendantPids(up.proc.pid!)];
  up.proc.kill('SIGINT');
  await until('every process of the stack to exit', () => stack.every((p) => !alive(p)), 30_000);
  expect(gitStatus()).toBe('');
});
