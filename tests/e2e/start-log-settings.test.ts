/** `npm start` is ready, every shipped version live and predicting, in under a minute whatever
 * LOG_LEVEL and LOG_FORMAT say (the supervisor once learnt ports from JSON log lines, and hung at
 * `warn` or `pretty`). Every level the services accept runs once, from a fresh data folder, the
 * formats alternating so each meets quiet and chatty levels: 7 starts rather than all 14 pairs, to
 * keep CI's time (tests/integration/up.test.ts runs warn + pretty, most other tests info + json).
 * dist/ is built by `npm run test:e2e`'s pretest, so `--ignore-scripts` skips only prestart's build. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { envFields } from '../../common/config';
import { SHIPPED_STORE, shippedModels } from '../helpers/test-store';
import { liveInstances, startUp, type UpProcess, until } from '../helpers/up-process';

const LEVELS = envFields.logLevel().removeDefault().options;
const FORMATS = envFields.logFormat().removeDefault().options;
// Shifted by one so warn meets json here: with up.test's warn + pretty and the info + json of most
// other tests, 9 of the 14 pairs run.
const SETTINGS = LEVELS.map((level, i) => ({ level, format: FORMATS[(i + 1) % FORMATS.length]! }));

let temp: string;
let up: UpProcess | undefined;

beforeAll(async () => {
  temp = await mkdtemp(path.join(tmpdir(), 'start-log-settings-'));
});

afterAll(async () => {
  up?.kill();
  await rm(temp, { recursive: true, force: true });
});

test('the cover runs every log level and every format', () => {
  expect(new Set(SETTINGS.map((s) => s.level))).toEqual(new Set(LEVELS));
  expect(new Set(SETTINGS.map((s) => s.format))).toEqual(new Set(FORMATS));
});

test.each(SETTINGS)(
  'npm start with LOG_LEVEL=$level LOG_FORMAT=$format is ready in under a minute',
  async ({ level, format }) => {
    const env: Record<string, string | undefined> = { ...process.env, LOG_LEVEL: level, LOG_FORMAT: format };
    for (const k of ['ADMIN_TOKEN', 'MODEL_STORE', 'DATABASE_URL']) delete env[k];
    const args = [
      '--data',
      path.join(temp, `${level}-${format}`),
      '--gateway-port',
      '0',
      '--registry-port',
      '0',
    ];
    const t0 = Date.now();
    up = startUp(['--ignore-scripts', '--', ...args], env, { command: ['npm', 'start'] });
    const { gateway } = await up.banner(60_000);
    const expected = shippedModels();
    const live = () =>
      Promise.all(expected.map((k) => liveInstances(gateway, ...(k.split('/') as [string, string]))));
    await until(
      `all of ${expected.join(', ')} live`,
      async () => (await live()).every((n) => n > 0),
      Math.max(1, 60_000 - (Date.now() - t0)),
    );
    const sample = JSON.parse(await readFile(path.join(SHIPPED_STORE, 'penguins', 'sample.json'), 'utf8'));
    const answer = await fetch(`${gateway}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'penguins', features: sample[0] }),
    });
    expect(answer.status).toBe(200);
    expect(Date.now() - t0).toBeLessThan(60_000);
    up.proc.kill('SIGINT');
    expect(await up.exited).toBe(0);
    up = undefined;
  },
);
