/** The CLI as a newcomer meets it: --version, every --help (no pointer to a file the package does not
 * have), and a URL without a scheme named as such instead of "fetch failed". */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT, runCli } from '../../helpers/processes';

const run = promisify(execFile);

const COMMANDS = [
  [],
  ['up'],
  ['registry'],
  ['gateway'],
  ['model-server'],
  ['models'],
  ['versions'],
  ['push'],
  ['traffic'],
  ['traffic', 'show'],
  ['traffic', 'set'],
  ['alias'],
  ['alias', 'set'],
  ['alias', 'rm'],
  ['predict'],
  ['report'],
  ['deploy'],
  ['deploy', 'compose'],
  ['deploy', 'k8s'],
];

test('--version and -V print the package version', async () => {
  const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    version: string;
  };
  for (const flag of ['--version', '-V']) {
    const r = await runCli([flag]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(version);
  }
});

test("a command's own --version option is not taken for the program's", async () => {
  const r = await runCli(['model-server', '--model', 'nope', '--version', '1'], {
    MODEL_STORE: path.join(ROOT, 'models'),
  });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('nope/1');
});

test.each(COMMANDS.map((c) => [c.join(' ') || '(none)', c]))(
  'help of %s exits 0 and names only files that exist',
  async (_label, command) => {
    const r = await runCli([...(command as string[]), '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: modelgate/);
    for (const file of r.stdout.match(/[\w./-]+\.md\b/g) ?? []) {
      expect([file, existsSync(path.join(ROOT, file))]).toEqual([file, true]);
    }
  },
);

describe('URLs without a scheme', () => {
  it('REGISTRY_URL for the CLI: says http:// is missing', async () => {
    const r = await runCli(['models'], { REGISTRY_URL: 'localhost:8100' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('REGISTRY_URL is missing http:// (did you mean "http://localhost:8100"?)');
  });

  it('REGISTRY_URL for a service: refused at start-up, naming the variable', async () => {
    const r = await runCli(['gateway'], { REGISTRY_URL: 'localhost:8100', PORT: '0' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('REGISTRY_URL: is missing http://');
  });

  it('GATEWAY_URL and --gateway', async () => {
    const report = await runCli(['report', 'digits'], { GATEWAY_URL: 'localhost:8000' });
    expect(report.code).toBe(1);
    expect(report.stderr).toContain('GATEWAY_URL is missing http://');
    const predict = await runCli([
      'predict',
      'digits',
      '--json',
      'package.json',
      '--gateway',
      '127.0.0.1:8000',
    ]);
    expect(predict.code).toBe(1);
    expect(predict.stderr).toContain('is missing http://');
  });
});

test('after the README install step (npm install -g . / npm link) modelgate runs from any folder', async () => {
  const prefix = await mkdtemp(path.join(tmpdir(), 'modelgate-prefix-'));
  try {
    // What `npm link` does, into a private prefix instead of the machine's global one; --offline as
    // a folder install needs nothing from a registry.
    await run('npm', ['install', '-g', '--offline', '--prefix', prefix, ROOT], { cwd: prefix });
    const bin = path.join(prefix, 'bin', 'modelgate');
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect((await run(bin, ['--version'], { cwd: tmpdir() })).stdout.trim()).toBe(version);
    const models = await run(bin, ['models'], {
      cwd: tmpdir(),
      env: { ...process.env, REGISTRY_URL: 'http://127.0.0.1:9' },
    }).catch((err: { code: number; stderr: string }) => err);
    expect(models).toMatchObject({ code: 1 });
    expect((models as { stderr: string }).stderr).toContain(
      'cannot reach the registry at http://127.0.0.1:9',
    );
  } finally {
    await rm(prefix, { recursive: true, force: true });
  }
});
