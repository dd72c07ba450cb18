/** kill -9 of a model-server under load, with failover on and off, and its restart. */

jest.setTimeout(120_000);

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

let stack: FaultStack;
let gatewayUrl: string;

async function routesRevision(): Promise<number> {
  const res = await fetch(`${stack.registry.url}/routes`);
  return ((await res.json()) as { revision: number }).revision;
}

/** Waits until the gateway uses the registry's current routing table. */
async function gatewayCaughtUp(): Promise<void> {
  const revision = await routesRevision();
  await until(`gateway routing table revision ${revision}`, async () => {
    const seen = await gauge(gatewayUrl, 'modelgate_gateway_routing_table_revision', {}).catch(
      () => undefined,
    );
    return seen !== undefined && seen >= revision ? true : undefined;
  });
}

/** The moment v2 stops being routed to: its breaker opened or it left the routing table. */
async function v2Isolated(): Promise<void> {
  await until('v2 breaker open or v2 gone from the routing table', async () => {
    const text = await (await fetch(`${gatewayUrl}/metrics`)).text();
    const open = text
      .split('\n')
      .some(
        (l) =>
          l.startsWith('modelgate_gateway_circuit_state{') && l.includes('version="2"') && l.endsWith(' 2'),
      );
    const live = await gauge(gatewayUrl, 'modelgate_gateway_live_instances', { model: MODEL, version: '2' });
    return open || !live ? true : undefined;
  });
}

function v2Server() {
  const entry = [...stack.servers].reverse().find((s) => s.version === '2');
  if (!entry) throw new Error('no v2 model-server');
  return entry.service;
}

beforeAll(async () => {
  stack = await startFaultStack();
  gatewayUrl = stack.gateways[0]!.url;
  await stack.setPolicy({
    variants: [
      { version: '1', weight: 50 },
      { version: '2', weight: 50 },
    ],
    failover: true,
  });
  await until('both versions answering through the gateway', async () => {
    const a = await (await predictOnce(gatewayUrl, { 'x-model-version': '1' }))
      .arrayBuffer()
      .then(() => true);
    const res = await predictOnce(gatewayUrl, { 'x-model-version': '2' });
    await res.arrayBuffer();
    return a && res.ok ? true : undefined;
  });
  await gatewayCaughtUp();
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

it('keeps answering 200 from v1 once v2 is killed with failover on, and splits again after v2 restarts', async () => {
  const load = new LoadLoop(() => gatewayUrl, 6);
  await until('some answers from both versions', () => {
    const c = countBy(load.answers, (a) => a.version ?? 'none');
    return (c['1'] ?? 0) > 10 && (c['2'] ?? 0) > 10 ? true : undefined;
  });
  v2Server().child.kill('SIGKILL');
  await v2Isolated();
  const isolatedAt = load.now();
  await until('2 s of load after isolation', () => (load.now() > isolatedAt + 2000 ? true : undefined));
  // Requests already in flight when the breaker opened may still see the crash; later ones may not.
  const afterOpen = load.since(isolatedAt + 200);
  expect(afterOpen.length).toBeGreaterThan(20);
  expect(countBy(afterOpen, (a) => String(a.status))).toEqual({ '200': afterOpen.length });
  expect(new Set(afterOpen.map((a) => a.version))).toEqual(new Set(['1']));

  await stack.startModelServer('2');
  const restartedAt = load.now();
  await until('v2 answering again', () =>
    load.since(restartedAt).some((a) => a.version === '2') ? true : undefined,
  );
  const splitFrom = load.now();
  await until('2 s of load after v2 returned', () => (load.now() > splitFrom + 2000 ? true : undefined));
  const answers = await load.stop();
  const back = answers.filter((a) => a.sentAt >= splitFrom);
  expect(back.every((a) => a.status === 200)).toBe(true);
  const v2Share = back.filter((a) => a.version === '2').length / back.length;
  expect(v2Share).toBeGreaterThan(0.3);
  expect(v2Share).toBeLessThan(0.7);
  // The restarted upstream's breaker is closed.
  const text = await (await fetch(`${gatewayUrl}/metrics`)).text();
  const v2Url = v2Server().url;
  const state = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith('modelgate_gateway_circuit_state{') && l.includes('version="2"') && l.includes(v2Url),
    );
  expect(state?.endsWith(' 0')).toBe(true);
});

it('answers fast 503s with Retry-After, not timeouts, for v2 once it is killed with failover off', async () => {
  await stack.setPolicy({
    variants: [
      { version: '1', weight: 50 },
      { version: '2', weight: 50 },
    ],
    failover: false,
  });
  await gatewayCaughtUp();
  const load = new LoadLoop(() => gatewayUrl, 6);
  await until('answers from v2', () =>
    load.answers.filter((a) => a.version === '2').length > 10 ? true : undefined,
  );
  v2Server().child.kill('SIGKILL');
  await v2Isolated();
  const isolatedAt = load.now();
  await until('2 s of load after isolation', () => (load.now() > isolatedAt + 2000 ? true : undefined));
  const answers = (await load.stop()).filter((a) => a.sentAt >= isolatedAt + 200);
  const statuses = countBy(answers, (a) => String(a.status));
  expect(Object.keys(statuses).sort()).toEqual(['200', '503']);
  const refused = answers.filter((a) => a.status === 503);
  // Fast: far below the 1.5 s upstream timeout; a hung request would take at least that.
  expect(Math.max(...refused.map((a) => a.ms))).toBeLessThan(750);
  expect(answers.filter((a) => a.status === 200).every((a) => a.version === '1')).toBe(true);

  const pinned = await predictOnce(gatewayUrl, { 'x-model-version': '2' });
  expect(pinned.status).toBe(503);
  expect(pinned.headers.get('retry-after')).toMatch(/^\d+$/);
  const body = (await pinned.json()) as { error?: { code?: string; message?: string } };
  expect(body.error?.code).toBe('no_healthy_upstream');
  expect(body.error?.message).toEqual(expect.any(String));
});
