/** A slow model-server (a proxy adding latency in front of v2): timeouts answer 504, v2 is ejected
 * (or its breaker opens), and v1's latency is unaffected. */
import { type DelayProxy, startDelayProxy } from './delay-proxy';
import {
  countBy,
  type FaultStack,
  gauge,
  LoadLoop,
  MODEL,
  predictOnce,
  startFaultStack,
  until,
} from './fault-stack';

jest.setTimeout(120_000);

const UPSTREAM_TIMEOUT_MS = 1500; // FAST.gateway.BREAKER_TIMEOUT_MS

let stack: FaultStack;
let proxy: DelayProxy;
let gatewayUrl: string;

function p90(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.9) - 1)] ?? Number.NaN;
}

beforeAll(async () => {
  stack = await startFaultStack({ versions: ['1'] });
  proxy = await startDelayProxy();
  const v2 = await stack.startModelServer('2', { PUBLIC_URL: proxy.url });
  proxy.target = v2.port;
  gatewayUrl = stack.gateways[0]!.url;
  await stack.setPolicy({
    variants: [
      { version: '1', weight: 50 },
      { version: '2', weight: 50 },
    ],
    failover: false,
  });
  await until('v2 routed through the delay proxy', async () => {
    const live = await gauge(gatewayUrl, 'modelgate_gateway_live_instances', { model: MODEL, version: '2' });
    const res = await predictOnce(gatewayUrl, { 'x-model-version': '2' });
    await res.arrayBuffer();
    return live === 1 && res.ok ? true : undefined;
  });
}, 120_000);

afterAll(async () => {
  await proxy?.close();
  await stack?.stop();
});

it('answers 504 on upstream timeouts, opens the breaker, and leaves v1 latency alone', async () => {
  const load = new LoadLoop(() => gatewayUrl, 6);
  await until('a baseline of v1 answers', () =>
    load.answers.filter((a) => a.version === '1').length > 50 ? true : undefined,
  );
  const baseline = load.answers.filter((a) => a.version === '1' && a.status === 200).map((a) => a.ms);

  proxy.delayMs = UPSTREAM_TIMEOUT_MS * 3;
  const slowFrom = load.now();
  const started = performance.now();
  const pinned = await predictOnce(gatewayUrl, { 'x-model-version': '2' });
  const pinnedMs = performance.now() - started;
  const pinnedBody = (await pinned.json()) as { error?: { code?: string } };
  // Either the timeout itself (504) or, if the load opened the breaker first, the fast refusal.
  if (pinned.status === 504) {
    expect(pinnedBody.error?.code).toBe('upstream_timeout');
    // A pinned request has nowhere else to go, so it waits up to BREAKER_TIMEOUT_MS (undici's
    // timers above 1 s tick every half second or so).
    expect(pinnedMs).toBeGreaterThanOrEqual(200);
    expect(pinnedMs).toBeLessThan(UPSTREAM_TIMEOUT_MS * 2);
  } else {
    expect(pinned.status).toBe(503);
  }

  await until('the v2 breaker opens', async () => {
    const text = await (await fetch(`${gatewayUrl}/metrics`)).text();
    return text
      .split('\n')
      .some(
        (l) =>
          l.startsWith('modelgate_gateway_circuit_state{') && l.includes('version="2"') && l.endsWith(' 2'),
      )
      ? true
      : undefined;
  });
  const openAt = load.now();
  await until('1.5 s of load with the breaker open', () => (load.now() > openAt + 1500 ? true : undefined));
  const answers = await load.stop();

  const slow = answers.filter((a) => a.sentAt >= slowFrom);
  const statuses = countBy(slow, (a) => String(a.status));
  expect(Object.keys(statuses).every((s) => ['200', '503', '504'].includes(s))).toBe(true);
  expect(statuses['504']).toBeGreaterThan(0);
  // Timeouts are cut at the upstream timeout, never left to the 4.5 s the proxy would take.
  for (const a of slow.filter((x) => x.status === 504)) {
    expect(a.ms).toBeLessThan(UPSTREAM_TIMEOUT_MS * 2);
  }
  // Once open, v2 is refused at once.
  const refused = slow.filter((a) => a.sentAt > openAt + 200 && a.status === 503);
  expect(refused.length).toBeGreaterThan(0);
  expect(Math.max(...refused.map((a) => a.ms))).toBeLessThan(750);
  // v1 is served from its own pool and breaker: no v1 request waited on the slow upstream.
  const v1During = slow.filter((a) => a.version === '1' && a.status === 200).map((a) => a.ms);
  expect(v1During.length).toBeGreaterThan(20);
  expect(Math.max(...v1During)).toBeLessThan(UPSTREAM_TIMEOUT_MS);
  expect(p90(v1During)).toBeLessThan(Math.max(250, 3 * p90(baseline)));
});
