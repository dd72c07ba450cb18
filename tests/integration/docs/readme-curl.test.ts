/** The README's curl examples, run in order with bash against a fresh `modelgate up` (what `npm start`
 * runs), from a folder whose data/ is up's data folder, as a newcomer would. A command under a
 * `# needs: ...` line is skipped (it says what it needs first); a `# NNN ...` line right after a
 * command names the status it shows, else a 2xx is expected. */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../../helpers/processes';
import { startUp, type UpProcess } from '../../helpers/up-process';

jest.setTimeout(240_000);
const run = promisify(execFile);

interface Step {
  command: string;
  /** Expected HTTP status for a curl; undefined: any 2xx. */
  expect?: number;
  curl: boolean;
}

/** Commands of every ```sh block that runs curl, continuation lines joined, `# needs:` ones left out. */
function readmeSteps(markdown: string): { steps: Step[]; skipped: string[] } {
  const steps: Step[] = [];
  const skipped: string[] = [];
  for (const block of markdown.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const body = block[1]!;
    // Blocks of curl examples, and the one exporting what they need (ADMIN_TOKEN).
    if (!/^(curl |export )/m.test(body)) continue;
    const lines = body.split('\n');
    let needs = false;
    let last: Step | undefined;
    for (let i = 0; i < lines.length; i++) {
      let line = lines[i]!;
      if (line.trim() === '') {
        last = undefined;
        continue;
      }
      if (line.startsWith('#')) {
        if (/^# needs:/.test(line)) needs = true;
        const status = /^# (\d{3}) /.exec(line);
        if (status && last) last.expect = Number(status[1]);
        continue;
      }
      while (line.endsWith('\\') && i + 1 < lines.length) line = `${line.slice(0, -1)} ${lines[++i]!.trim()}`;
      const command = line.replace(/\s+#.*$/, '');
      if (needs) {
        skipped.push(command);
        needs = false;
        last = undefined;
        continue;
      }
      last = { command, curl: command.startsWith('curl ') };
      steps.push(last);
    }
  }
  return { steps, skipped };
}

let up: UpProcess;
let home: string;
let urls: { gateway: string; registry: string };

beforeAll(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'readme-'));
  const env: Record<string, string | undefined> = { ...process.env };
  delete env.ADMIN_TOKEN;
  delete env.MODEL_STORE;
  delete env.DATABASE_URL;
  up = startUp(['--data', path.join(home, 'data'), '--gateway-port', '0', '--registry-port', '0'], env);
  urls = await up.banner();
  const deadline = Date.now() + 60_000;
  while ((await fetch(`${urls.gateway}/v2/health/ready`)).status !== 200) {
    if (Date.now() > deadline) throw new Error('gateway never became ready');
    await new Promise((r) => setTimeout(r, 200));
  }
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

test('every README curl example works in order on a fresh stack, or says what it needs first', async () => {
  const { steps, skipped } = readmeSteps(await readFile(path.join(ROOT, 'README.md'), 'utf8'));
  expect(steps.filter((s) => s.curl).length).toBeGreaterThan(30);
  expect(skipped.length).toBeLessThanOrEqual(4);
  const local = (s: string) =>
    s
      .replaceAll('localhost:8000', urls.gateway.replace('http://', ''))
      .replaceAll('localhost:8100', urls.registry.replace('http://', ''));
  const script = [
    'set -u',
    ...steps.map((s, i) =>
      s.curl
        ? `${local(s.command)} -w '\\n@@${i}=%{http_code}\\n' || echo '@@${i}=curl-failed'`
        : local(s.command),
    ),
  ].join('\n');
  const { stdout } = await run('bash', ['-c', script], { cwd: home, maxBuffer: 64 * 1024 * 1024 });
  const statuses = new Map([...stdout.matchAll(/^@@(\d+)=(\S+)$/gm)].map((m) => [Number(m[1]), m[2]!]));
  const wrong = steps
    .map((s, i) => ({ s, i, got: statuses.get(i) }))
    .filter(({ s }) => s.curl)
    .filter(({ s, got }) => (s.expect ? got !== String(s.expect) : !/^2\d\d$/.test(got ?? '')))
    .map(({ s, got }) => `${got ?? 'no status'} ← ${s.command}`);
  expect(wrong).toEqual([]);
});
