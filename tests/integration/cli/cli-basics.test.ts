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

/** Subcommand names in the `Commands:` section of a help text (commander's layout). */
function subcommandsIn(help: string): string[] {
  const section = /\nCommands:\n([\s\S]*?)(\n\S|$)/.exec(help)?.[1] ?? '';
  return [...section.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1]!).filter((name) => name !== 'help');
}

/** Every command path of the CLI with its help, found by walking `--help` from the top (none can be
 * forgotten). */
async function allCommands(
  prefix: string[] = [],
): Promise<{ command: string[]; help: Awaited<ReturnType<typeof runCli>> }[]> {
  const help = await runCli([...prefix, '--help']);
  const below = await Promise.all(subcommandsIn(help.stdout).map((name) => allCommands([...prefix, name])));
  return [{ command: prefix, help }, ...below.flat()];
}

/** The rows of the README's CLI table: each command shown, with the options it lists. Later commands
 * of a row drop the `modelgate` prefix; `pause\|resume\|abort` names three. */
function readmeCommands(markdown: string): { command: string[]; options: string[] }[] {
  const found: { command: string[]; options: string[] }[] = [];
  for (const row of markdown.matchAll(/^\| (`modelgate .*?) \| /gm)) {
    for (const code of row[1]!.matchAll(/`([^`]+)`/g)) {
      const text = code[1]!.replace(/^modelgate /, '').replaceAll('\\|', '|');
      const words: string[] = [];
      for (const word of text.split(/\s+/)) {
        if (!/^[a-z][a-z-]*(\|[a-z-]+)*$/.test(word)) break;
        words.push(word);
      }
      const options = [...text.matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0]);
      const last = words.pop()!;
      for (const alternative of last.split('|')) found.push({ command: [...words, alternative], options });
    }
  }
  return found;
}

const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

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

test('every command, found by walking --help, exits 0 on --help and names only files that exist', async () => {
  const commands = await allCommands();
  // The command families the README's CLI table shows, at least: the walk really walked.
  expect(commands.map((c) => c.command.join(' '))).toEqual(
    expect.arrayContaining([
      'up',
      'gateway',
      'rollout start',
      'experiment stop',
      'deploy k8s',
      'predictions',
    ]),
  );
  for (const { command, help: r } of commands) {
    expect({
      command,
      code: r.code,
      usage: r.stdout.startsWith(`Usage: ${['modelgate', ...command].join(' ')}`),
    }).toEqual({
      command,
      code: 0,
      usage: true,
    });
    for (const file of r.stdout.match(/[\w./-]+\.md\b/g) ?? []) {
      expect([command, file, existsSync(path.join(ROOT, file))]).toEqual([command, file, true]);
    }
  }
});

test("every command and option in the README's CLI table is in that command's --help", async () => {
  const rows = readmeCommands(README);
  expect(rows.length).toBeGreaterThan(20);
  for (const { command, options } of rows) {
    const r = await runCli([...command, '--help']);
    expect({ command, code: r.code }).toEqual({ command, code: 0 });
    expect({ command, usage: r.stdout.startsWith(`Usage: ${['modelgate', ...command].join(' ')} `) }).toEqual(
      {
        command,
        usage: true,
      },
    );
    const missing = options.filter((o) => !new RegExp(`${o}\\b`).test(r.stdout));
    expect({ command, missing }).toEqual({ command, missing: [] });
  }
});

test("every environment variable a service's --help names is in the README's Configuration table", async () => {
  const configuration = README.slice(
    README.indexOf('## Configuration'),
    README.indexOf('### The evidence store'),
  );
  for (const command of [['up'], ['registry'], ['gateway'], ['model-server'], ['migrate']]) {
    const { stdout } = await runCli([...command, '--help']);
    const named =
      stdout.match(/\b(PORT|HOST|[A-Z][A-Z0-9]*(_[A-Z0-9]+)*_\*|[A-Z][A-Z0-9]*(_[A-Z0-9]+)+)/g) ?? [];
    expect(named.length).toBeGreaterThan(0);
    const undocumented = named.filter((v) => !configuration.includes(`\`${v.replace(/\*$/, '')}`));
    expect({ command, undocumented }).toEqual({ command, undocumented: [] });
  }
});

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
