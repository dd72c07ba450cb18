/** Two gateways behind one load generator: the same sticky users land on the same versions, since
 * the assignment is a hash of the key into the policy's buckets, not per-gateway state. */
import { type FaultStack, gauge, MODEL, predictOnce, startFaultStack, until } from './fault-stack';

jest.setTimeout(120_000);

let stack: FaultStack;

beforeAll(async () => {
  stack = await startFaultStack({ gateways: 2 });
  await stack.setPolicy({
    variants: [
      { version: '1', weight: 50 },
      { version: '2', weight: 50 },
    ],
    sticky: { header: 'x-user-id' },
  });
  for (const gateway of stack.gateways) {
    await until(`gateway ${gateway.port} has the sticky policy and both versions`, async () => {
      const text = await (await fetch(`${gateway.url}/metrics`)).text();
      const one = await gauge(gateway.url, 'modelgate_gateway_live_instances', {
        model: MODEL,
        version: '1',
      });
      const two = await gauge(gateway.url, 'modelgate_gateway_live_instances', {
        model: MODEL,
        version: '2',
      });
      const res = await predictOnce(gateway.url, { 'x-user-id': 'probe' });
      await res.arrayBuffer();
      return one === 1 && two === 1 && res.ok && text.includes('reason="sticky"') ? true : undefined;
    });
  }
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

it('sends each user to the same version through either gateway, splitting users about 50/50', async () => {
  const users = Array.from({ length: 200 }, (_, i) => `user-${i}-${(i * 7919) % 1000}`);
  const chosen: Record<string, string[]> = {};
  // Interleaved across gateways and repeated, as a load balancer in front of both would send them.
  // Twenty in flight at a time: a burst of all 200 at once is past each upstream's concurrency limit
  // and is shed with 503 + Retry-After by design (tests/integration/faults/overload.test.ts), which is
  // not what this test is about.
  const IN_FLIGHT = 20;
  for (let round = 0; round < 2; round++) {
    for (let start = 0; start < users.length; start += IN_FLIGHT) {
      await Promise.all(
        users.slice(start, start + IN_FLIGHT).map(async (user, k) => {
          const i = start + k;
          const gateway = stack.gateways[(i + round) % 2]!;
          const res = await predictOnce(gateway.url, { 'x-user-id': user }, i);
          await res.arrayBuffer();
          expect(res.status).toBe(200);
          chosen[user] = [...(chosen[user] ?? []), res.headers.get('x-model-version') ?? 'none'];
        }),
      );
    }
  }
  const inconsistent = users.filter((u) => new Set(chosen[u]).size !== 1);
  expect(inconsistent).toEqual([]);
  const onV2 = users.filter((u) => chosen[u]![0] === '2').length / users.length;
  expect(onV2).toBeGreaterThan(0.35);
  expect(onV2).toBeLessThan(0.65);
});
