/** Keeps the deployment documentation honest against the files it describes: every compose variable is
 * in .env.example, every alert has its runbook entry, every secret the deploy workflow reads is
 * documented, CI runs what the issue asks, and the README opens with the two commands. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const read = (p: string) => readFileSync(path.join(ROOT, p), 'utf8');

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, '')
    .replace(/ /g, '-');
const anchors = (markdown: string) =>
  new Set([...markdown.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!)));

describe('.env.example', () => {
  const compose = read('docker-compose.yml');
  const used = new Set([...compose.matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]!));
  const documented = new Set(
    read('.env.example')
      .split('\n')
      .filter((l) => /^[A-Z_][A-Z0-9_]*=/.test(l))
      .map((l) => l.slice(0, l.indexOf('='))),
  );

  it('documents every variable docker-compose.yml interpolates', () => {
    expect([...used].filter((v) => !documented.has(v))).toEqual([]);
  });

  it('holds no variable that docker-compose.yml does not use', () => {
    expect([...documented].filter((v) => !used.has(v))).toEqual([]);
  });
});

describe('docs/operations.md', () => {
  it('has the runbook entry each alert links to', () => {
    const rules = parse(read('monitoring/prometheus/rules/alerts.yml')) as {
      groups: { rules: { alert?: string; annotations?: { runbook_url?: string } }[] }[];
    };
    const alerts = rules.groups.flatMap((g) => g.rules).filter((r) => r.alert);
    expect(alerts.length).toBeGreaterThan(0);
    const headings = anchors(read('docs/operations.md'));
    const operations = read('docs/operations.md');
    for (const alert of alerts) {
      const url = alert.annotations?.runbook_url ?? '';
      expect(url.startsWith('docs/operations.md#')).toBe(true);
      const anchor = url.slice(url.indexOf('#') + 1);
      expect({ alert: alert.alert, anchor, found: headings.has(anchor) }).toEqual({
        alert: alert.alert,
        anchor,
        found: true,
      });
      expect(operations).toContain(`\`${alert.alert}\``);
    }
  });
});

describe('.github/workflows', () => {
  const ci = read('.github/workflows/ci.yml');
  const deploy = read('.github/workflows/deploy.yml');

  it('runs install, lint, typecheck, tests, e2e, compose config and a docker build in ci.yml', () => {
    const workflow = parse(ci) as { jobs: Record<string, { steps: { run?: string; uses?: string }[] }> };
    const steps = Object.values(workflow.jobs).flatMap((j) => j.steps);
    const runs = steps.map((s) => s.run ?? '').join('\n');
    for (const command of [
      'npm ci',
      'npm run lint',
      'npm run typecheck',
      'npm test',
      'npm run test:e2e',
      'docker compose --env-file .env.example config',
      'kubectl kustomize deploy/k8s',
      'tests/integration/deploy',
      'tests/unit/deploy',
    ]) {
      expect(runs).toContain(command);
    }
    expect(steps.some((s) => s.uses?.startsWith('docker/build-push-action@'))).toBe(true);
  });

  it('deploys only on a tag, and documents every secret deploy.yml reads', () => {
    const workflow = parse(deploy) as { on: { push: { tags: string[] } } };
    expect(Object.keys(workflow.on)).toEqual(['push']);
    expect(workflow.on.push.tags).toEqual(['v*']);
    const secrets = new Set([...deploy.matchAll(/secrets\.([A-Z_]+)/g)].map((m) => m[1]!));
    expect(secrets.size).toBeGreaterThan(1);
    const docs = read('docs/deployment.md');
    for (const secret of secrets)
      expect({ secret, documented: docs.includes(`\`${secret}\``) }).toEqual({ secret, documented: true });
  });

  it('commits no credentials', () => {
    for (const text of [ci, deploy, read('docker-compose.yml'), read('.env.example')]) {
      expect(text).not.toMatch(
        /gh[pousr]_[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----/,
      );
    }
  });
});

describe('README.md', () => {
  it('starts with the two commands', () => {
    const commands = [...read('README.md').matchAll(/^(npm .+)$/gm)].map((m) => m[1]!.trim());
    expect(commands.slice(0, 2)).toEqual(['npm install && npm start', 'npm test']);
  });
});
