/** `modelgate up` end to end: the whole stack from a temp copy of the shipped store, a prediction
 * through the gateway (HTTP and `modelgate predict`), a crashed child restarted, SIGTERM stops all. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { storeVersions } from '../../cli/commands/up';
import { CLI, ROOT, runCli } from '../helpers/processes';
import { createTestStore, type TestStore } from '../helpers/test-store';
import { waitForInfo } from './gateway/stack';

jest.setTimeout(180_000);

let store: TestStore;
let up: ChildProcess;
const lines: string[] = [];
const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];

function waitForLine(pattern: RegExp, timeoutMs = 90_000): Promise<string> {
  const found = lines.find((l) => pattern.test(l));
  if (found) return Promise.resolve(found);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no line matching ${pattern}; last output:\n${lines.slice(-30).join('\n')}`)),
      timeoutMs,
    );
    waiters.push({
      pattern,
      resolve: (line) => {
        clearTimeout(timer);
        resolve(line);
      },
    });
  });
}

const childPids = (pid: number) =>
  execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
    .split('\n')
    .map((s) => Number(s.trim()))
    .filter((n) => n > 0);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const dataDir = mkdtempSync(path.join(tmpdir(), 'modelgate-up-data-'));

beforeAll(async () => {
  store = await createTestStore();
  const env: Record<string, string | undefined> = {
    ...process.env,
    LOG_FORMAT: 'json',
    DATABASE_URL: `sqlite:${path.join(dataDir, 'modelgate.db')}`,
  };
  delete env.ADMIN_TOKEN;
  up = spawn(
    process.execPath,
    [
      CLI,
      'up',
      '--store',
      store.dir,
      '--gateway-port',
      '0',
      '--registry-port',
      '0',
      '--model-server-port',
      '0',
    ],
    { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const onLine = (line: string) => {
    lines.push(line);
    for (const w of [...waiters]) {
      if (w.pattern.test(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  createInterface({ input: up.stdout! }).on('line', onLine);
  createInterface({ input: up.stderr! }).on('line', onLine);
});

afterAll(async () => {
  if (up && up.exitCode === null && up.signalCode === null) {
    for (const pid of childPids(up.pid!)) process.kill(pid, 'SIGKILL');
    up.kill('SIGKILL');
  }
  await store?.cleanup();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('modelgate up', () => {
  let gatewayUrl: string;

  it('starts registry, one model-server per version and the gateway, and prints URLs, docs and a token', async () => {
    await waitForLine(/^modelgate is up$/);
    gatewayUrl = /gateway\s+(http:\/\/\S+)/.exec(await waitForLine(/^ {2}gateway\s+http/))![1]!;
    expect(await waitForLine(/^ {2}API docs\s+http/)).toContain(`${gatewayUrl}/docs`);
    expect(await waitForLine(/^ {2}admin token\s+/)).toMatch(/admin token\s+[0-9a-f]{48} \(generated/);
    for (const name of ['registry', 'digits/1', 'penguins/1', 'penguins/2']) {
      expect(lines.some((l) => l.startsWith(`[${name}] `))).toBe(true);
    }
    await waitForInfo(
      gatewayUrl,
      (info) =>
        info.models?.length >= 2 &&
        info.models.every((m: any) => m.versions.every((v: any) => v.live_instances === 1)),
    );
  });

  it('answers a prediction through the gateway, over HTTP and with `modelgate predict`', async () => {
    const info = (await (await fetch(`${gatewayUrl}/model/info`)).json()) as any;
    const width = info.models.find((m: any) => m.name === 'penguins').versions[0].input_width as number;
    const features = Array.from({ length: width }, () => 0.5);
    const res = await fetch(`${gatewayUrl}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'penguins', features }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).model).toBe('penguins');
    const file = path.join(store.dir, 'row.json');
    writeFileSync(file, JSON.stringify({ features }));
    const cli = await runCli(['predict', 'penguins', '--json', file, '--gateway', gatewayUrl]);
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ model: 'penguins' });
    const bad = await runCli([
      'predict',
      'penguins',
      '--json',
      file,
      '--gateway',
      gatewayUrl,
      '--version',
      '9',
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/404: model "penguins" has no version "9"/);
  });

  it('restarts a child that dies', async () => {
    const before = lines.filter(
      (l) => l.startsWith('[digits/1] ') && l.includes('"event":"listening"'),
    ).length;
    const pid = childPids(up.pid!).find((p) =>
      execFileSync('ps', ['-o', 'args=', '-p', String(p)], { encoding: 'utf8' }).includes('--model digits'),
    )!;
    process.kill(pid, 'SIGKILL');
    await waitForLine(/digits\/1 exited \(SIGKILL\); restarting in \d+ ms/);
    await new Promise<void>((resolve) => {
      const check = () =>
        lines.filter((l) => l.startsWith('[digits/1] ') && l.includes('"event":"listening"')).length > before
          ? resolve()
          : waiters.push({ pattern: /^\[digits\/1\] .*"event":"listening"/, resolve: () => resolve() });
      check();
    });
  });

  it('stops every child on SIGTERM', async () => {
    const children = childPids(up.pid!);
    // registry + gateway + one model-server per version folder
    expect(children.length).toBe(2 + storeVersions(store.dir).length);
    const exited = new Promise<number | null>((resolve) => up.once('exit', (code) => resolve(code)));
    up.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(children.filter(alive)).toEqual([]);
  });
});
