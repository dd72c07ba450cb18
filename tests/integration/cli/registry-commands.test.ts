/** The operator CLI against a real registry: listing, push with and without --version, traffic show
 * and set (with sticky, shadow and failover flags), alias set/rm, --json output, and one-line errors
 * with exit code 1. */

import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CLI, ROOT, runCli, type Service, startService } from '../../helpers/processes';
import { writeStore, writeVersionFolder } from '../../helpers/registry-fixtures';

const TOKEN = 'cli-token';
let store: string;
let work: string;
let registry: Service;
let env: Record<string, string>;

beforeAll(async () => {
  store = await mkdtemp(path.join(tmpdir(), 'cli-store-'));
  work = await mkdtemp(path.join(tmpdir(), 'cli-work-'));
  await writeStore(store, 'iris', ['1', '2', '3'], {
    variants: [
      { version: '1', weight: 90 },
      { version: '2', weight: 10 },
    ],
    aliases: { stable: '1' },
  });
  registry = await startService(['registry'], { env: { MODEL_STORE: store, ADMIN_TOKEN: TOKEN } });
  env = { REGISTRY_URL: registry.url, ADMIN_TOKEN: TOKEN };
});

afterAll(async () => {
  await registry?.stop();
  await rm(store, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

function run(
  cmd: string,
  args: string[],
  extraEnv: Record<string, string>,
): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: ROOT,
      env: { ...process.env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stdout += d));
    child.on('close', (code) => resolve({ code, stdout })); // 'close': all output read
  });
}

const expectOneLineError = (r: { code: number | null; stdout: string; stderr: string }, message: RegExp) => {
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(/^modelgate: /);
  expect(r.stderr).toMatch(message);
};

