/** The prediction fast path must answer exactly as the Express routes it bypasses: every case is
 * sent once to `gateway.app` (Express alone) and once to `gateway.handler` (fast path in front),
 * and status, body and the headers a client can see must match. */
import type { RequestListener } from 'node:http';
import request from 'supertest';
import { parseByteLimit } from '../../../common/body-limit';
import { type FakeUpstream, startFakeUpstream } from './fake-upstream';
import { createFixture, type Fixture, policy, routesFor } from './gateway-fixture';

jest.setTimeout(30_000);

const OIP = { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] };
const COMPARED_HEADERS = [
  'content-type',
  'x-model-version',
  'x-model-failover',
  'www-authenticate',
  'retry-after',
  'access-control-allow-origin',
  'access-control-expose-headers',
  'vary',
  'x-content-type-options',
  'strict-transport-security',
  'content-security-policy',
  'x-frame-options',
  'cross-origin-resource-policy',
];

interface Case {
  name: string;
  path: string;
  body: string;
  headers?: Record<string, string>;
}

const json = (x: unknown) => JSON.stringify(x);

const CASES: Case[] = [
  { name: 'OIP pinned', path: '/v2/models/m/versions/2/infer', body: json(OIP) },
  {
    name: 'OIP label header',
    path: '/v2/models/m/infer',
    body: json(OIP),
    headers: { 'x-model-label': 'stable' },
  },
  { name: 'OIP query string', path: '/v2/models/m/versions/1/infer?x=1', body: json(OIP) },
  { name: 'OIP encoded name', path: '/v2/models/%6D/versions/1/infer', body: json(OIP) },
  { name: 'OIP unknown model', path: '/v2/models/zz/infer', body: json(OIP) },
  { name: 'OIP unknown version', path: '/v2/models/m/versions/9/infer', body: json(OIP) },
  { name: 'OIP bad JSON', path: '/v2/models/m/infer', body: '{"inputs": [' },
  {
    name: 'OIP wrong width',
    path: '/v2/models/m/versions/1/infer',
    body: json({ inputs: [{ ...OIP.inputs[0], shape: [1, 3], data: [1, 2, 3] }] }),
  },
  { name: 'OIP not an object', path: '/v2/models/m/versions/1/infer', body: '[1,2]' },
  {
    name: 'OIP huge number',
    path: '/v2/models/m/versions/1/infer',
    body: json({ inputs: [{ ...OIP.inputs[0], data: [1, 2, 3, 1e300] }] }),
  },
  {
    name: 'OIP charset',
    path: '/v2/models/m/versions/1/infer',
    body: json(OIP),
    headers: { 'content-type': 'application/json; charset=utf-8' },
  },
  {
    name: 'OIP text/plain (Express)',
    path: '/v2/models/m/infer',
    body: json(OIP),
    headers: { 'content-type': 'text/plain' },
  },
  { name: 'TF pinned', path: '/v1/models/m/versions/1:predict', body: json({ instances: [[1, 2, 3, 4]] }) },
  { name: 'TF label', path: '/v1/models/m/labels/canary:predict', body: json({ instances: [[1, 2, 3, 4]] }) },
  {
    name: 'TF unknown label',
    path: '/v1/models/m/labels/nope:predict',
    body: json({ instances: [[1, 2, 3, 4]] }),
  },
  { name: 'TF wrong width', path: '/v1/models/m/versions/1:predict', body: json({ instances: [[1, 2]] }) },
  {
    name: 'TF both keys',
    path: '/v1/models/m:predict',
    body: json({ instances: [[1, 2, 3, 4]], inputs: [[1, 2, 3, 4]] }),
  },
  {
    name: 'TF NaN literal',
    path: '/v1/models/m/versions/1:predict',
    body: '{"instances": [[1, 2, 3, NaN]]}',
  },
  {
    name: 'predict pinned',
    path: '/predict',
    body: json({ features: [1, 2, 3, 4] }),
    headers: { 'x-model-version': '1' },
  },
  {
    name: 'predict batch pinned',
    path: '/predict/batch?trace=1',
    body: json({
      instances: [
        [1, 2, 3, 4],
        [4, 3, 2, 1],
      ],
    }),
    headers: { 'x-model-label': 'canary' },
  },
  {
    name: 'predict wrong width',
    path: '/predict',
    body: json({ features: [1, 2] }),
    headers: { 'x-model-version': '1' },
  },
  { name: 'predict bad JSON', path: '/predict', body: '{"features": [1,' },
  {
    name: 'predict BOM',
    path: '/predict',
    body: `\ufeff${json({ features: [1, 2, 3, 4], model: 'm' })}`,
    headers: { 'x-model-version': '2' },
  },
  { name: 'predict schema', path: '/predict', body: json({ features: 'nope' }) },
  { name: 'predict array body', path: '/predict', body: '[1,2,3,4]' },
  { name: 'predict unknown model', path: '/predict', body: json({ features: [1, 2, 3, 4], model: 'zz' }) },
  { name: 'predict empty batch', path: '/predict/batch', body: json({ instances: [] }) },
];

