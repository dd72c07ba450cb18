/** The README's curl examples, run in order with bash against a fresh `modelgate up` (what `npm start`
 * runs) on the default ports the examples name (8000 and 8100; a busy one fails the test, naming it),
 * from a folder whose data/ is up's data folder, as a newcomer would. Which commands run and which
 * status each expects: tests/helpers/readme-steps.ts. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT } from '../../helpers/processes';
import { readmeSteps, runSteps } from '../../helpers/readme-steps';
import { assertPortsFree, startUp, type UpProcess, untilShippedVersionsLive } from '../../helpers/up-process';

jest.setTimeout(240_000);

/** The ports the README's curl lines name: localhost:8000 (gateway) and localhost:8100 (registry). */
const README_PORTS = [8000, 8100];

let up: UpProcess;
let home: string;
let urls: { gateway: string; registry: string; token?: string };

beforeAll(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'readme-'));
  const env: Record<string, string | undefined> = { ...process.env };
  delete env.ADMIN_TOKEN;
  delete env.MODEL_STORE;
  delete env.DATABASE_URL;
  await assertPortsFree(README_PORTS, "the README's curl examples name it and npm start listens there");
  up = startUp(['--data', path.join(home, 'data')], env);
  urls = await up.banner();
  const deadline = Date.now() + 60_000;
  while ((await fetch(`${urls.gateway}/v2/health/ready`)).status !== 200) {
    if (Date.now() > deadline) throw new Error('gateway never became ready');
    await new Promise((r) => setTimeout(r, 200));
  }
  await untilShippedVersionsLive(urls.gateway);
});

afterAll(async () => {
  if (up) {
    up.proc.kill('SIGTERM');
    await up.exited;
  }
  await rm(home, { recursive: true, force: true });
});

test('the step reader joins continuations, skips `# needs:` commands and reads expected statuses', () => {
  const md = [
    '```sh',
    'curl -s a \\',
    "  -d '{}'",
    '# 400 {"error":...}',
    '# needs: a folder',
    'curl -s b',
    'curl -s c   # comment',
    '```',
    '```sh',
    'npm start',
    '```',
  ].join('\n');
  expect(readmeSteps(md)).toEqual({
    steps: [
      { command: "curl -s a  -d '{}'", curl: true, expect: 400 },
      { command: 'curl -s c', curl: true },
    ],
    skipped: ['curl -s b'],
  });
});

test('every README curl example works in order on a fresh stack on the default ports, or says what it needs first', async () => {
  expect(urls).toEqual({
    gateway: 'http://127.0.0.1:8000',
    registry: 'http://127.0.0.1:8100',
    token: expect.stringMatching(/^[0-9a-f]{48}$/),
  });
  const { steps, skipped } = readmeSteps(await readFile(path.join(ROOT, 'README.md'), 'utf8'));
  expect(steps.filter((s) => s.curl).length).toBeGreaterThan(30);
  expect(skipped.length).toBeLessThanOrEqual(4);
  expect(await runSteps(steps, { cwd: home })).toEqual([]);
});

test('a busy port stops the test before the stack starts, with a message naming the port', async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const busy = (blocker.address() as { port: number }).port;
  try {
    await expect(assertPortsFree([busy], 'the README names it')).rejects.toThrow(
      `port ${busy} on 127.0.0.1 is not free (EADDRINUSE); the README names it. Free it (lsof -i :${busy}).`,
    );
  } finally {
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
  }
});
