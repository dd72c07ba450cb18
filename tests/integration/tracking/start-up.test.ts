/** A gateway or registry whose DATABASE_URL is malformed or unreachable does not start: it exits 1
 * with a line naming DATABASE_URL (password masked), before it listens. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CLI, ROOT } from '../../helpers/processes';

const dir = mkdtempSync(path.join(tmpdir(), 'modelgate-start-'));
const NOT_A_DIR = path.join(dir, 'not-a-dir');
writeFileSync(NOT_A_DIR, 'a file where the database directory should be');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(
  service: 'gateway' | 'registry',
  databaseUrl: string,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, service], {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: '0',
        DATABASE_URL: databaseUrl,
        REGISTRY_URL: 'http://127.0.0.1:1',
        MODEL_STORE: path.join(dir, 'models'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    // A service that started after all is stopped, and the test fails on its exit code.
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

const CASES: [string, string, RegExp][] = [
  [
    'an unknown scheme',
    'mysql://u:secret@127.0.0.1/db',
    /cannot open DATABASE_URL=mysql:\/\/u:\*\*\*@127\.0\.0\.1\/db: DATABASE_URL must start with sqlite: or postgres:\/\//,
  ],
  [
    'an unreachable server',
    'postgres://u:secret@127.0.0.1:1/db',
    /cannot open DATABASE_URL=postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/db/,
  ],
  [
    'a SQLite path under a file',
    `sqlite:${NOT_A_DIR}/x.db`,
    /cannot open DATABASE_URL=sqlite:.+not-a-dir\/x\.db/,
  ],
];

describe.each(['gateway', 'registry'] as const)('%s start-up with a bad DATABASE_URL', (service) => {
  it.each(CASES)('exits 1 naming DATABASE_URL for %s', async (_what, url, message) => {
    const { code, output } = await run(service, url);
    expect(code).toBe(1);
    expect(output).toMatch(message);
    expect(output).not.toMatch(/"event":"listening"/);
    expect(output).not.toMatch(/secret/);
  });
});
