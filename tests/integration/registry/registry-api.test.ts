/** The registry as a real process on a temp store: auth, policy writes with If-Match, aliases, uploads
 * (good and each kind of bad, leaving the store unchanged), deletes, name validation, heartbeats,
 * the routing table with ETag and long-poll, audit and metrics. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { policyInputSchema, routesSchema } from '../../../common/wire';
import { type InstanceStandIn, startInstanceStandIn } from '../../helpers/instance-stand-in';
import { runCli, type Service, startService } from '../../helpers/processes';
import { listTree, tinyMetadata, tinyModelFiles, writeStore } from '../../helpers/registry-fixtures';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field with expect()
type Body = any;

const TOKEN = 'test-admin-token';
let store: string;
let registry: Service;

const auth = { Authorization: `Bearer ${TOKEN}` };

async function call(
  method: string,
  route: string,
  init: { body?: unknown; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...init.headers };
  let body: string | undefined;
  if (init.body !== undefined) {
    body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
    headers['Content-Type'] ??= 'application/json';
  }
  const res = await fetch(`${registry.url}${route}`, { method, headers, body });
  const text = await res.text();
  let json: Body;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: res.status, headers: res.headers, body: json };
}

/** fetch() normalises "..", "%2e%2e" and friends away; a raw request sends the path as an attacker would. */
function raw(method: string, route: string, body?: unknown): Promise<{ status: number; body: Body }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${registry.url}/`,
      { method, path: route, headers: { ...auth, ...(data ? { 'Content-Type': 'application/json' } : {}) } },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }),
        );
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

async function getPolicy(model = 'iris') {
  const res = await call('GET', `/models/${model}/policy`);
  return { policy: res.body, etag: res.headers.get('etag')! };
}

async function uploadForm(
  files: Map<string, Buffer>,
  fields: Record<string, string> = {},
): Promise<FormData> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  for (const [name, data] of files) form.append('files', new Blob([new Uint8Array(data)]), name);
  return form;
}

async function upload(
  model: string,
  files: Map<string, Buffer>,
  fields: Record<string, string> = {},
  headers = auth,
) {
  const res = await fetch(`${registry.url}/models/${encodeURIComponent(model)}/versions`, {
    method: 'POST',
    headers,
    body: await uploadForm(files, fields),
  });
  return { status: res.status, body: (await res.json()) as Body };
}

async function goodUpload(model: string, version?: string) {
  const files = await tinyModelFiles();
  files.set('metadata.json', Buffer.from(JSON.stringify(tinyMetadata(model, version ?? 'x', files))));
  return files;
}

beforeAll(async () => {
  store = await mkdtemp(path.join(tmpdir(), 'registry-api-'));
  await writeStore(store, 'iris', ['1', '2', '3'], {
    variants: [
      { version: '1', weight: 90 },
      { version: '2', weight: 10 },
    ],
    aliases: { stable: '1' },
    revision: 1,
  });
  registry = await startService(['registry'], {
    env: {
      MODEL_STORE: store,
      ADMIN_TOKEN: TOKEN,
      ADMIN_TOKENS: 'alice:alice-token',
      MAX_UPLOAD_BYTES: '200000',
      INSTANCE_TTL_MS: '1500',
    },
  });
});

afterAll(async () => {
  await registry?.stop();
  await rm(store, { recursive: true, force: true });
});

describe('start-up', () => {
  it('refuses a bad setting with a message naming the variable', async () => {
    const r = await runCli(['registry'], { PORT: '0', MODEL_STORE: store, MAX_UPLOAD_BYTES: 'lots' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/MAX_UPLOAD_BYTES: .*"lots"/);
  });
});

describe('reads', () => {
  it('lists models with their versions and split', async () => {
    const res = await call('GET', '/models');
    expect(res.status).toBe(200);
    expect(res.body.models).toEqual([
      expect.objectContaining({
        name: 'iris',
        versions: ['1', '2', '3'],
        weights: { '1': 90, '2': 10 },
        aliases: { stable: '1' },
      }),
    ]);
  });

  it('shows one model with metadata summaries, aliases and instances', async () => {
    const res = await call('GET', '/models/iris');
    expect(res.status).toBe(200);
    expect(res.body.versions.map((v: Body) => [v.version, v.weight, v.aliases, v.input_width])).toEqual([
      ['1', 90, ['stable'], 4],
      ['2', 10, [], 4],
      ['3', 0, [], 4],
    ]);
    expect(res.body.versions[0].labels).toEqual(['a', 'b', 'c']);
  });

  it('answers one version with its full metadata', async () => {
    const res = await call('GET', '/models/iris/versions/2');
    expect(res.status).toBe(200);
    expect(res.body.metadata).toMatchObject({ model: 'iris', version: '2', format: 'layers-model' });
  });

  it('answers 404 with an actionable message for unknown models and versions', async () => {
    const m = await call('GET', '/models/nope');
    expect(m.status).toBe(404);
    expect(m.body.error.code).toBe('model_not_found');
    const v = await call('GET', '/models/iris/versions/9');
    expect(v.status).toBe(404);
    expect(v.body.error.message).toMatch(/versions: 1, 2, 3/);
  });

  it('serves the policy with its revision as ETag', async () => {
    const { policy, etag } = await getPolicy();
    expect(etag).toBe(`"${policy.revision}"`);
    expect(policyInputSchema.safeParse(policy).success).toBe(true);
  });

  it.each([
    ['/models/..', 'dot-dot'],
    ['/models/%2e%2e/policy', 'encoded dot-dot'],
    ['/models/..%2f..%2fetc/policy', 'encoded slash'],
    ['/models/a%00b', 'NUL'],
    ['/models/%2Fetc%2Fpasswd', 'absolute path'],
    ['/models/Iris', 'upper case'],
    ['/models/iris/versions/..%2f..%2fpolicy.json', 'version traversal'],
    ['/models/../policy', 'plain traversal'],
  ])('refuses %s (%s) with 400 before touching the file system', async (route) => {
    const res = await raw('GET', route);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_input');
    expect(res.body.error.message).toMatch(/name .* is not allowed/);
  });

  it('pages the audit log and validates paging parameters', async () => {
    const bad = await call('GET', '/models/iris/audit?limit=0');
    expect(bad.status).toBe(400);
    const ok = await call('GET', '/models/iris/audit?limit=2');
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ offset: 0, limit: 2 });
  });
});

describe('auth on writes', () => {
  const put = (headers: Record<string, string>) =>
    call('PUT', '/models/iris/policy', { body: { variants: [{ version: '1', weight: 100 }] }, headers });

  it('answers 401 without a token, saying how to send one', async () => {
    const res = await put({ 'If-Match': '"1"' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/Bearer/);
    expect(res.body.error.message).toMatch(/Authorization: Bearer/);
  });

  it('answers 403 for a wrong token', async () => {
    const res = await put({ 'If-Match': '"1"', Authorization: 'Bearer wrong' });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('forbidden');
  });

  it('refuses every write with a how-to message when no token is configured', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'registry-notoken-'));
    await writeStore(dir, 'iris', ['1']);
    const open = await startService(['registry'], {
      env: { MODEL_STORE: dir, ADMIN_TOKEN: '', ADMIN_TOKENS: '' },
    });
    try {
      const res = await fetch(`${open.url}/models/iris/aliases/x`, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json', Authorization: 'Bearer anything' },
        body: JSON.stringify({ version: '1' }),
      });
      expect(res.status).toBe(403);
      expect(((await res.json()) as Body).error.message).toMatch(/ADMIN_TOKEN=/);
    } finally {
      await open.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('PUT /models/:m/policy', () => {
  it('answers 428 when If-Match is missing', async () => {
    const res = await call('PUT', '/models/iris/policy', {
      body: { variants: [{ version: '1', weight: 100 }] },
      headers: auth,
    });
    expect(res.status).toBe(428);
    expect(res.body.error.code).toBe('precondition_required');
  });

  it('answers 412 with the current revision when If-Match is stale', async () => {
    const { policy } = await getPolicy();
    const res = await call('PUT', '/models/iris/policy', {
      body: { variants: [{ version: '1', weight: 100 }] },
      headers: { ...auth, 'If-Match': `"${policy.revision - 1}"` },
    });
    expect(res.status).toBe(412);
    expect(res.body.error.details).toEqual({ currentRevision: policy.revision });
  });

  it('stores a valid policy, answers the new revision and ETag, and audits who did it', async () => {
    const { policy, etag } = await getPolicy();
    const res = await call('PUT', '/models/iris/policy', {
      body: {
        variants: [
          { version: '1', weight: 70 },
          { version: '2', weight: 30 },
        ],
        sticky: { header: 'x-user-id' },
        shadow: { version: '3', percent: 10 },
        aliases: { stable: '1', canary: '2' },
        failover: false,
      },
      headers: { Authorization: 'Bearer alice-token', 'If-Match': etag },
    });
    expect(res.status).toBe(200);
    expect(res.body.revision).toBe(policy.revision + 1);
    expect(res.headers.get('etag')).toBe(`"${policy.revision + 1}"`);
    const onDisk = JSON.parse(await readFile(path.join(store, 'iris', 'policy.json'), 'utf8'));
    expect(onDisk).toEqual(res.body);
    const audit = await call('GET', '/models/iris/audit?limit=1');
    expect(audit.body.entries[0]).toMatchObject({
      who: 'alice',
      action: 'policy.update',
      after: { revision: policy.revision + 1 },
    });
    expect(JSON.stringify(audit.body)).not.toContain('alice-token');
  });

  it.each([
    [
      'weights not summing to 100',
      {
        variants: [
          { version: '1', weight: 60 },
          { version: '2', weight: 30 },
        ],
      },
      /sum to 90/,
    ],
    [
      'a fractional weight',
      {
        variants: [
          { version: '1', weight: 99.5 },
          { version: '2', weight: 0.5 },
        ],
      },
      /expected int/i,
    ],
    [
      'a negative weight',
      {
        variants: [
          { version: '1', weight: 110 },
          { version: '2', weight: -10 },
        ],
      },
      /variants/,
    ],
    ['a version that does not exist', { variants: [{ version: '7', weight: 100 }] }, /do not exist: 7/],
    [
      'a version listed twice',
      {
        variants: [
          { version: '1', weight: 50 },
          { version: '1', weight: 50 },
        ],
      },
      /listed twice/,
    ],
    ['no variants', { variants: [] }, /variants/],
    [
      'a bad sticky key',
      { variants: [{ version: '1', weight: 100 }], sticky: { header: 'x user' } },
      /header/,
    ],
    [
      'a shadow version that does not exist',
      { variants: [{ version: '1', weight: 100 }], shadow: { version: '9', percent: 5 } },
      /do not exist: 9/,
    ],
    [
      'a shadow percent over 100',
      { variants: [{ version: '1', weight: 100 }], shadow: { version: '3', percent: 150 } },
      /shadow/,
    ],
    [
      'an alias to a missing version',
      { variants: [{ version: '1', weight: 100 }], aliases: { canary: '8' } },
      /do not exist: 8/,
    ],
    [
      'a traversal alias name',
      { variants: [{ version: '1', weight: 100 }], aliases: { '../x': '1' } },
      /aliases/,
    ],
    [
      'failover that is not a boolean',
      { variants: [{ version: '1', weight: 100 }], failover: 'yes' },
      /failover/,
    ],
    ['an unknown field', { variants: [{ version: '1', weight: 100 }], extra: 1 }, /extra|unrecognized/i],
    ['a traversal version', { variants: [{ version: '../../etc', weight: 100 }] }, /version/],
  ])('refuses %s with 400 and leaves policy.json alone', async (_name, body, message) => {
    const before = await readFile(path.join(store, 'iris', 'policy.json'), 'utf8');
    const { etag } = await getPolicy();
    const res = await call('PUT', '/models/iris/policy', { body, headers: { ...auth, 'If-Match': etag } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_input');
    expect(res.body.error.message).toMatch(message);
    expect(await readFile(path.join(store, 'iris', 'policy.json'), 'utf8')).toBe(before);
  });

  it('answers 400 for malformed JSON, 415 for a wrong content type and 400 for a bad If-Match', async () => {
    const { etag } = await getPolicy();
    const broken = await call('PUT', '/models/iris/policy', {
      body: '{"variants": [',
      headers: { ...auth, 'If-Match': etag },
    });
    expect(broken.status).toBe(400);
    expect(broken.body.error.code).toBe('invalid_json');
    const text = await call('PUT', '/models/iris/policy', {
      body: 'hello',
      headers: { ...auth, 'If-Match': etag, 'Content-Type': 'text/plain' },
    });
    expect(text.status).toBe(415);
    const badTag = await call('PUT', '/models/iris/policy', {
      body: { variants: [] },
      headers: { ...auth, 'If-Match': 'latest' },
    });
    expect(badTag.status).toBe(400);
    expect(badTag.body.error.message).toMatch(/If-Match/);
  });

  it('lets exactly one of two concurrent PUTs with the same revision win', async () => {
    const { policy, etag } = await getPolicy();
    const body = (w: number) => ({
      variants: [
        { version: '1', weight: w },
        { version: '2', weight: 100 - w },
      ],
      aliases: policy.aliases,
    });
    for (let round = 0; round < 5; round++) {
      const { etag: current } = await getPolicy();
      const results = await Promise.all(
        [50, 60, 40].map((w) =>
          call('PUT', '/models/iris/policy', { body: body(w), headers: { ...auth, 'If-Match': current } }),
        ),
      );
      expect(results.map((r) => r.status).sort()).toEqual([200, 412, 412]);
    }
    expect((await getPolicy()).policy.revision).toBe(policy.revision + 5);
    expect(etag).toBe(`"${policy.revision}"`);
  });
});

describe('aliases', () => {
  it('moves an alias, answering the policy with a new revision', async () => {
    const { policy } = await getPolicy();
    const res = await call('PUT', '/models/iris/aliases/canary', { body: { version: '3' }, headers: auth });
    expect(res.status).toBe(200);
    expect(res.body.aliases.canary).toBe('3');
    expect(res.body.revision).toBe(policy.revision + 1);
  });

  it('accepts any valid alias name and deletes it again', async () => {
    const set = await call('PUT', '/models/iris/aliases/blue-team', {
      body: { version: '2' },
      headers: auth,
    });
    expect(set.status).toBe(200);
    const del = await call('DELETE', '/models/iris/aliases/blue-team', { headers: auth });
    expect(del.status).toBe(200);
    expect(del.body.aliases['blue-team']).toBeUndefined();
    const again = await call('DELETE', '/models/iris/aliases/blue-team', { headers: auth });
    expect(again.status).toBe(404);
  });

  it('refuses an alias to a missing version (404), a bad body (400), a bad name (400) and a stale If-Match (412)', async () => {
    expect(
      (await call('PUT', '/models/iris/aliases/canary', { body: { version: '42' }, headers: auth })).status,
    ).toBe(404);
    expect(
      (await call('PUT', '/models/iris/aliases/canary', { body: { v: '1' }, headers: auth })).status,
    ).toBe(400);
    expect(
      (await call('PUT', '/models/iris/aliases/canary', { body: { version: '../1' }, headers: auth })).status,
    ).toBe(400);
    expect((await raw('PUT', '/models/iris/aliases/..', { version: '1' })).status).toBe(400);
    expect((await raw('DELETE', '/models/iris/versions/%2e%2e')).status).toBe(400);
    expect((await raw('DELETE', '/models/..%2f..%2ftmp/versions/1')).status).toBe(400);
    expect(
      (
        await call('PUT', '/models/iris/aliases/canary', {
          body: { version: '1' },
          headers: { ...auth, 'If-Match': '"1"' },
        })
      ).status,
    ).toBe(412);
  });
});

describe('uploads', () => {
  it('publishes a good version under the next integer with recomputed sha256 and audits it', async () => {
    const files = await goodUpload('iris');
    const res = await upload('iris', files);
    expect(res.status).toBe(201);
    expect(res.body.version).toBe('4');
    expect(res.body.metadata).toMatchObject({ model: 'iris', version: '4' });
    expect(Object.keys(res.body.metadata.artifacts).sort()).toEqual(['group1-shard1of1.bin', 'model.json']);
    const onDisk = JSON.parse(await readFile(path.join(store, 'iris', '4', 'metadata.json'), 'utf8'));
    expect(onDisk.version).toBe('4');
    const listed = await call('GET', '/models/iris');
    expect(listed.body.versions.map((v: Body) => v.version)).toContain('4');
    const audit = await call('GET', '/models/iris/audit?limit=1');
    expect(audit.body.entries[0]).toMatchObject({ action: 'version.create', version: '4', who: 'admin' });
  });

  it('creates a new model with all traffic on its first version', async () => {
    const res = await upload('wine', await goodUpload('wine'), { version: 'v1' });
    expect(res.status).toBe(201);
    expect(res.body.created_model).toBe(true);
    const { policy } = await getPolicy('wine');
    expect(policy.variants).toEqual([{ version: 'v1', weight: 100 }]);
  });

  it('refuses to overwrite an existing version with 409', async () => {
    const before = await listTree(store);
    const res = await upload('iris', await goodUpload('iris'), { version: '2' });
    expect(res.status).toBe(409);
    expect(await listTree(store)).toEqual(before);
  });

  const rejected: [
    string,
    () => Promise<{ model?: string; files: Map<string, Buffer>; fields?: Record<string, string> }>,
    number,
    RegExp,
  ][] = [
    [
      'a corrupt model.json',
      async () => {
        const files = await goodUpload('iris');
        files.set('model.json', Buffer.from('{"modelTopology": {'));
        return { files };
      },
      400,
      /model.json is not valid JSON/,
    ],
    [
      'a shard of the wrong size',
      async () => {
        const files = await goodUpload('iris');
        files.set('group1-shard1of1.bin', Buffer.alloc(12));
        return { files };
      },
      400,
      /shards hold 12 bytes but model.json describes/,
    ],
    [
      'a missing shard',
      async () => {
        const files = await goodUpload('iris');
        files.delete('group1-shard1of1.bin');
        return { files };
      },
      400,
      /was not uploaded/,
    ],
    [
      'a model TF.js cannot load',
      async () => {
        const files = await goodUpload('iris');
        const json = JSON.parse(files.get('model.json')!.toString());
        json.modelTopology.config.layers[0].class_name = 'NoSuchLayer';
        files.set('model.json', Buffer.from(JSON.stringify(json)));
        return { files };
      },
      400,
      /TF.js cannot load/,
    ],
    [
      'labels that do not match the output width',
      async () => {
        const files = await goodUpload('iris');
        const md = JSON.parse(files.get('metadata.json')!.toString());
        md.outputs[0].labels = ['a', 'b'];
        files.set('metadata.json', Buffer.from(JSON.stringify(md)));
        return { files };
      },
      400,
      /outputs 3 values per row but metadata.json lists 2 labels/,
    ],
    [
      'metadata that misses fields',
      async () => {
        const files = await goodUpload('iris');
        files.set('metadata.json', Buffer.from('{"description": "x"}'));
        return { files };
      },
      400,
      /metadata schema/,
    ],
    [
      'no metadata.json',
      async () => {
        const files = await goodUpload('iris');
        files.delete('metadata.json');
        return { files };
      },
      400,
      /no metadata.json/,
    ],
    [
      'an extra file',
      async () => {
        const files = await goodUpload('iris');
        files.set('notes.txt', Buffer.from('hi'));
        return { files };
      },
      400,
      /not named in model.json/,
    ],
    [
      'a path-traversal file name',
      async () => {
        const files = await goodUpload('iris');
        files.set('../../escape.bin', Buffer.from('x'));
        return { files };
      },
      400,
      /not allowed/,
    ],
    [
      'a path-traversal version',
      async () => ({ files: await goodUpload('iris'), fields: { version: '../../evil' } }),
      400,
      /not allowed/,
    ],
    [
      'a path-traversal model name',
      async () => ({ model: '..%2Fevil', files: await goodUpload('iris') }),
      400,
      /not allowed/,
    ],
    [
      'an oversized body',
      async () => {
        const files = await goodUpload('iris');
        files.set('group1-shard1of1.bin', Buffer.alloc(300_000));
        return { files };
      },
      413,
      /MAX_UPLOAD_BYTES/,
    ],
  ];

  it.each(rejected)('rejects %s, leaving the store unchanged', async (_name, make, status, message) => {
    const before = await listTree(store);
    const { model, files, fields } = await make();
    const res = await fetch(`${registry.url}/models/${model ?? 'iris'}/versions`, {
      method: 'POST',
      headers: auth,
      body: await uploadForm(files, fields),
    });
    const body = (await res.json()) as Body;
    expect(res.status).toBe(status);
    expect(body.error.message).toMatch(message);
    expect(await listTree(store)).toEqual(before);
  });

  it('rejects a non-multipart body with 415 and an unauthenticated upload with 401, after reading its body', async () => {
    const json = await call('POST', '/models/iris/versions', { body: { model: 'x' }, headers: auth });
    expect(json.status).toBe(415);
    expect(json.body.error.message).toMatch(/multipart\/form-data/);
    const big = await goodUpload('iris');
    big.set('group1-shard1of1.bin', Buffer.alloc(150_000));
    const anon = await upload('iris', big, {}, {} as typeof auth);
    expect(anon.status).toBe(401);
    const wrong = await upload('iris', big, {}, { Authorization: 'Bearer nope' });
    expect(wrong.status).toBe(403);
  });
});

describe('deleting versions', () => {
  it('refuses with 409 while the version has weight or an alias', async () => {
    const weighted = await call('DELETE', '/models/iris/versions/1', { headers: auth });
    expect(weighted.status).toBe(409);
    expect(weighted.body.error.message).toMatch(/% of the traffic/);
    await call('PUT', '/models/iris/aliases/old', { body: { version: '4' }, headers: auth });
    const aliased = await call('DELETE', '/models/iris/versions/4', { headers: auth });
    expect(aliased.status).toBe(409);
    expect(aliased.body.error.message).toMatch(/alias old/);
    await call('DELETE', '/models/iris/aliases/old', { headers: auth });
  });

  it('deletes an unused version and it disappears from reads and routes', async () => {
    const res = await call('DELETE', '/models/iris/versions/4', { headers: auth });
    expect(res.status).toBe(200);
    expect((await call('GET', '/models/iris/versions/4')).status).toBe(404);
    const routes = await call('GET', '/routes');
    expect(Object.keys(routes.body.models.iris.versions)).not.toContain('4');
    expect((await listTree(path.join(store, 'iris'))).some((p) => p.startsWith('4'))).toBe(false);
    expect((await call('DELETE', '/models/iris/versions/4', { headers: auth })).status).toBe(404);
  });
});

describe('instances and the routing table', () => {
  const beat = (body: unknown) => call('POST', '/instances', { body, headers: auth });
  let standIn: InstanceStandIn;
  beforeAll(async () => {
    standIn = await startInstanceStandIn('iris');
  });
  afterAll(() => standIn.close());

  it('validates heartbeats and refuses unknown models and versions', async () => {
    expect((await beat({ model: 'iris', version: '1' })).status).toBe(400);
    expect((await beat({ model: 'iris', version: '1', url: 'not a url' })).status).toBe(400);
    expect((await beat({ model: 'iris', version: '1', url: 'file:///etc/passwd' })).status).toBe(400);
    expect((await beat({ model: 'iris', version: '1', url: 'http://x', extra: true })).status).toBe(400);
    expect((await call('POST', '/instances', { body: '{"model":', headers: auth })).status).toBe(400);
    expect((await beat({ model: 'nope', version: '1', url: 'http://127.0.0.1:1' })).status).toBe(404);
    expect((await beat({ model: 'iris', version: '77', url: 'http://127.0.0.1:1' })).status).toBe(404);
  });

  it('routes to a live instance, drops it on ready:false and serves a schema-valid table', async () => {
    const join = await beat({
      model: 'iris',
      version: '2',
      url: standIn.url,
      ready: true,
      backend: 'wasm',
    });
    expect(join.status).toBe(200);
    expect(join.body).toEqual({ ttl_ms: 1500 });
    const routes = await call('GET', '/routes');
    expect(routesSchema.safeParse(routes.body).success).toBe(true);
    expect(routes.body.models.iris.versions['2'].instances).toEqual([standIn.url]);
    expect(standIn.asked).toContain('/v2/models/iris/versions/2/ready');
    expect(routes.body.models.iris.versions['2']).toMatchObject({ input_width: 4, labels: ['a', 'b', 'c'] });
    await beat({ model: 'iris', version: '2', url: standIn.url, ready: false });
    expect((await call('GET', '/routes')).body.models.iris.versions['2'].instances).toEqual([]);
  });

  it('answers 304 for a matching If-None-Match and refuses a bad wait', async () => {
    const first = await call('GET', '/routes');
    const etag = first.headers.get('etag')!;
    expect(etag).toBe(`"${first.body.revision}"`);
    expect((await call('GET', '/routes', { headers: { 'If-None-Match': etag } })).status).toBe(304);
    expect((await call('GET', '/routes?wait=61')).status).toBe(400);
    expect((await call('GET', '/routes?wait=abc')).status).toBe(400);
  });

  it('returns a long-poll within 100 ms of a change', async () => {
    const { headers } = await call('GET', '/routes');
    const etag = headers.get('etag')!;
    const polling = call('GET', '/routes?wait=30', { headers: { 'If-None-Match': etag } }).then((r) => ({
      r,
      at: performance.now(),
    }));
    await new Promise((resolve) => setTimeout(resolve, 300)); // let the poll reach the registry and park
    const set = await call('PUT', '/models/iris/aliases/lp', { body: { version: '2' }, headers: auth });
    const ackedAt = performance.now();
    expect(set.status).toBe(200);
    const { r, at } = await polling;
    expect(r.status).toBe(200);
    expect(r.body.models.iris.policy.aliases.lp).toBe('2');
    // The poll is woken before the write is answered, so it usually arrives first (negative lag).
    expect(at - ackedAt).toBeLessThan(100);
  });

  it('expires an instance that stops heartbeating and wakes long-polls when it goes', async () => {
    expect((await beat({ model: 'iris', version: '1', url: standIn.url })).status).toBe(200);
    const live = await call('GET', '/routes');
    expect(live.body.models.iris.versions['1'].instances).toEqual([standIn.url]);
    const r = await call('GET', '/routes?wait=20', {
      headers: { 'If-None-Match': live.headers.get('etag')! },
    });
    expect(r.status).toBe(200);
    expect(r.body.models.iris.versions['1'].instances).toEqual([]);
    const metrics = await (await fetch(`${registry.url}/metrics`)).text();
    expect(metrics).toMatch(/modelgate_registry_live_instances\{model="iris",version="1"\} 0/);
  });
});

describe('metrics', () => {
  it('exports requests, policy revision, write latency and the routes revision', async () => {
    const text = await (await fetch(`${registry.url}/metrics`)).text();
    expect(text).toMatch(
      /modelgate_registry_requests_total\{route="\/models\/:model\/policy",method="PUT",status="200"\} \d+/,
    );
    expect(text).toMatch(/modelgate_registry_policy_revision\{model="iris"\} \d+/);
    expect(text).toMatch(/modelgate_registry_write_duration_seconds_count\{kind="policy"\} \d+/);
    expect(text).toMatch(/modelgate_registry_routes_revision \d+/);
    expect(text).toMatch(/modelgate_process_resident_memory_bytes/);
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await call('GET', '/nope');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });
});
