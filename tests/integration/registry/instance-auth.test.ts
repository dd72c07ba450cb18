/** The upstream hijack from the data-plane issue: anyone who could reach the registry could POST
 * /instances with their own URL and receive real prediction bodies, or post ready:false to remove a
 * live instance. Heartbeats now need the instance credential, and a new instance must prove, on the
 * OIP v2 readiness route, that it serves the claimed model and version. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Service, startService } from '../../helpers/processes';
import { createTestStore, type TestStore } from '../../helpers/test-store';

const ADMIN_TOKEN = 'instance-auth-admin';
const INSTANCE_TOKEN = 'instance-auth-instances';

let store: TestStore;
let registry: Service;
let modelServer: Service;
let attacker: Server;
let attackerUrl: string;
const attackerHits: string[] = [];

async function beat(body: Record<string, unknown>, token?: string) {
  const res = await fetch(`${registry.url}/instances`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string } } };
}

async function instancesOf(version: string): Promise<string[]> {
  const routes = (await (await fetch(`${registry.url}/routes`)).json()) as {
    models: Record<string, { versions: Record<string, { instances: string[] }> }>;
  };
  return routes.models.penguins?.versions[version]?.instances ?? [];
}

async function waitForInstances(version: string, count: number): Promise<string[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const urls = await instancesOf(version);
    if (urls.length >= count || Date.now() > deadline) return urls;
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  store = await createTestStore();
  // The attacker's server answers everything with 200, as a hijacker's proxy would, but it does not
  // serve the penguins model, so its readiness answer names no model.
  attacker = createServer((req, res) => {
    attackerHits.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ready":true}');
  });
  await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
  attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;
  registry = await startService(['registry'], {
    env: { MODEL_STORE: store.dir, ADMIN_TOKEN, INSTANCE_TOKEN, HEARTBEAT_INTERVAL_MS: '500' },
  });
  modelServer = await startService(['model-server', '--model', 'penguins', '--version', '2'], {
    env: {
      MODEL_STORE: store.dir,
      REGISTRY_URL: registry.url,
      INSTANCE_TOKEN,
      HEARTBEAT_INTERVAL_MS: '500',
    },
  });
  await waitForInstances('2', 1);
});

afterAll(async () => {
  await modelServer?.stop();
  await registry?.stop();
  await new Promise((resolve) => attacker.close(resolve));
  await store.cleanup();
});

describe('instance registration', () => {
  it('routes to a real model-server that heartbeats with INSTANCE_TOKEN', async () => {
    expect(await instancesOf('2')).toEqual([modelServer.url]);
  });

  it('refuses a heartbeat without a token, and the attacker never enters routing', async () => {
    const r = await beat({ model: 'penguins', version: '2', url: attackerUrl, ready: true });
    expect(r.status).toBe(401);
    expect(r.body.error?.message).toMatch(/INSTANCE_TOKEN/);
    expect(await instancesOf('2')).toEqual([modelServer.url]);
  });

  it('refuses a heartbeat with a wrong token, including the admin token when INSTANCE_TOKEN is set', async () => {
    expect((await beat({ model: 'penguins', version: '2', url: attackerUrl }, 'guess')).status).toBe(403);
    expect((await beat({ model: 'penguins', version: '2', url: attackerUrl }, ADMIN_TOKEN)).status).toBe(403);
    expect(await instancesOf('2')).toEqual([modelServer.url]);
  });

  it('refuses, with the token, a URL that does not serve the claimed model and version', async () => {
    const r = await beat({ model: 'penguins', version: '2', url: attackerUrl, ready: true }, INSTANCE_TOKEN);
    expect(r.status).toBe(422);
    expect(r.body.error?.code).toBe('instance_unverified');
    expect(r.body.error?.message).toContain('/v2/models/penguins/versions/2/ready');
    expect(attackerHits).toContain('/v2/models/penguins/versions/2/ready');
    // A model-server of another version is no proof for this one.
    const wrong = await beat({ model: 'penguins', version: '1', url: modelServer.url }, INSTANCE_TOKEN);
    expect(wrong.status).toBe(422);
    const closed = await beat({ model: 'penguins', version: '2', url: 'http://127.0.0.1:1' }, INSTANCE_TOKEN);
    expect(closed.status).toBe(422);
    expect(await instancesOf('2')).toEqual([modelServer.url]);
    expect(await instancesOf('1')).toEqual([]);
  });

  it('keeps a live instance when someone without the token posts ready:false for it', async () => {
    const r = await beat({ model: 'penguins', version: '2', url: modelServer.url, ready: false });
    expect(r.status).toBe(401);
    const wrong = await beat({ model: 'penguins', version: '2', url: modelServer.url, ready: false }, 'x');
    expect(wrong.status).toBe(403);
    expect(await instancesOf('2')).toEqual([modelServer.url]);
  });

  it('lets the holder of the token de-register, and the model-server rejoins on its next heartbeat', async () => {
    const r = await beat(
      { model: 'penguins', version: '2', url: modelServer.url, ready: false },
      INSTANCE_TOKEN,
    );
    expect(r.status).toBe(200);
    expect(await instancesOf('2')).toEqual([]);
    expect(await waitForInstances('2', 1)).toEqual([modelServer.url]);
  });

  it('logs why a model-server with the wrong token is refused, and never routes to it', async () => {
    const stray = await startService(['model-server', '--model', 'penguins', '--version', '1'], {
      env: {
        MODEL_STORE: store.dir,
        REGISTRY_URL: registry.url,
        INSTANCE_TOKEN: 'not-the-registry-token',
        ADMIN_TOKEN: '',
        HEARTBEAT_INTERVAL_MS: '200',
      },
    });
    try {
      await stray.waitForLine(/registry answered 403: the instance token is not valid/);
      expect(await instancesOf('1')).toEqual([]);
    } finally {
      await stray.stop();
    }
  });
});
