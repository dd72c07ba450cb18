/** Oversized and never-ending requests against real processes: a 1 GB Content-Length that never
 * comes is refused at once (413) on every body-taking route of gateway, registry and model-server; a
 * chunked body is cut off at the limit instead of being read to its end; a body or headers that never
 * finish are closed after REQUEST_TIMEOUT_MS / HEADERS_TIMEOUT_MS, not Node's 300 s. */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { Service } from '../../helpers/processes';
import { chunk, rawRequest } from '../../helpers/raw-http';
import { createTestStore, type TestStore } from '../../helpers/test-store';
import { ADMIN_TOKEN, startGateway, startModelServer, startRegistry } from '../gateway/stack';

jest.setTimeout(120_000);

const TIMEOUTS = { REQUEST_TIMEOUT_MS: '2000', HEADERS_TIMEOUT_MS: '1500' };
const GIGABYTE = 1024 ** 3;
/** An answer this quick cannot have waited for the body (a 1 GB body cannot arrive over loopback
 * in that time from a client that sends none of it). */
const AT_ONCE_MS = 1500;

let store: TestStore;
let registry: Service;
let modelServer: Service;
let gateway: Service;

beforeAll(async () => {
  store = await createTestStore();
  registry = await startRegistry(store, '0', { ...TIMEOUTS, MAX_UPLOAD_BYTES: String(1024 * 1024) });
  modelServer = await startModelServer(store, registry.url, 'penguins', '1', TIMEOUTS);
  gateway = await startGateway(registry.url, { ...TIMEOUTS, BODY_LIMIT: '64kb' });
}, 90_000);

afterAll(async () => {
  await Promise.all([gateway?.stop(), modelServer?.stop(), registry?.stop()]);
  await store?.cleanup();
});

const auth = `Authorization: Bearer ${ADMIN_TOKEN}`;

describe('a request announcing 1 GB that never sends it', () => {
  const cases: [string, () => number, string][] = [
    ['gateway POST /predict', () => gateway.port, 'POST /predict HTTP/1.1'],
    ['gateway OIP v2 infer', () => gateway.port, 'POST /v2/models/penguins/infer HTTP/1.1'],
    ['gateway TF Serving predict', () => gateway.port, 'POST /v1/models/penguins:predict HTTP/1.1'],
    ['gateway POST /feedback', () => gateway.port, 'POST /feedback HTTP/1.1'],
    ['registry PUT policy', () => registry.port, `PUT /models/penguins/policy HTTP/1.1\r\n${auth}`],
    ['registry POST /instances', () => registry.port, `POST /instances HTTP/1.1\r\n${auth}`],
    [
      'model-server OIP v2 infer',
      () => modelServer.port,
      'POST /v2/models/penguins/versions/1/infer HTTP/1.1',
    ],
  ];
  it.each(cases)(
    'gets its 413 at once on %s, and the connection is closed soon after',
    async (_name, port, line) => {
      const answer = await rawRequest({
        port: port(),
        head: `${line}\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${GIGABYTE}`,
        timeoutMs: 8000,
        closeWaitMs: 4000,
      });
      expect(answer.status).toBe(413);
      expect(answer.answeredMs).toBeLessThan(AT_ONCE_MS);
      expect(answer.body).toMatch(/larger than|limit/i);
      expect(answer.closedMs).toBeDefined();
    },
  );

  it('gets its 413 at once on a registry upload, before any byte is read', async () => {
    const answer = await rawRequest({
      port: registry.port,
      head: `POST /models/penguins/versions HTTP/1.1\r\nHost: x\r\n${auth}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: ${GIGABYTE}`,
      timeoutMs: 8000,
    });
    expect(answer.status).toBe(413);
    expect(answer.answeredMs).toBeLessThan(AT_ONCE_MS);
    expect(answer.body).toMatch(/MAX_UPLOAD_BYTES/);
  });
});

describe('a chunked body that streams past the limit', () => {
  const endless = { chunk: chunk(16 * 1024), intervalMs: 5 };

  it('is cut off with 413 on gateway /predict soon after the limit, not read to its end', async () => {
    const answer = await rawRequest({
      port: gateway.port,
      head: 'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked',
      keepSending: endless,
      timeoutMs: 10_000,
      closeWaitMs: 4000,
    });
    expect(answer.status).toBe(413);
    expect(answer.answeredMs).toBeLessThan(5000);
    // 64 kB limit; socket buffers between client and server hold a few MB at most.
    expect(answer.bytesSentBeforeAnswer).toBeLessThan(16 * 1024 * 1024);
    expect(answer.closedMs).toBeDefined();
  });

  it('is cut off with 413 on a registry upload at MAX_UPLOAD_BYTES, leaving no temp folder', async () => {
    const part =
      '--b\r\nContent-Disposition: form-data; name="file"; filename="group1-shard1of1.bin"\r\n' +
      'Content-Type: application/octet-stream\r\n\r\n';
    const answer = await rawRequest({
      port: registry.port,
      head: `POST /models/penguins/versions HTTP/1.1\r\nHost: x\r\n${auth}\r\nContent-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked`,
      body: `${part.length.toString(16)}\r\n${part}\r\n`,
      keepSending: { chunk: chunk(64 * 1024, 'x'), intervalMs: 5 },
      timeoutMs: 15_000,
      closeWaitMs: 4000,
    });
    expect(answer.status).toBe(413);
    expect(answer.answeredMs).toBeLessThan(10_000);
    expect(answer.body).toMatch(/MAX_UPLOAD_BYTES/);
    expect(answer.closedMs).toBeDefined();
    const leftovers = () => readdirSync(store.dir).filter((n) => n.startsWith('.tmp-'));
    const deadline = Date.now() + 5000;
    while (leftovers().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(leftovers()).toEqual([]);
    expect(registry.lines.join('\n')).not.toMatch(/unhandled|uncaught/i);
    const versions = readdirSync(path.join(store.dir, 'penguins'), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    expect(versions.sort()).toEqual(['1', '2']);
  });
});

describe('a request that never finishes', () => {
  const trickle = { chunk: chunk(1), intervalMs: 200 };
  const servers: [string, () => number, string][] = [
    ['gateway', () => gateway.port, 'POST /predict HTTP/1.1'],
    ['registry', () => registry.port, `PUT /models/penguins/policy HTTP/1.1\r\n${auth}`],
    ['model-server', () => modelServer.port, 'POST /v2/models/penguins/versions/1/infer HTTP/1.1'],
  ];

  it.each(servers)(
    'an endless chunked body is closed within seconds by the %s',
    async (_name, port, line) => {
      const answer = await rawRequest({
        port: port(),
        head: `${line}\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked`,
        keepSending: trickle,
        timeoutMs: 15_000,
      });
      // REQUEST_TIMEOUT_MS is 2 s here; Node checks it about once a second.
      expect(answer.closedMs).toBeDefined();
      expect(answer.closedMs!).toBeLessThan(6000);
      expect([0, 408]).toContain(answer.status);
    },
  );

  it.each(servers)('headers that never end are closed within seconds by the %s', async (_name, port) => {
    const answer = await rawRequest({
      port: port(),
      head: 'GET /health HTTP/1.1\r\nHost: x',
      headComplete: false,
      timeoutMs: 15_000,
    });
    expect(answer.closedMs).toBeDefined();
    expect(answer.closedMs!).toBeLessThan(6000);
  });
});
