/** SIGTERM of a model-server under load: it drains what it holds and deregisters, and the gateway
 * moves to the other instance of the same version without one failed request. */
import { countBy, type FaultStack, gauge, LoadLoop, MODEL, startFaultStack, until } from './fault-stack';

jest.setTimeout(120_000);

let stack: FaultStack;
let gatewayUrl: string;

beforeAll(async () => {
  stack = await startFaultStack({ versions: ['1', '1'] });
  gatewayUrl = stack.gateways[0]!.url;
  // Only v1 is a variant, so nothing can fail over to another version and hide a dropped request.
  await stack.setPolicy({ variants: [{ version: '1', weight: 100 }], failover: true });
  await until('two live v1 instances in the gateway', async () =>
    (await gauge(gatewayUrl, 'modelgate_gateway_live_instances', { model: MODEL, version: '1' })) === 2
      ? true
      : undefined,
  );
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

it('loses no request when one of two v1 model-servers gets SIGTERM under load', async () => {
  const load = new LoadLoop(() => gatewayUrl, 8);
  await until('load flowing', () => (load.answers.length > 100 ? true : undefined));
  const leaving = stack.servers[0]!.service;
  const exitCode = await leaving.stop('SIGTERM');
  expect(exitCode).toBe(0);
  await until('the gateway drops the stopped instance', async () =>
    (await gauge(gatewayUrl, 'modelgate_gateway_live_instances', { model: MODEL, version: '1' })) === 1
      ? true
      : undefined,
  );
  const droppedAt = load.now();
  await until('1 s more load', () => (load.now() > droppedAt + 1000 ? true : undefined));
  const answers = await load.stop();
  expect(answers.length).toBeGreaterThan(200);
  expect(countBy(answers, (a) => String(a.status))).toEqual({ '200': answers.length });
});
