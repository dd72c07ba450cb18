/** The registry down for 30 s under load: predictions continue from the gateway's last routing
 * table, and policy changes work again (and reach the gateway) once the registry is back. */
import { countBy, type FaultStack, gauge, LoadLoop, MODEL, startFaultStack, until } from './fault-stack';

jest.setTimeout(150_000);

const DOWN_MS = 30_000;

let stack: FaultStack;
let gatewayUrl: string;

beforeAll(async () => {
  stack = await startFaultStack();
  gatewayUrl = stack.gateways[0]!.url;
  await stack.setPolicy({
    variants: [
      { version: '1', weight: 50 },
      { version: '2', weight: 50 },
    ],
  });
  await until('both versions live in the gateway', async () => {
    const one = await gauge(gatewayUrl, 'modelgate_gateway_live_instances', { model: MODEL, version: '1' });
    const two = await gauge(gatewayUrl, 'modelgate_gateway_live_instances', { model: MODEL, version: '2' });
    return one === 1 && two === 1 ? true : undefined;
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

it('keeps predicting while the registry is down for 30 s, and applies a policy change after', async () => {
  const load = new LoadLoop(() => gatewayUrl, 4);
  await until('load flowing to both versions', () => {
    const c = countBy(load.answers, (a) => a.version ?? 'none');
    return (c['1'] ?? 0) > 20 && (c['2'] ?? 0) > 20 ? true : undefined;
  });
  const port = stack.registry.port;
  await stack.registry.stop('SIGKILL');
  const downAt = load.now();
  await until('the gateway marks its table stale', async () =>
    (await gauge(gatewayUrl, 'modelgate_gateway_routing_table_stale', {})) === 1 ? true : undefined,
  );
  await until(
    '30 s with the registry down',
    () => (load.now() > downAt + DOWN_MS ? true : undefined),
    DOWN_MS + 10_000,
  );
  const during = load.since(downAt);
  expect(during.length).toBeGreaterThan(200);
  expect(countBy(during, (a) => String(a.status))).toEqual({ '200': during.length });
  expect(new Set(during.map((a) => a.version))).toEqual(new Set(['1', '2']));

  await stack.startRegistry(port);
  await until('model-servers heartbeat to the new registry', async () => {
    const routes = (await (await fetch(`${stack.registry.url}/routes`)).json()) as {
      models: Record<string, { versions: Record<string, { instances: string[] }> }>;
    };
    const versions = routes.models[MODEL]?.versions ?? {};
    return versions['1']?.instances.length === 1 && versions['2']?.instances.length === 1 ? true : undefined;
  });
  // The policy file survived on disk; a change needs its current revision and works again.
  await stack.setPolicy({
    variants: [
      { version: '1', weight: 100 },
      { version: '2', weight: 0 },
    ],
  });
  await until('the gateway serves the new policy', async () =>
    (await gauge(gatewayUrl, 'modelgate_gateway_traffic_weight_percent', { model: MODEL, version: '2' })) ===
    0
      ? true
      : undefined,
  );
  const appliedAt = load.now();
  await until('1 s of load on the new policy', () => (load.now() > appliedAt + 1000 ? true : undefined));
  const answers = await load.stop();
  const after = answers.filter((a) => a.sentAt > appliedAt + 100);
  expect(after.length).toBeGreaterThan(20);
  expect(new Set(after.map((a) => a.version))).toEqual(new Set(['1']));
  // Nothing failed at any point: before, during, or after the outage.
  expect(countBy(answers, (a) => String(a.status))).toEqual({ '200': answers.length });
});
