/** Property-based requests to every endpoint of every service: random JSON, wrong types, shapes and
 * datatypes, huge and deep bodies, bad headers, odd paths. No 5xx, no crash, every error a JSON
 * body with a message, no file written outside the store, memory bounded. */
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { ROOT, type Service } from '../../helpers/processes';
import { type FaultStack, gauge, MODEL, startFaultStack, until } from '../faults/fault-stack';
import { assertAnswer, rawArb, requestArb, send, sendRaw } from './fuzz-client';

jest.setTimeout(120_000);

const WIDTH = 8;
const RUNS = Number(process.env.FUZZ_RUNS ?? 250);

const MODEL_SERVER_ROUTES = [
  'GET /v2',
  'GET /v2/health/live',
  'GET /v2/health/ready',
  'GET /v2/models/:m',
  'GET /v2/models/:m/ready',
  'POST /v2/models/:m/infer',
  'GET /v2/models/:m/versions/:v',
  'GET /v2/models/:m/versions/:v/ready',
  'POST /v2/models/:m/versions/:v/infer',
  'POST /v2/models/:m/versions/:v/infer',
  'GET /v1/models/:m',
  'GET /v1/models/:m/metadata',
  'POST /v1/models/:m:predict',
  'POST /v1/models/:m/versions/:v:predict',
  'GET /metrics',
];
const GATEWAY_ROUTES = [
  ...MODEL_SERVER_ROUTES,
  'GET /health',
  'GET /ready',
  'POST /predict',
  'POST /predict',
  'POST /predict/batch',
  'GET /model/info',
  'POST /feedback',
  'GET /experiments/:m',
  'GET /v1/models/:m/versions/:v',
  'GET /v1/models/:m/versions/:v/metadata',
  'POST /v1/models/:m/labels/:l:predict',
  'GET /openapi.json',
  'GET /docs',
];
const REGISTRY_ROUTES = [
  'GET /models',
  'GET /models/:m',
  'POST /models/:m/versions',
  'GET /models/:m/versions/:v',
  'DELETE /models/:m/versions/:v',
  'GET /models/:m/policy',
  'PUT /models/:m/policy',
  'PUT /models/:m/policy',
  'PUT /models/:m/aliases/:l',
  'GET /models/:m/audit',
  'POST /instances',
  'GET /routes',
  'GET /health',
  'GET /metrics',
];

let stack: FaultStack;
let rootBefore: string[];

function alive(service: Service): boolean {
  return service.child.exitCode === null && service.child.signalCode === null;
}

function rssMb(service: Service): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${service.child.pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

/** Every path under `dir` (relative), to compare before and after. */
function listTree(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory()
      ? [`${prefix}${d.name}/`, ...listTree(path.join(dir, d.name), `${prefix}${d.name}/`)]
      : [`${prefix}${d.name}`],
  );
}

async function fuzz(service: Service, routes: string[], adminToken?: string): Promise<void> {
  const rssBefore = rssMb(service);
  const statuses: Record<string, number> = {};
  await fc.assert(
    fc.asyncProperty(
      requestArb({ routes, models: [MODEL], versions: ['1', '2'], width: WIDTH, adminToken }),
      async (req) => {
        const answer = await send(service.url, req);
        const key = answer === undefined ? 'refused by client' : String(answer.status);
        statuses[key] = (statuses[key] ?? 0) + 1;
        if (process.env.FUZZ_VERBOSE === '2')
          process.stderr.write(
            `${req.method} ${req.path} ${req.headers['content-type']} → ${key} ${answer?.body.slice(0, 120)}\n`,
          );
        if (answer && answer.status !== 0) assertAnswer(req, answer);
        if (!alive(service)) throw new Error(`process exited after ${req.method} ${req.path}`);
      },
    ),
    { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 20261125), endOnFailure: true },
  );
  if (process.env.FUZZ_VERBOSE)
    process.stderr.write(`${service.url} statuses: ${JSON.stringify(statuses)}\n`);
  // The run means something only if most requests reached the server and some got past validation.
  const answered = RUNS - (statuses['refused by client'] ?? 0) - (statuses['0'] ?? 0);
  expect(answered).toBeGreaterThan(RUNS * 0.8);
  expect(Object.keys(statuses).some((k) => k.startsWith('2'))).toBe(true);
  await fc.assert(
    fc.asyncProperty(rawArb, async (bytes) => {
      const status = await sendRaw(service.url, bytes);
      if (status >= 500)
        throw new Error(`raw request answered ${status}: ${JSON.stringify(bytes.slice(0, 200))}`);
      if (!alive(service)) throw new Error(`process exited after raw ${JSON.stringify(bytes.slice(0, 200))}`);
    }),
    { numRuns: 30, seed: 7, endOnFailure: true },
  );
  // Huge and deep bodies on the endpoints that parse JSON.
  for (const route of routes.filter((t) => /infer|predict|policy|instances|feedback/.test(t))) {
    const [method, p] = route.split(' ') as [string, string];
    const target = p.replace(':m', MODEL).replace(':v', '1').replace(':l', 'stable');
    const huge = `{"features":[${'0.5,'.repeat(6_000_000)}0.5]}`;
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    const deepObject = `${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`;
    for (const body of [huge, deep, deepObject]) {
      const req = {
        method,
        path: target,
        headers: {
          'content-type': 'application/json',
          ...(adminToken ? { authorization: `Bearer ${adminToken}` } : {}),
        },
        body,
      };
      const answer = await send(service.url, req, 60_000);
      expect(answer).toBeDefined();
      if (answer!.status !== 0) assertAnswer(req, answer!);
      expect(alive(service)).toBe(true);
    }
  }
  const health = await fetch(`${service.url}/metrics`);
  expect(health.status).toBe(200);
  // Bounded: the huge bodies are refused at the limit, not buffered whole, and nothing accumulates.
  expect(rssMb(service)).toBeLessThan(Math.max(rssBefore * 2, rssBefore + 300));
}

