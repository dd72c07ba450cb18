import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { callWebhook } from '../../../registry/rollouts/webhooks';

let server: http.Server;
let url: string;
let answers: number[];
let bodies: unknown[];
let hang = false;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      bodies.push(JSON.parse(raw));
      if (hang) return;
      res.statusCode = answers.shift() ?? 200;
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  answers = [];
  bodies = [];
  hang = false;
});

const noSleep = async () => undefined;

describe('callWebhook', () => {
  it('POSTs the payload and treats a 2xx as yes', async () => {
    const r = await callWebhook({
      url,
      payload: { hook: 'rollback', evidence: { arms: [] } },
      timeoutMs: 2000,
      attempts: 3,
      backoffMs: 1,
      sleep: noSleep,
    });
    expect(r).toEqual({ ok: true, status: 200, detail: 'HTTP 200', attempts: 1 });
    expect(bodies).toEqual([{ hook: 'rollback', evidence: { arms: [] } }]);
  });

  it('retries a 500 with exponential backoff and then succeeds', async () => {
    answers = [500, 503];
    const waits: number[] = [];
    const r = await callWebhook({
      url,
      payload: {},
      timeoutMs: 2000,
      attempts: 3,
      backoffMs: 100,
      sleep: async (ms) => void waits.push(ms),
    });
    expect(r.ok).toBe(true);
    expect(r.attempts).toBe(3);
    expect(waits).toEqual([100, 200]);
  });

  it('says no after the last attempt, naming the status', async () => {
    answers = [500, 500];
    const r = await callWebhook({
      url,
      payload: {},
      timeoutMs: 2000,
      attempts: 2,
      backoffMs: 1,
      sleep: noSleep,
    });
    expect(r).toEqual({ ok: false, status: 500, detail: 'HTTP 500 after 2 attempts', attempts: 2 });
  });

  it('gives up on a hanging server after the timeout', async () => {
    hang = true;
    const started = Date.now();
    const r = await callWebhook({
      url,
      payload: {},
      timeoutMs: 300,
      attempts: 1,
      backoffMs: 1,
      sleep: noSleep,
    });
    expect(r.ok).toBe(false);
    expect(r.detail).toBe('timed out after 300 ms after 1 attempt');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('reports a refused connection', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const r = await callWebhook({
      url: `http://127.0.0.1:${port}/x`,
      payload: {},
      timeoutMs: 1000,
      attempts: 1,
      backoffMs: 1,
      sleep: noSleep,
    });
    expect(r).toMatchObject({ ok: false, status: null, detail: 'connection refused after 1 attempt' });
  });
});
