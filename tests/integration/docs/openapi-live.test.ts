/** /openapi.json against a real `modelgate up` stack: every example in the document is sent and
 * answers 2xx, and a typed client generated from the served document (openapi-typescript +
 * openapi-fetch) type-checks and calls every route. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { ROOT } from '../../helpers/processes';
import { startUp, type UpProcess, untilShippedVersionsLive } from '../../helpers/up-process';

jest.setTimeout(240_000);
const run = promisify(execFile);

interface Operation {
  parameters?: { name: string; in: string; schema?: { example?: unknown }; example?: unknown }[];
  requestBody?: { content: Record<string, { schema: { $ref?: string; example?: unknown } }> };
}
type Doc = {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { example?: unknown }> };
};

let up: UpProcess;
let dataDir: string;
let urls: { gateway: string; registry: string; token?: string };
let doc: Doc;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'openapi-live-'));
  const env: Record<string, string | undefined> = { ...process.env, ADMIN_TOKEN: 'openapi-live-token' };
  delete env.MODEL_STORE;
  delete env.DATABASE_URL;
  up = startUp(['--data', dataDir, '--gateway-port', '0', '--registry-port', '0'], env);
  urls = { ...(await up.banner()), token: 'openapi-live-token' };
  const deadline = Date.now() + 60_000;
  while ((await fetch(`${urls.gateway}/v2/health/ready`)).status !== 200) {
    if (Date.now() > deadline) throw new Error('gateway never became ready');
    await new Promise((r) => setTimeout(r, 200));
  }
  await untilShippedVersionsLive(urls.gateway);
  doc = (await (await fetch(`${urls.gateway}/openapi.json`)).json()) as Doc;
});

afterAll(async () => {
  if (up) {
    up.proc.kill('SIGTERM');
    await up.exited;
  }
  await rm(dataDir, { recursive: true, force: true });
});

/** A fresh prediction's id, for the feedback example (whose id can only be made up in a document). */
async function freshRequestId(): Promise<string> {
  const res = await fetch(`${urls.gateway}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(doc.components.schemas.PredictRequest!.example),
  });
  return ((await res.json()) as { request_id: string }).request_id;
}

test('every example in /openapi.json answers 2xx on a fresh stack', async () => {
  const results: string[] = [];
  for (const [template, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      let url = template;
      const query = new URLSearchParams();
      for (const p of op.parameters ?? []) {
        const example = p.example ?? p.schema?.example;
        if (p.in === 'path') url = url.replace(`{${p.name}}`, encodeURIComponent(String(example)));
        if (p.in === 'query' && example !== undefined) query.set(p.name, String(example));
      }
      expect(url).not.toMatch(/\{/); // every path parameter has an example
      const media = op.requestBody?.content['application/json']?.schema;
      let body = media?.$ref ? doc.components.schemas[media.$ref.split('/').pop()!]?.example : media?.example;
      if (op.requestBody) expect([template, body]).not.toEqual([template, undefined]);
      if (template === '/feedback') body = { ...(body as object), request_id: await freshRequestId() };
      const res = await fetch(`${urls.gateway}${url}${query.size ? `?${query}` : ''}`, {
        method: method.toUpperCase(),
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(template === '/predictions' ? { authorization: `Bearer ${urls.token}` } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      results.push(
        `${method.toUpperCase()} ${template} → ${res.status}${res.ok ? '' : ` ${text.slice(0, 200)}`}`,
      );
    }
  }
  expect(results.filter((r) => !/→ 2\d\d$/.test(r))).toEqual([]);
  expect(results.length).toBe(Object.values(doc.paths).reduce((n, m) => n + Object.keys(m).length, 0));
});

test('a typed client generated from /openapi.json type-checks and calls every route', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'openapi-client-'));
  try {
    // openapi-typescript's CLI, as a user would run it (its dependencies are ES modules, which Jest's
    // CommonJS runtime cannot load in-process).
    await writeFile(path.join(dir, 'openapi.json'), JSON.stringify(doc));
    await run(process.execPath, [
      path.join(ROOT, 'node_modules', 'openapi-typescript', 'bin', 'cli.js'),
      path.join(dir, 'openapi.json'),
      '-o',
      path.join(dir, 'api.d.ts'),
    ]);
    const row = (doc.components.schemas.PredictRequest!.example as { features: number[] }).features;
    const client = `import createClient from 'openapi-fetch';
import type { paths } from './api';

const client = createClient<paths>({ baseUrl: process.env.GATEWAY_URL! });
const auth = { headers: { authorization: 'Bearer ${urls.token}' } };
const row = ${JSON.stringify(row)};
const model = { path: { model: 'penguins' } };
const version = { path: { model: 'penguins', version: '1' } };

async function main(): Promise<void> {
  const statuses: Record<string, number> = {};
  const note = (name: string, r: { response: Response }) => {
    statuses[name] = r.response.status;
  };
  note('health', await client.GET('/health'));
  note('ready', await client.GET('/ready'));
  const one = await client.POST('/predict', { body: { model: 'penguins', features: row } });
  note('predict', one);
  const requestId: string = one.data!.request_id;
  const batch = await client.POST('/predict/batch', { body: { model: 'penguins', instances: [row, row] } });
  note('predict/batch', batch);
  const rowId: string = batch.data!.predictions[1]!.request_id;
  note('model/info', await client.GET('/model/info'));
  note('feedback', await client.POST('/feedback', { body: { request_id: requestId, label: 'Adelie' } }));
  note('feedback row', await client.POST('/feedback', { body: { request_id: rowId, label: 'Adelie' } }));
  note('experiments', await client.GET('/experiments/{model}', { params: model }));
  note('predictions', await client.GET('/predictions', { params: { query: { model: 'penguins', limit: '5' } }, ...auth }));
  note('metrics', await client.GET('/metrics', { parseAs: 'text' }));
  note('v2', await client.GET('/v2'));
  note('v2 live', await client.GET('/v2/health/live'));
  note('v2 ready', await client.GET('/v2/health/ready'));
  note('v2 model', await client.GET('/v2/models/{model}', { params: model }));
  note('v2 version', await client.GET('/v2/models/{model}/versions/{version}', { params: version }));
  note('v2 model ready', await client.GET('/v2/models/{model}/ready', { params: model }));
  note('v2 version ready', await client.GET('/v2/models/{model}/versions/{version}/ready', { params: version }));
  const inputs = [{ name: 'input', shape: [1, row.length], datatype: 'FP32', data: row }];
  note('v2 infer', await client.POST('/v2/models/{model}/infer', { params: model, body: { inputs } }));
  note('v2 version infer', await client.POST('/v2/models/{model}/versions/{version}/infer', { params: version, body: { inputs } }));
  note('v1 model', await client.GET('/v1/models/{model}', { params: model }));
  note('v1 version', await client.GET('/v1/models/{model}/versions/{version}', { params: version }));
  note('v1 metadata', await client.GET('/v1/models/{model}/metadata', { params: model }));
  note('v1 predict', await client.POST('/v1/models/{model}:predict', { params: model, body: { instances: [row] } }));
  note('v1 version predict', await client.POST('/v1/models/{model}/versions/{version}:predict', { params: version, body: { instances: [row] } }));
  note('v1 label predict', await client.POST('/v1/models/{model}/labels/{label}:predict', { params: { path: { model: 'penguins', label: 'stable' } }, body: { inputs: [row] } }));
  process.stdout.write(JSON.stringify(statuses));
}

main().catch((err) => {
  process.stderr.write(String(err));
  process.exit(1);
});
`;
    await writeFile(path.join(dir, 'client.ts'), client);
    const options: ts.CompilerOptions = {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.CommonJS,
      moduleResolution: ts.ModuleResolutionKind.Node10,
      esModuleInterop: true,
      skipLibCheck: true,
      types: ['node'],
      typeRoots: [path.join(ROOT, 'node_modules', '@types')],
      baseUrl: dir,
      paths: { 'openapi-fetch': [path.join(ROOT, 'node_modules', 'openapi-fetch')] },
    };
    const program = ts.createProgram([path.join(dir, 'client.ts')], options);
    const problems = ts
      .getPreEmitDiagnostics(program)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(problems).toEqual([]);

    const js = ts.transpileModule(client, {
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
      },
    }).outputText;
    await writeFile(path.join(dir, 'client.js'), js);
    const { stdout } = await run(process.execPath, [path.join(dir, 'client.js')], {
      env: { ...process.env, GATEWAY_URL: urls.gateway, NODE_PATH: path.join(ROOT, 'node_modules') },
    });
    const statuses = JSON.parse(stdout) as Record<string, number>;
    expect(Object.keys(statuses)).toHaveLength(25);
    expect(Object.entries(statuses).filter(([, s]) => s < 200 || s > 299)).toEqual([]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