beforeAll(async () => {
  rootBefore = readdirSync(ROOT).sort();
  stack = await startFaultStack();
  await until('the gateway routes both versions', async () => {
    const one = await gauge(stack.gateways[0]!.url, 'modelgate_gateway_live_instances', {
      model: MODEL,
      version: '1',
    });
    const two = await gauge(stack.gateways[0]!.url, 'modelgate_gateway_live_instances', {
      model: MODEL,
      version: '2',
    });
    return one === 1 && two === 1 ? true : undefined;
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

describe('every service survives arbitrary requests with 4xx JSON errors and bounded memory', () => {
  let storeBefore: string[];
  beforeAll(() => {
    storeBefore = listTree(stack.store);
  });

  it('model-server', async () => {
    await fuzz(stack.servers.find((s) => s.version === '1')!.service, MODEL_SERVER_ROUTES);
  });

  it('gateway', async () => {
    await fuzz(stack.gateways[0]!, GATEWAY_ROUTES, undefined);
  });

  // Last: with the admin token it may change the policy or register bogus instances, which the other
  // services must then also survive, but which would muddle their runs.
  it('registry, with and without the admin token', async () => {
    await fuzz(stack.registry, REGISTRY_ROUTES, stack.token);
    // The three services are still up and talking to each other.
    for (const s of [stack.registry, stack.gateways[0]!, ...stack.servers.map((x) => x.service)]) {
      expect(alive(s)).toBe(true);
    }
  });

  it('wrote no file outside the store', () => {
    // Other engineers add files to the working tree while this runs, so only what these services
    // could write is looked for there; the temp dir is ours alone and is checked exactly. Inside the
    // store only policy, audit, lock and temp files may appear, and nothing named after a traversal
    // attempt anywhere.
    const rootAdded = readdirSync(ROOT).filter((e) => !rootBefore.includes(e));
    expect(
      rootAdded.filter((e) =>
        /^(logs|store|penguins|policy\.json|audit\.jsonl|predictions\.jsonl)$|fuzzescape/.test(e),
      ),
    ).toEqual([]);
    const dirEntries = readdirSync(stack.dir).sort();
    // The stack's own evidence store (SQLite with its WAL files) lives beside the model store.
    expect(
      dirEntries.filter(
        (e) => e !== 'store' && !e.startsWith('gateway-logs-') && !/^modelgate\.db(-wal|-shm)?$/.test(e),
      ),
    ).toEqual([]);
    const added = listTree(stack.store).filter((p) => !storeBefore.includes(p));
    const unexpected = added.filter(
      (p) => !/^penguins\/(policy\.json|audit\.jsonl|[^/]*\.lock\/?|[^/]*\.tmp[^/]*)$/.test(p),
    );
    expect(unexpected).toEqual([]);
    const everywhere = [
      ...listTree(stack.dir),
      ...readdirSync(path.join(ROOT, 'models')),
      ...readdirSync(tmpdir()),
    ];
    expect(everywhere.filter((p) => p.includes('fuzzescape'))).toEqual([]);
  });
});
