/** The README's shell examples as steps a test can run: the curl test runs them against a fresh
 * stack, the workflow test (e2e) runs them in a throwaway clone and then looks at `git status`.
 * A command under a `# needs: ...` line is skipped (it says what it needs first); a `# NNN ...` line
 * right after a command names the status it shows, else a 2xx is expected. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Step {
  command: string;
  /** Expected HTTP status for a curl; undefined: any 2xx. */
  expect?: number;
  curl: boolean;
}

/** Commands of every ```sh block that runs curl, continuation lines joined, `# needs:` ones left out. */
export function readmeSteps(markdown: string): { steps: Step[]; skipped: string[] } {
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

/** Runs the steps in order in one bash in `cwd`; returns "STATUS ← command" for every curl whose
 * status is not the one expected (an empty list when all is well). */
export async function runSteps(
  steps: Step[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<string[]> {
  const script = [
    'set -u',
    ...steps.map((s, i) =>
      s.curl ? `${s.command} -w '\\n@@${i}=%{http_code}\\n' || echo '@@${i}=curl-failed'` : s.command,
    ),
  ].join('\n');
  const { stdout } = await run('bash', ['-c', script], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    maxBuffer: 64 * 1024 * 1024,
  });
  const statuses = new Map([...stdout.matchAll(/^@@(\d+)=(\S+)$/gm)].map((m) => [Number(m[1]), m[2]!]));
  return steps
    .map((s, i) => ({ s, got: statuses.get(i) }))
    .filter(({ s }) => s.curl)
    .filter(({ s, got }) => (s.expect ? got !== String(s.expect) : !/^2\d\d$/.test(got ?? '')))
    .map(({ s, got }) => `${got ?? 'no status'} ← ${s.command}`);
}
