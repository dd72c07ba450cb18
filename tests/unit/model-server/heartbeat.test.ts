import { Writable } from 'node:stream';
import { createLogger } from '../../../common/logger';
import { createHeartbeat } from '../../../model-server/heartbeat';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, logger: createLogger({ service: 'test', stream }) };
}

describe('heartbeat', () => {
  const payload = () => ({ model: 'm', version: '1', url: 'http://127.0.0.1:1', ready: true });

  it('POSTs the payload to REGISTRY_URL/instances', async () => {
    const calls: [string, RequestInit][] = [];
    const fetch = (async (url: string, init: RequestInit) => {
      calls.push([url, init]);
      return new Response(null, { status: 204 });
    }) as unknown as typeof globalThis.fetch;
    const hb = createHeartbeat({
      registryUrl: 'http://registry:8100',
      intervalMs: 1000,
      timeoutMs: 100,
      token: 'instance-secret',
      logger: capture().logger,
      payload,
      fetch,
    });
    expect(await hb.beat()).toBe(true);
    expect(calls[0]![0]).toBe('http://registry:8100/instances');
    expect(JSON.parse(String(calls[0]![1].body))).toEqual(payload());
    expect((calls[0]![1].headers as Record<string, string>).authorization).toBe('Bearer instance-secret');
  });

  it("logs the registry's reason when it refuses a heartbeat", async () => {
    const { lines, logger } = capture();
    const fetch = (async () =>
      new Response(
        JSON.stringify({ error: { code: 'forbidden', message: 'the instance token is not valid' } }),
        {
          status: 403,
        },
      )) as unknown as typeof globalThis.fetch;
    const hb = createHeartbeat({
      registryUrl: 'http://r',
      intervalMs: 1000,
      timeoutMs: 100,
      token: 'wrong',
      logger,
      payload,
      fetch,
    });
    expect(await hb.beat()).toBe(false);
    expect(lines.join('')).toMatch(/registry answered 403: the instance token is not valid/);
  });

  it('logs a failure once per outage and once when the registry is back', async () => {
    const { lines, logger } = capture();
    let up = false;
    const fetch = (async () => {
      if (!up) throw new Error('connect ECONNREFUSED');
      return new Response(null, { status: 204 });
    }) as unknown as typeof globalThis.fetch;
    const hb = createHeartbeat({
      registryUrl: 'http://r',
      intervalMs: 1000,
      timeoutMs: 100,
      token: 'instance-secret',
      logger,
      payload,
      fetch,
    });
    expect(await hb.beat()).toBe(false);
    expect(await hb.beat()).toBe(false);
    expect(await hb.beat()).toBe(false);
    up = true;
    expect(await hb.beat()).toBe(true);
    expect(lines.filter((l) => l.includes('heartbeat failed'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('heartbeats resumed'))).toHaveLength(1);
  });

  it('treats a non-2xx answer as a failure', async () => {
    const fetch = (async () => new Response('{}', { status: 400 })) as unknown as typeof globalThis.fetch;
    const { lines, logger } = capture();
    const hb = createHeartbeat({
      registryUrl: 'http://r',
      intervalMs: 1000,
      timeoutMs: 100,
      token: 'instance-secret',
      logger,
      payload,
      fetch,
    });
    expect(await hb.beat()).toBe(false);
    expect(lines.join('')).toMatch(/registry answered 400/);
  });

  it('stop() ends the loop and sends one last heartbeat with the current payload', async () => {
    const bodies: unknown[] = [];
    const fetch = (async (_url: string, init: RequestInit) => {
      bodies.push(JSON.parse(String(init.body)));
      return new Response(null, { status: 204 });
    }) as unknown as typeof globalThis.fetch;
    let ready = true;
    const hb = createHeartbeat({
      registryUrl: 'http://r',
      intervalMs: 60_000,
      timeoutMs: 100,
      token: 'instance-secret',
      logger: capture().logger,
      payload: () => ({ ...payload(), ready }),
      fetch,
    });
    hb.start();
    ready = false;
    await hb.stop();
    expect(bodies.at(-1)).toMatchObject({ ready: false });
  });
});
