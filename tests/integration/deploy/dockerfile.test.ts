/** The Dockerfile cannot be built here (no Docker engine), so this checks what can be checked without
 * one: the stages and the runtime's shape, that .dockerignore keeps what the build compiles, and that
 * the image's HEALTHCHECK command, run as written, passes against a real registry, gateway and
 * model-server and fails against a dead port. */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, type Service, startService } from '../../helpers/processes';

const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
/** Instructions with line continuations joined. */
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));
const stages = instructions.filter((l) => l.startsWith('FROM '));
const runtime = instructions.slice(instructions.indexOf(stages[stages.length - 1]!));
const jsonArg = (keyword: string) => {
  const line = runtime.find((l) => l.startsWith(`${keyword} `))!;
  return JSON.parse(line.slice(line.indexOf('['))) as string[];
};

describe('Dockerfile', () => {
  it('builds in stages and runs on the slim Node 20 image as a non-root user', () => {
    expect(stages.length).toBeGreaterThanOrEqual(3);
    expect(instructions).toContain('ARG RUNTIME_IMAGE=node:20-bookworm-slim');
    expect(runtime[0]).toMatch(/^FROM \$\{RUNTIME_IMAGE\} AS runtime$/);
    expect(runtime.filter((l) => l.startsWith('USER '))).toEqual(['USER node']);
  });

  it('installs production dependencies with tfjs-node and fails the build when it does not load', () => {
    const install = instructions.find((l) => l.includes('npm ci --omit=dev'))!;
    expect(install).toContain('--allow-scripts=@tensorflow/tfjs-node');
    expect(install).toContain(`require('@tensorflow/tfjs-node')`);
    expect(runtime.some((l) => l.startsWith('COPY --from=prod-deps /app/node_modules'))).toBe(true);
  });

  it('picks the service by command and checks health without curl', () => {
    expect(jsonArg('ENTRYPOINT')).toEqual(['node', 'dist/cli/main.js']);
    expect(jsonArg('CMD')).toEqual(['gateway']);
    const health = runtime.find((l) => l.startsWith('HEALTHCHECK '))!;
    expect(health).not.toMatch(/curl|wget/);
  });

  it('keeps in the build context everything the TypeScript build compiles', () => {
    const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('!'));
    const build = JSON.parse(readFileSync(path.join(ROOT, 'tsconfig.build.json'), 'utf8')) as {
      include: string[];
    };
    const needed = [
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.build.json',
      ...build.include,
    ];
    for (const p of needed) expect({ p, ignored: ignored.includes(p) }).toEqual({ p, ignored: false });
    for (const p of ['.git', '**/node_modules', 'dist', '.env']) expect(ignored).toContain(p);
  });
});

describe('the image HEALTHCHECK command', () => {
  const healthcheck = (() => {
    const line = dockerfile.split('\n').find((l) => l.startsWith('HEALTHCHECK '))!;
    return JSON.parse(line.slice(line.indexOf('CMD ') + 4)) as string[];
  })();
  let temp = '';
  const services: Service[] = [];

  /** Runs the HEALTHCHECK as written, reading the given command line in place of PID 1's. */
  function check(cmdline: string[], port: number): Promise<number> {
    const cmdlineFile = path.join(temp, `cmdline-${cmdline[2]}`);
    writeFileSync(cmdlineFile, `${cmdline.join('\0')}\0`);
    const [program, ...args] = healthcheck;
    expect(program).toBe('node');
    const script = args.map((a) => a.replace('/proc/1/cmdline', cmdlineFile));
    return new Promise((resolve) =>
      execFile(process.execPath, script, { env: { ...process.env, PORT: String(port) } }, (err) =>
        resolve(err ? Number(err.code ?? 1) : 0),
      ),
    );
  }

  beforeAll(async () => {
    temp = mkdtempSync(path.join(os.tmpdir(), 'modelgate-healthcheck-'));
    // A copy: the registry may write policies into its store, and the repository's models stay as they are.
    const store = path.join(temp, 'store');
    cpSync(path.join(ROOT, 'models', 'penguins'), path.join(store, 'penguins'), { recursive: true });
    const registry = await startService(['registry'], { env: { MODEL_STORE: store, ADMIN_TOKEN: 'hc' } });
    services.push(registry);
    const env = {
      MODEL_STORE: store,
      REGISTRY_URL: registry.url,
      ADMIN_TOKEN: 'hc',
      DATABASE_URL: `sqlite:${path.join(temp, 'modelgate.db')}`,
    };
    services.push(await startService(['gateway'], { env }));
    const modelServer = await startService(['model-server', '--model', 'penguins', '--version', '1'], {
      env,
    });
    services.push(modelServer);
    // A model-server answers ready once warmed up; its `ready` log line says when.
    await modelServer.waitForLine(/"event":"ready"/, 60_000);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    if (temp) rmSync(temp, { recursive: true, force: true });
  }, 30_000);

  it('passes for a running registry, gateway and model-server', async () => {
    const [registry, gateway, modelServer] = services;
    expect(await check(['node', 'dist/cli/main.js', 'registry'], registry!.port)).toBe(0);
    expect(await check(['node', 'dist/cli/main.js', 'gateway'], gateway!.port)).toBe(0);
    const modelArgs = ['node', 'dist/cli/main.js', 'model-server', '--model', 'penguins', '--version', '1'];
    expect(await check(modelArgs, modelServer!.port)).toBe(0);
  }, 60_000);

  it('fails when nothing healthy answers on the port', async () => {
    const [registry] = services;
    // The registry has no /v2/health/ready, so checking it as a model-server must fail too.
    expect(await check(['node', 'dist/cli/main.js', 'model-server'], registry!.port)).toBe(1);
    const closed = services[0]!.port === 1 ? 2 : 1;
    expect(await check(['node', 'dist/cli/main.js', 'registry'], closed)).toBe(1);
  }, 60_000);
});
