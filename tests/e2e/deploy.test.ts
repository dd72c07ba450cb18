/** Tool-based checks of the deployment files: Docker Compose's own parser accepts docker-compose.yml
 * with .env.example and refuses it without the secrets; kustomize renders deploy/k8s. CI installs the
 * tools (.ci/run: Debian's docker-compose; GitHub runners have `docker compose` and kubectl). */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

const ROOT = path.resolve(__dirname, '..', '..');
const COMPOSE_FILE = path.join(ROOT, 'docker-compose.yml');

/** Debian's docker-compose (v1) or the Docker CLI plugin (v2), whichever is installed. */
function composeCommand(): string[] {
  for (const candidate of [['docker-compose'], ['docker', 'compose']]) {
    try {
      execFileSync(candidate[0]!, [...candidate.slice(1), 'version'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // try the next one
    }
  }
  throw new Error(
    'neither docker-compose nor `docker compose` is installed (apt-get install docker-compose)',
  );
}

/** Runs a tool with the variables compose would interpolate removed from the environment, so the
 * result does not depend on the caller's shell. */
function run(
  cmd: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(ADMIN_TOKEN|INSTANCE_TOKEN|GRAFANA_|API_KEYS|MODELGATE_)/.test(k),
    ),
  );
  return new Promise((resolve) =>
    execFile(
      cmd[0]!,
      cmd.slice(1),
      { cwd: ROOT, env: { ...clean, ...env }, maxBuffer: 16 << 20 },
      (err, stdout, stderr) =>
        resolve({
          // A missing program has a string code (ENOENT) and no output of its own.
          code: err ? (typeof err.code === 'number' ? err.code : 127) : 0,
          stdout,
          stderr: err && typeof err.code === 'string' ? `${err.code}: ${err.message}` : stderr,
        }),
    ),
  );
}

describe('docker compose config', () => {
  let compose: string[] = [];
  let temp = '';
  beforeAll(() => {
    compose = composeCommand();
    temp = mkdtempSync(path.join(os.tmpdir(), 'modelgate-compose-config-'));
  });
  afterAll(() => {
    if (temp) rmSync(temp, { recursive: true, force: true });
  });

  it('accepts docker-compose.yml with the variables of .env.example', async () => {
    const result = await run([
      ...compose,
      '-f',
      COMPOSE_FILE,
      '--env-file',
      path.join(ROOT, '.env.example'),
      'config',
    ]);
    expect(result.stderr).not.toMatch(/error|invalid/i);
    expect(result.code).toBe(0);
    const resolved = parse(result.stdout) as {
      services: Record<string, { image?: string; environment?: Record<string, string> }>;
    };
    expect(Object.keys(resolved.services).sort()).toEqual(
      [
        'gateway',
        'grafana',
        'model-digits-v1',
        'model-digits-v2',
        'model-penguins-v1',
        'model-penguins-v2',
        'postgres',
        'prometheus',
        'registry',
      ].sort(),
    );
    expect(resolved.services.registry!.environment!.ADMIN_TOKEN).toBe('change-me-admin-token');
    expect(resolved.services.registry!.environment!.INSTANCE_TOKEN).toBe('change-me-instance-token');
    expect(resolved.services['model-digits-v1']!.environment!.INSTANCE_TOKEN).toBe(
      'change-me-instance-token',
    );
    expect(resolved.services.gateway!.image).toBe('modelgate:local');
  }, 60_000);

  it('refuses to start without ADMIN_TOKEN and says where to set it', async () => {
    const empty = path.join(temp, 'empty.env');
    writeFileSync(empty, '');
    const result = await run([...compose, '-f', COMPOSE_FILE, '--env-file', empty, 'config']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/ADMIN_TOKEN/);
    expect(result.stderr).toMatch(/\.env/);
  }, 60_000);
});

describe('kubectl kustomize deploy/k8s', () => {
  it('renders every object into the modelgate namespace with the published image', async () => {
    const result = await run(['kubectl', 'kustomize', path.join(ROOT, 'deploy', 'k8s')]);
    if (result.stderr.startsWith('ENOENT')) {
      throw new Error('kubectl is not installed (apt-get install kubernetes-client, or any kubectl >= 1.14)');
    }
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const objects = parseAllDocuments(result.stdout).map(
      (d) =>
        d.toJS() as {
          kind: string;
          metadata: { name: string; namespace?: string };
          spec?: {
            template?: { spec: { containers: { image: string }[]; initContainers?: { image: string }[] } };
          };
        },
    );
    expect(objects.length).toBeGreaterThan(15);
    for (const o of objects.filter((x) => x.kind !== 'Namespace')) {
      expect({ object: `${o.kind}/${o.metadata.name}`, ns: o.metadata.namespace }).toEqual({
        object: `${o.kind}/${o.metadata.name}`,
        ns: 'modelgate',
      });
    }
    const images = objects.flatMap((o) => [
      ...(o.spec?.template?.spec.containers ?? []),
      ...(o.spec?.template?.spec.initContainers ?? []),
    ]);
    expect(new Set(images.map((c) => c.image))).toEqual(new Set(['ghcr.io/modelgate/modelgate:latest']));
  }, 60_000);
});
