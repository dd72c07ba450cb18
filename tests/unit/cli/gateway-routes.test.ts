import { untilGatewayRoutes } from '../../../cli/supervisor/gateway-routes';

const info = (live: Record<string, number>) => ({
  models: [
    {
      name: 'digits',
      versions: [
        { version: '1', live_instances: live['digits/1'] ?? 0 },
        { version: '2', live_instances: live['digits/2'] ?? 0 },
      ],
    },
  ],
});

/** A gateway whose /model/info answers each call with the next of `answers` (the last one repeats). */
function gateway(answers: (object | number)[]) {
  const calls: string[] = [];
  const fetch = (async (url: string) => {
    calls.push(url);
    const a = answers[Math.min(calls.length - 1, answers.length - 1)]!;
    return typeof a === 'number'
      ? new Response('{}', { status: a })
      : new Response(JSON.stringify(a), { status: 200 });
  }) as unknown as typeof globalThis.fetch;
  return { fetch, calls };
}

const versions = [
  { model: 'digits', version: '1' },
  { model: 'digits', version: '2' },
];

describe('untilGatewayRoutes', () => {
  it('waits until every version has a live instance in the gateway, then resolves with none missing', async () => {
    const g = gateway([info({}), info({ 'digits/1': 1 }), info({ 'digits/1': 1, 'digits/2': 1 })]);
    const missing = await untilGatewayRoutes({
      gatewayUrl: 'http://gw',
      versions,
      timeoutMs: 5_000,
      fetch: g.fetch,
      intervalMs: 1,
    });
    expect(missing).toEqual([]);
    expect(g.calls).toEqual(Array(3).fill('http://gw/model/info'));
  });

  it('gives up at the deadline and names what is still not live', async () => {
    const g = gateway([info({ 'digits/1': 1 })]);
    const started = Date.now();
    const missing = await untilGatewayRoutes({
      gatewayUrl: 'http://gw',
      versions,
      timeoutMs: 50,
      fetch: g.fetch,
      intervalMs: 5,
    });
    expect(missing).toEqual([{ model: 'digits', version: '2' }]);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(g.calls.length).toBeGreaterThan(1);
  });

  it('stops at once when the gateway will not answer /model/info (API keys, say)', async () => {
    const g = gateway([401]);
    const missing = await untilGatewayRoutes({
      gatewayUrl: 'http://gw',
      versions,
      timeoutMs: 5_000,
      fetch: g.fetch,
    });
    expect(missing).toEqual(versions);
    expect(g.calls).toHaveLength(1);
  });
});
