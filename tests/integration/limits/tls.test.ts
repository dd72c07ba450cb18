/** Optional TLS end to end with a self-signed certificate made here (openssl): registry,
 * model-server and gateway all serve HTTPS (TLS_CERT_FILE / TLS_KEY_FILE) and trust the certificate
 * as a CA (TLS_CA_FILE) for their own calls: heartbeats and the registry's instance check, the
 * gateway's route polls and its upstream pool. */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import { ROOT, type Service, startService } from '../../helpers/processes';
import { createTestStore, type TestStore } from '../../helpers/test-store';
import { commandOf, environmentOf, loadCompose, parseEnvFile } from '../deploy/compose-file';
import { ADMIN_TOKEN } from '../gateway/stack';

jest.setTimeout(120_000);

const dir = mkdtempSync(path.join(tmpdir(), 'modelgate-tls-'));
const certFile = path.join(dir, 'cert.pem');
const keyFile = path.join(dir, 'key.pem');
let ca: string;
let store: TestStore;
let registry: Service;
let modelServer: Service;
let gateway: Service;
let trusting: Agent;

const https = (s: Service) => `https://127.0.0.1:${s.port}`;

beforeAll(async () => {
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        certFile,
        '-days',
        '1',
      ].concat(['-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost']),
      { stdio: 'pipe' },
    );
  } catch (err) {
    throw new Error(`this test needs the openssl CLI to make a self-signed certificate: ${String(err)}`);
  }
  ca = readFileSync(certFile, 'utf8');
  trusting = new Agent({ connect: { ca } });
  const tls = { TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile, TLS_CA_FILE: certFile };
  store = await createTestStore();
  registry = await startService(['registry'], {
    env: { MODEL_STORE: store.dir, ADMIN_TOKEN, HEARTBEAT_INTERVAL_MS: '500', ...tls },
  });
  modelServer = await startService(['model-server', '--model', 'penguins', '--version', '1'], {
    env: {
      MODEL_STORE: store.dir,
      REGISTRY_URL: https(registry),
      ADMIN_TOKEN,
      HEARTBEAT_INTERVAL_MS: '500',
      ...tls,
    },
  });
  gateway = await startService(['gateway'], {
    env: {
      REGISTRY_URL: https(registry),
      LOG_DIR: path.join(dir, 'logs'),
      TRACKING_ENABLED: 'false',
      ...tls,
    },
  });
}, 90_000);

afterAll(async () => {
  await Promise.all([gateway?.stop(), modelServer?.stop(), registry?.stop()]);
  await trusting?.close();
  await store?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

async function predict(): Promise<{ status: number; version: unknown; body: any }> {
  const sample = JSON.parse(
    readFileSync(path.join(store.dir, 'penguins', 'sample.json'), 'utf8'),
  ) as number[][];
  const res = await request(`${https(gateway)}/predict`, {
    method: 'POST',
    dispatcher: trusting,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'penguins', features: sample[0] }),
  });
  return { status: res.statusCode, version: res.headers['x-model-version'], body: await res.body.json() };
}

it('logs an https:// URL and registers the model-server by its https:// URL', async () => {
  expect(gateway.lines.join('\n')).toMatch(/"url":"https:\/\/127\.0\.0\.1:\d+"/);
  const deadline = Date.now() + 30_000;
  let instances: string[] = [];
  while (Date.now() < deadline) {
    const res = await request(`${https(registry)}/routes`, { dispatcher: trusting });
    const routes = (await res.body.json()) as any;
    instances = routes.models.penguins?.versions['1']?.instances ?? [];
    if (instances.length > 0) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(instances).toEqual([https(modelServer)]);
});

it('answers a prediction over HTTPS through registry, gateway and model-server', async () => {
  const deadline = Date.now() + 30_000;
  let answer = await predict();
  while (answer.status !== 200 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    answer = await predict();
  }
  expect(answer.status).toBe(200);
  expect(answer.version).toBe('1');
  expect(answer.body.model).toBe('penguins');
  expect(typeof answer.body.request_id).toBe('string');
});

it('refuses a client that does not trust the certificate, and plain HTTP', async () => {
  const untrusting = new Agent();
  await expect(request(`${https(gateway)}/health`, { dispatcher: untrusting })).rejects.toThrow(
    /self[- ]signed|certificate/i,
  );
  await untrusting.close();
  const plain = await fetch(`http://127.0.0.1:${gateway.port}/health`).then(
    (r) => r.status,
    () => 0,
  );
  expect(plain).not.toBe(200);
});

describe('docker-compose.yml with TLS switched on in .env', () => {
  const vars = {
    ...parseEnvFile(readFileSync(path.join(ROOT, '.env.example'), 'utf8')),
    TLS_CERT_FILE: '/app/tls/tls.crt',
    TLS_KEY_FILE: '/app/tls/tls.key',
    TLS_CA_FILE: '/app/tls/ca.crt',
    MODELGATE_SCHEME: 'https',
    METRICS_TOKEN: 'scrape-me',
  };
  const compose = loadCompose(path.join(ROOT, 'docker-compose.yml'), vars);
  const byCommand = (command: string) =>
    Object.values(compose.services).find((s) => commandOf(s)[0] === command)!;

  it('hands every modelgate service the TLS files under its /app/tls mount, the metrics token and https URLs', () => {
    for (const command of ['registry', 'model-server', 'gateway']) {
      const s = byCommand(command);
      const env = environmentOf(s);
      expect({ command, ...env }).toMatchObject({
        command,
        TLS_CERT_FILE: '/app/tls/tls.crt',
        TLS_KEY_FILE: '/app/tls/tls.key',
        TLS_CA_FILE: '/app/tls/ca.crt',
        METRICS_TOKEN: 'scrape-me',
      });
      expect(s.volumes).toContain('./deploy/tls:/app/tls:ro');
      for (const url of [env.REGISTRY_URL, env.PUBLIC_URL].filter((u) => u !== undefined)) {
        expect(url).toMatch(/^https:\/\//);
      }
    }
  });

  /** The service's compose healthcheck, as written, run against the HTTPS service started above. */
  function healthcheck(command: string, service: Service, env: NodeJS.ProcessEnv): Promise<boolean> {
    const [, program, ...args] = byCommand(command).healthcheck!.test as string[];
    expect(program).toBe('node');
    const local = args.map((a) => a.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${service.port}`));
    return new Promise((resolve) =>
      execFile(process.execPath, local, { env: { PATH: process.env.PATH, ...env }, timeout: 10_000 }, (err) =>
        resolve(err === null),
      ),
    );
  }

  it.each([
    ['registry', () => registry],
    ['model-server', () => modelServer],
    ['gateway', () => gateway],
  ])(
    'passes the %s healthcheck over HTTPS, and only because TLS_CERT_FILE is set',
    async (command, service) => {
      expect(await healthcheck(command, service(), { TLS_CERT_FILE: certFile })).toBe(true);
      expect(await healthcheck(command, service(), {})).toBe(false);
    },
  );
});
