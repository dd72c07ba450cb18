/** A model-server that is alive but silent (SIGSTOP) under traffic: before outlier ejection, the
 * breaker stayed closed and about 40 % of requests waited the full 5 s timeout until the registry's
 * heartbeat TTL dropped the instance. Now the gateway ejects it within a second (consecutive
 * timeouts against a deadline derived from the version's p99) and retries elsewhere, so fewer than
 * 2 % of requests take over a second. The registry's TTL is long here, so only the gateway can act. */
import { type FaultStack, LoadLoop, startFaultStack, until } from './fault-stack';

jest.setTimeout(120_000);

let stack: FaultStack;

beforeAll(async () => {
  stack = await startFaultStack({
    versions: ['1', '1'],
    registryEnv: { INSTANCE_TTL_MS: '60000' },
    // The defaults a user gets: a 5 s ceiling, deadlines from the p99.
    gatewayEnv: { BREAKER_TIMEOUT_MS: '5000' },
  });
  await stack.setPolicy({ variants: [{ version: '1', weight: 100 }], failover: false });
  await until('both instances routed', async () => {
    const res = await fetch(`${stack.gateways[0]!.url}/ready`);
    const body = (await res.json()) as {
      details?: { models?: Record<string, Record<string, { available: number }>> };
    };
    return body.details?.models?.penguins?.['1']?.available === 2 ? true : undefined;
  });
}, 120_000);

afterAll(async () => {
  for (const s of stack?.servers ?? []) s.service.child.kill('SIGCONT');
  await stack?.stop();
});

it('ejects a SIGSTOPped instance within 1 s and keeps 98 % of requests under 1 s', async () => {
  const gateway = stack.gateways[0]!;
  const load = new LoadLoop(() => gateway.url, 4);
  await until('a warm-up of answers from both instances', () =>
    load.answers.filter((a) => a.status === 200).length > 400 ? true : undefined,
  );
  const victim = stack.servers[0]!.service;
  const ejected = gateway.waitForLine(
    new RegExp(`"event":"ejection".*127\\.0\\.0\\.1:${victim.port}`),
    20_000,
  );
  const stoppedAt = load.now();
  victim.child.kill('SIGSTOP');
  await ejected;
  const ejectedAfterMs = load.now() - stoppedAt;
  await until('4 s of traffic with the instance stopped', () =>
    load.now() - stoppedAt > 4000 ? true : undefined,
  );
  await load.stop();
  victim.child.kill('SIGCONT');

  const during = load.since(stoppedAt).filter((a) => a.sentAt < stoppedAt + 4000);
  const slow = during.filter((a) => a.ms > 1000);
  const failed = during.filter((a) => a.status !== 200);
  // The goal is 1 s (0.34 s on a quiet machine; before outlier ejection nothing was ejected until the
  // registry's TTL, 6 s). The timer includes the log line's trip through a pipe to this process,
  // which takes a few hundred ms when the other test worker loads the machine.
  process.stdout.write(
    `SIGSTOP: ejected after ${ejectedAfterMs.toFixed(0)} ms; ${slow.length} of ${during.length} requests over 1 s, ${failed.length} failed\n`,
  );
  expect(ejectedAfterMs).toBeLessThan(1500);
  expect(during.length).toBeGreaterThan(100);
  expect({ slowShare: slow.length / during.length, failed: failed.length }).toEqual({
    slowShare: expect.any(Number),
    failed: 0,
  });
  expect(slow.length / during.length).toBeLessThan(0.02);
});
