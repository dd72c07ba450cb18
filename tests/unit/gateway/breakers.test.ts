import { Breakers, type CircuitState, UpstreamFailure } from '../../../gateway/upstream/breakers';
import { DEFAULT_LIMIT_SETTINGS } from '../../../gateway/upstream/concurrency-limit';
import { DEFAULT_OUTLIER_SETTINGS } from '../../../gateway/upstream/outlier-detector';
import type { UpstreamClient, UpstreamResponse } from '../../../gateway/upstream/pool';

jest.setTimeout(10_000);

function fakeClient() {
  const client = {
    healthy: false,
    calls: 0,
    send: async (): Promise<UpstreamResponse> => {
      client.calls++;
      if (!client.healthy) throw new Error('connect ECONNREFUSED');
      return { status: 200, headers: {}, body: Buffer.from('{}') };
    },
    close: async () => undefined,
  };
  return client;
}

const settings = { errorThresholdPercent: 50, volumeThreshold: 3, resetTimeoutMs: 100 };

function breakersFor(client: UpstreamClient, onStateChange: (k: unknown, s: CircuitState) => void) {
  return new Breakers({
    breaker: settings,
    outliers: DEFAULT_OUTLIER_SETTINGS,
    deadlines: { p99Multiple: 4, floorMs: 250, maxMs: 1000, minSamples: 50 },
    concurrency: { ...DEFAULT_LIMIT_SETTINGS, initial: 2, max: 2 },
    clientFor: () => client,
    onStateChange,
    now: Date.now,
  });
}
const key = { model: 'm', version: '1', url: 'http://127.0.0.1:1' };
const req = { method: 'POST' as const, path: '/x' };

describe('per-instance circuit breakers', () => {
  it('opens after the volume threshold of failures, then rejects without calling the upstream', async () => {
    const client = fakeClient();
    const states: CircuitState[] = [];
    const breakers = breakersFor(client as UpstreamClient, (_k, s) => states.push(s));
    const b = breakers.get(key);
    for (let i = 0; i < 3; i++) await expect(b.call(req)).rejects.toMatchObject({ kind: 'connect' });
    expect(b.state()).toBe('open');
    expect(b.available()).toBe(false);
    const before = client.calls;
    await expect(b.call(req)).rejects.toMatchObject({ kind: 'open' });
    expect(client.calls).toBe(before);
    expect(states).toEqual(['open']);
    breakers.shutdown();
  });

  it('closes again when the half-open probe succeeds', async () => {
    const client = fakeClient();
    const states: CircuitState[] = [];
    let halfOpen!: () => void;
    const reachedHalfOpen = new Promise<void>((r) => (halfOpen = r));
    const breakers = breakersFor(client as UpstreamClient, (_k, s) => {
      states.push(s);
      if (s === 'half-open') halfOpen();
    });
    const b = breakers.get(key);
    for (let i = 0; i < 3; i++) await b.call(req).catch(() => undefined);
    await reachedHalfOpen;
    expect(b.available()).toBe(true);
    client.healthy = true;
    await expect(b.call(req)).resolves.toMatchObject({ status: 200 });
    expect(b.state()).toBe('closed');
    expect(states).toEqual(['open', 'half-open', 'closed']);
    breakers.shutdown();
  });

  it('counts 5xx answers as failures but passes 4xx through', async () => {
    let status = 400;
    const client = {
      send: async () => ({ status, headers: {}, body: Buffer.from('{"error":"bad"}') }),
      close: async () => undefined,
    };
    const breakers = breakersFor(client, () => undefined);
    const b = breakers.get(key);
    for (let i = 0; i < 5; i++) await expect(b.call(req)).resolves.toMatchObject({ status: 400 });
    expect(b.state()).toBe('closed');
    status = 500;
    const err = await b.call(req).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamFailure);
    expect((err as UpstreamFailure).response?.status).toBe(500);
    breakers.shutdown();
  });

  it("does not count the model-server's queue-full 503 against the instance", async () => {
    const client = {
      send: async () => ({
        status: 503,
        headers: { 'retry-after': '1' },
        body: Buffer.from('{"error":"full"}'),
      }),
      close: async () => undefined,
    };
    const breakers = breakersFor(client, () => undefined);
    const b = breakers.get(key);
    for (let i = 0; i < 10; i++) await expect(b.call(req)).rejects.toMatchObject({ kind: 'overloaded' });
    expect(b.state()).toBe('closed');
    expect(b.available()).toBe(true);
    breakers.shutdown();
  });

  it('keeps a breaker across table rebuilds and drops it when its instance leaves', () => {
    const breakers = breakersFor(fakeClient() as UpstreamClient, () => undefined);
    const a = breakers.get(key);
    expect(breakers.get({ ...key })).toBe(a);
    breakers.retain([]);
    expect(breakers.get(key)).not.toBe(a);
    breakers.shutdown();
  });

  it('refuses a call past the instance concurrency limit without sending it', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const client = {
      calls: 0,
      send: async (): Promise<UpstreamResponse> => {
        client.calls++;
        await gate;
        return { status: 200, headers: {}, body: Buffer.from('{}') };
      },
      close: async () => undefined,
    };
    const breakers = breakersFor(client, () => undefined);
    const b = breakers.get(key);
    const inFlight = [b.call(req), b.call(req)];
    await expect(b.call(req)).rejects.toMatchObject({ kind: 'full' });
    expect(client.calls).toBe(2);
    release();
    await Promise.all(inFlight);
    await expect(b.call(req)).resolves.toMatchObject({ status: 200 });
    breakers.shutdown();
  });
});