describe('prediction fast path', () => {
  let v1: FakeUpstream;
  let v2: FakeUpstream;
  let fixture: Fixture;

  beforeAll(async () => {
    v1 = await startFakeUpstream(['a', 'b', 'c'], [0.7, 0.2, 0.1]);
    v2 = await startFakeUpstream(['a', 'b', 'c'], [0.1, 0.3, 0.6]);
  });
  afterAll(async () => {
    await v1.close();
    await v2.close();
  });
  afterEach(async () => {
    await fixture?.gateway.close();
    v1.mode = 'ok';
  });

  const routes = () =>
    routesFor(
      'm',
      policy({
        variants: [
          { version: '1', weight: 50 },
          { version: '2', weight: 50 },
        ],
        aliases: { stable: '1', canary: '2' },
      }),
      { '1': [v1.url], '2': [v2.url] },
    );

  const send = (target: RequestListener, c: Case) => {
    let r = request(target)
      .post(c.path)
      .set('content-type', 'application/json')
      .set('x-request-id', 'same-id');
    for (const [k, v] of Object.entries(c.headers ?? {})) r = r.set(k, v);
    return r.send(c.body);
  };

  const expectSame = async (c: Case) => {
    const viaExpress = await send(fixture.gateway.app as unknown as RequestListener, c);
    const viaFast = await send(fixture.gateway.handler, c);
    expect({ case: c.name, status: viaFast.status, body: viaFast.text }).toEqual({
      case: c.name,
      status: viaExpress.status,
      body: viaExpress.text,
    });
    expect(viaFast.headers['x-request-id']).toBe('same-id');
    for (const h of COMPARED_HEADERS) {
      expect({ case: c.name, header: h, value: viaFast.headers[h] }).toEqual({
        case: c.name,
        header: h,
        value: viaExpress.headers[h],
      });
    }
    return viaFast;
  };

  it('answers every case exactly as the Express routes do', async () => {
    // A fixed draw, so both paths pick the same variant for unpinned cases (errors name it too).
    fixture = createFixture(routes(), {}, { random: () => 0.25 });
    for (const c of CASES) await expectSame(c);
    // The split is random, so unpinned successes are compared for shape only.
    const split = await send(fixture.gateway.handler, {
      name: 'split',
      path: '/v2/models/m/infer',
      body: json(OIP),
    });
    expect(split.status).toBe(200);
    expect(['1', '2']).toContain(split.headers['x-model-version']);
  });

  it('counts fast-path requests in the request metrics like Express ones', async () => {
    fixture = createFixture(routes());
    await send(fixture.gateway.handler, CASES[0]!);
    await send(fixture.gateway.handler, CASES[4]!);
    const text = await fixture.registry.metrics();
    expect(text).toMatch(
      /modelgate_gateway_requests_total\{model="m",version="2",route="\/v2\/infer",status="200"\} 1/,
    );
    expect(text).toMatch(
      /modelgate_gateway_requests_total\{model="none",version="none",route="\/v2\/infer",status="404"\} 1/,
    );
  });

  it('relays a failing upstream, API keys and the rate limit alike', async () => {
    fixture = createFixture(routes(), { API_KEYS: 'k1', RATE_LIMIT_RPS: '1000' });
    await expectSame({ name: 'no key', path: '/v2/models/m/versions/1/infer', body: json(OIP) });
    await expectSame({
      name: 'bad key',
      path: '/v2/models/m/versions/1/infer',
      body: json(OIP),
      headers: { authorization: 'Bearer nope' },
    });
    await expectSame({
      name: 'good key',
      path: '/v1/models/m/versions/1:predict',
      body: json({ instances: [[1, 2, 3, 4]] }),
      headers: { 'x-api-key': 'k1' },
    });
    v1.mode = 'fail';
    await expectSame({
      name: 'upstream 500, pinned',
      path: '/v2/models/m/versions/1/infer',
      body: json(OIP),
      headers: { 'x-api-key': 'k1' },
    });
  });

  it('rate-limits fast-path requests with a 429 and Retry-After', async () => {
    fixture = createFixture(routes(), { RATE_LIMIT_RPS: '2' });
    const statuses: number[] = [];
    let last: request.Response | undefined;
    for (let i = 0; i < 4; i++) {
      last = await send(fixture.gateway.handler, CASES[0]!);
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 2)).toEqual([200, 200]);
    expect(statuses[3]).toBe(429);
    expect(last!.headers['retry-after']).toBe('1');
    expect(last!.body.error.code).toBe('rate_limited');
  });

  it('answers a body over BODY_LIMIT with 413 in the protocol shape', async () => {
    fixture = createFixture(routes(), { BODY_LIMIT: '1kb' });
    const big = json({ inputs: [{ ...OIP.inputs[0], data: new Array(400).fill(1.5) }] });
    const res = await send(fixture.gateway.handler, { name: 'big', path: '/v2/models/m/infer', body: big });
    expect(res.status).toBe(413);
    expect(typeof res.body.error).toBe('string');
  });

  it('reads BODY_LIMIT as body-parser does', () => {
    expect(parseByteLimit('10mb')).toBe(10 * 1024 * 1024);
    expect(parseByteLimit('512KB')).toBe(512 * 1024);
    expect(parseByteLimit('100')).toBe(100);
    expect(parseByteLimit('1.5kb')).toBe(1536);
    expect(() => parseByteLimit('lots')).toThrow(/not a size/);
  });
});