describe('reading', () => {
  it('lists models as a table and as JSON', async () => {
    const table = await runCli(['models'], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^MODEL\s+VERSIONS\s+SPLIT/);
    expect(table.stdout).toMatch(/iris\s+1,2,3\s+1=90 2=10\s+stable→1/);
    const json = await runCli(['models', '--json'], env);
    expect(JSON.parse(json.stdout).models[0]).toMatchObject({ name: 'iris', versions: ['1', '2', '3'] });
  });

  it('lists versions of a model', async () => {
    const r = await runCli(['versions', 'iris'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^VERSION\s+WEIGHT/);
    expect(r.stdout).toMatch(/\n1\s+90%\s+stable/);
    const json = JSON.parse((await runCli(['versions', 'iris', '--json'], env)).stdout);
    expect(json.versions.map((v: { version: string }) => v.version)).toEqual(['1', '2', '3']);
  });

  it('shows the traffic policy', async () => {
    const r = await runCli(['traffic', 'show', 'iris'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/1\s+90%/);
    expect(r.stdout).toMatch(/aliases\s+stable→1/);
    const json = JSON.parse((await runCli(['traffic', 'show', 'iris', '--json'], env)).stdout);
    expect(json.variants).toEqual([
      { version: '1', weight: 90 },
      { version: '2', weight: 10 },
    ]);
  });
});

describe('traffic set', () => {
  it('sets the split with sticky, shadow and failover off, keeping aliases', async () => {
    const r = await runCli(
      [
        'traffic',
        'set',
        'iris',
        '1=80',
        '2=20',
        '--sticky',
        'header:x-user-id',
        '--shadow',
        '3:10',
        '--no-failover',
        '--json',
      ],
      env,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const stored = JSON.parse(r.stdout);
    expect(stored).toMatchObject({
      variants: [
        { version: '1', weight: 80 },
        { version: '2', weight: 20 },
      ],
      sticky: { header: 'x-user-id' },
      shadow: { version: '3', percent: 10 },
      aliases: { stable: '1' },
      failover: false,
    });
  });

  it('keeps sticky, shadow and failover unless told, and clears them with --no-*', async () => {
    const kept = JSON.parse((await runCli(['traffic', 'set', 'iris', '1=50', '2=50', '--json'], env)).stdout);
    expect(kept).toMatchObject({
      sticky: { header: 'x-user-id' },
      shadow: { version: '3' },
      failover: false,
    });
    const cleared = JSON.parse(
      (
        await runCli(
          ['traffic', 'set', 'iris', '1=100', '--no-sticky', '--no-shadow', '--failover', '--json'],
          env,
        )
      ).stdout,
    );
    expect(cleared).toMatchObject({
      variants: [{ version: '1', weight: 100 }],
      sticky: null,
      shadow: null,
      failover: true,
    });
  });

  it('prints a one-line summary for people', async () => {
    const r = await runCli(['traffic', 'set', 'iris', '1=90', '2=10'], env);
    expect(r.stdout.trim()).toMatch(/^iris revision \d+: 1=90% 2=10%$/);
  });

  it.each([
    [['traffic', 'set', 'iris', '1=60', '2=30'], /sum to 100, they sum to 90/],
    [['traffic', 'set', 'iris', '1=90', '9=10'], /no version 9 .*push it first/],
    [['traffic', 'set', 'iris', '1:100'], /not VERSION=PERCENT/],
    [['traffic', 'set', 'iris', '1=100', '--sticky', 'cookie:x'], /--sticky must be header:NAME/],
    [['traffic', 'set', 'iris', '1=100', '--shadow', '3'], /--shadow must be VERSION:PERCENT/],
    [['traffic', 'set', 'nope', '1=100'], /model "nope" does not exist/],
    [['traffic', 'show', '../etc'], /not a valid name/],
  ])('refuses %j with one line and exit code 1', async (args, message) => {
    expectOneLineError(await runCli(args, env), message);
  });

  it('says to set ADMIN_TOKEN when it is missing or wrong', async () => {
    expectOneLineError(
      await runCli(['traffic', 'set', 'iris', '1=100'], { ...env, ADMIN_TOKEN: '' }),
      /ADMIN_TOKEN/,
    );
    expectOneLineError(
      await runCli(['alias', 'set', 'iris', 'canary', '2'], { ...env, ADMIN_TOKEN: 'wrong' }),
      /ADMIN_TOKEN/,
    );
  });

  it('says how to reach the registry when it is down', async () => {
    expectOneLineError(
      await runCli(['models'], { ...env, REGISTRY_URL: 'http://127.0.0.1:9' }),
      /cannot reach the registry at http:\/\/127.0.0.1:9 .*REGISTRY_URL/,
    );
    expectOneLineError(
      await runCli(['models'], { ...env, REGISTRY_URL: 'not a url' }),
      /REGISTRY_URL is missing http:\/\//,
    );
  });
});

describe('alias', () => {
  it('moves and removes an alias', async () => {
    const set = await runCli(['alias', 'set', 'iris', 'canary', '2'], env);
    expect(set.code).toBe(0);
    expect(set.stdout).toMatch(/iris: canary → 2 \(revision \d+\)/);
    const json = JSON.parse((await runCli(['traffic', 'show', 'iris', '--json'], env)).stdout);
    expect(json.aliases).toEqual({ stable: '1', canary: '2' });
    const removed = await runCli(['alias', 'rm', 'iris', 'canary', '--json'], env);
    expect(JSON.parse(removed.stdout).aliases).toEqual({ stable: '1' });
    expectOneLineError(
      await runCli(['alias', 'set', 'iris', 'canary', '42'], env),
      /version "42" of model "iris" does not exist/,
    );
  });
});

describe('push', () => {
  it('pushes a version folder as the next integer, with no progress bar when stderr is not a TTY', async () => {
    const dir = path.join(work, 'next');
    await writeVersionFolder(dir, 'iris', 'whatever');
    const r = await runCli(['push', dir, '--model', 'iris'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/pushed iris version 4 \(3 files, \d+ bytes\); it takes no traffic/);
  });

  it('draws a progress bar on stderr when it is a terminal', async () => {
    const dir = path.join(work, 'tty');
    await writeVersionFolder(dir, 'iris', 'x');
    // script(1) gives the CLI a pseudo-terminal, as an operator's shell would.
    const command = `node ${JSON.stringify(CLI)} push ${JSON.stringify(dir)} --model iris --version tty1`;
    const r = await run('script', ['-qec', command, '/dev/null'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/uploading \[[^\]]*\] 100%/);
    expect(r.stdout).toMatch(/pushed iris version tty1/);
  });

  it('pushes a named version of a new model and prints JSON', async () => {
    const dir = path.join(work, 'named');
    await writeVersionFolder(dir, 'wine', 'x');
    const r = await runCli(['push', dir, '--model', 'wine', '--version', 'v1.0', '--json'], env);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ model: 'wine', version: 'v1.0', created_model: true });
    const json = JSON.parse((await runCli(['traffic', 'show', 'wine', '--json'], env)).stdout);
    expect(json.variants).toEqual([{ version: 'v1.0', weight: 100 }]);
  });

  it('explains a folder without model.json, a corrupt model.json, a duplicate version and a bad name', async () => {
    const empty = path.join(work, 'empty');
    await writeVersionFolder(empty, 'iris', 'x');
    await rm(path.join(empty, 'model.json'));
    expectOneLineError(await runCli(['push', empty, '--model', 'iris'], env), /model.json is missing/);
    const corrupt = path.join(work, 'corrupt');
    await writeVersionFolder(corrupt, 'iris', 'x');
    await writeFile(path.join(corrupt, 'group1-shard1of1.bin'), Buffer.alloc(7));
    expectOneLineError(await runCli(['push', corrupt, '--model', 'iris'], env), /shards hold 7 bytes/);
    const dup = path.join(work, 'next');
    expectOneLineError(
      await runCli(['push', dup, '--model', 'iris', '--version', '2'], env),
      /already has version "2"/,
    );
    expectOneLineError(await runCli(['push', dup, '--model', 'Bad Name'], env), /not a valid name/);
  });
});
