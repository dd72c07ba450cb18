/** Registry restarts under traffic. A fresh registry used to serve a routing table with no
 * instances until the model-servers heartbeated again, and the gateways applied it: a burst of 503s
 * (23 of 49 requests in one second, in 2 of 4 trials). Now the registry restores the instances it
 * persisted in the store, and a gateway never lets every instance of a model vanish from one table
 * to the next without a grace period. Heartbeats here are 2 s apart, so a table served before the
 * first heartbeat would be empty for up to 2 s. */
import { countBy, type FaultStack, gauge, LoadLoop, MODEL, startFaultStack, until } from './fault-stack';

jest.setTimeout(180_000);

const SLOW_BEATS = { HEARTBEAT_INTERVAL_MS: '2000' };

let stack: FaultStack;
let gatewayUrl: string;

type RoutesBody = { models: Record<string, { versions: Record<string, { instances: string[] }> }> };

const instancesIn = (routes: RoutesBody, version: string) =>
  routes.models[MODEL]?.versions[version]?.instances.length ?? 0;

beforeAll(async () => {
  stack = await startFaultStack({
    modelServerEnv: { '1': SLOW_BEATS, '2': SLOW_BEATS },
    registryEnv: { HEARTBEAT_INTERVAL_MS: '2000', INSTANCE_TTL_MS: '6000' },
  });
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

it('a restarted registry serves the instances it knew before any heartbeat arrives', async () => {
  const port = stack.registry.port;
  await stack.registry.stop('SIGKILL');
  const registry = await stack.startRegistry(port);
  // Straight after `listening`, well within the 2 s heartbeat interval.
  const routes = (await (await fetch(`${registry.url}/routes`)).json()) as RoutesBody;
  expect(instancesIn(routes, '1')).toBe(1);
  expect(instancesIn(routes, '2')).toBe(1);
});

it('four registry restarts under traffic give no 503', async () => {
  const load = new LoadLoop(() => gatewayUrl, 4);
  await until('load flowing', () => (load.answers.length > 40 ? true : undefined));
  for (let trial = 0; trial < 4; trial++) {
    const port = stack.registry.port;
    await stack.registry.stop('SIGKILL');
    await stack.startRegistry(port);
    const back = load.now();
    await until('3 s of load after the restart', () => (load.now() > back + 3000 ? true : undefined));
  }
  const answers = await load.stop();
  expect(answers.length).toBeGreaterThan(100);
  expect(countBy(answers, (a) => String(a.status))).toEqual({ '200': answers.length });
});
