/** GATEWAY_WORKERS=2: two gateway processes on one port (node:cluster); /metrics answers for both. */
import { type FaultStack, predictOnce, startFaultStack, until } from '../faults/fault-stack';

jest.setTimeout(120_000);

let stack: FaultStack;

beforeAll(async () => {
  stack = await startFaultStack({ versions: ['1'], gatewayEnv: { GATEWAY_WORKERS: '2' } });
  await stack.setPolicy({ variants: [{ version: '1', weight: 100 }] });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

it('serves from two worker processes and counts every request in one /metrics', async () => {
  const gateway = stack.gateways[0]!;
  await until('the workers routed', async () => {
    const res = await predictOnce(gateway.url);
    await res.arrayBuffer();
    return res.ok ? true : undefined;
  });
  const before = await answered(gateway.url);
  const n = 40;
  for (let i = 0; i < n; i++) {
    // A fresh connection each time, so the cluster spreads them over both workers.
    const res = await predictOnce(gateway.url, { connection: 'close' }, i);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  }
  expect((await answered(gateway.url)) - before).toBe(n);
  const workers = gateway.lines.filter((l) => l.includes('"event":"listening"')).length;
  expect(workers).toBeGreaterThanOrEqual(3); // the primary's announcement and each worker's
  expect(await gateway.stop('SIGTERM')).toBe(0);
});

async function answered(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split('\n')
    .filter(
      (l) =>
        l.startsWith('modelgate_gateway_requests_total{') &&
        l.includes('route="/predict"') &&
        l.includes('status="200"'),
    )
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}
