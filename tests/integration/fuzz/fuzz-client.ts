/** Arbitrary requests for the fuzz tests, sent with node:http so odd methods, paths, headers and
 * bodies reach the server as written (fetch would normalise or refuse many of them), plus a raw
 * socket for bytes no HTTP client would send. */
import http from 'node:http';
import net from 'node:net';
import fc from 'fast-check';

export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

export interface FuzzAnswer {
  status: number;
  contentType: string;
  body: string;
}

/** Sends one request; resolves undefined when the client itself refuses it (e.g. an invalid path
 * character), which is then not a server behaviour to judge. */
export function send(baseUrl: string, req: FuzzRequest, timeoutMs = 15_000): Promise<FuzzAnswer | undefined> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    let request: http.ClientRequest;
    try {
      request = http.request(
        {
          host: url.hostname,
          port: url.port,
          method: req.method,
          path: req.path,
          // node:http sends a DELETE or OPTIONS body with neither length nor chunking, which is not
          // HTTP; an explicit length keeps the fuzzing about what servers do with valid framing.
          headers:
            req.body === undefined
              ? req.headers
              : { ...req.headers, 'content-length': String(Buffer.byteLength(req.body)) },
          agent: false,
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              contentType: String(res.headers['content-type'] ?? ''),
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        },
      );
    } catch {
      return resolve(undefined);
    }
    request.on('timeout', () =>
      request.destroy(new Error(`${req.method} ${req.path} got no answer in ${timeoutMs} ms`)),
    );
    request.on('error', (err: NodeJS.ErrnoException) => {
      // The server may close the socket on a body it refuses before reading it (413): the answer
      // was sent, but the client saw EPIPE/ECONNRESET while still writing.
      if (err.code === 'EPIPE' || err.code === 'ECONNRESET')
        resolve({ status: 0, contentType: '', body: err.code });
      else if (err.code === 'ERR_INVALID_CHAR' || err.code === 'ERR_INVALID_HTTP_TOKEN') resolve(undefined);
      else reject(err);
    });
    if (req.body !== undefined) request.end(req.body);
    else request.end();
  });
}

/** Writes raw bytes and returns the status of the first response line (0 when the server just
 * closed the connection, which is a legitimate answer to garbage). */
export function sendRaw(baseUrl: string, bytes: string, timeoutMs = 10_000): Promise<number> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname);
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      // Silence is what a server does with an incomplete request; it must not be a crash.
      resolve(-1);
    }, timeoutMs);
    socket.on('data', (c) => {
      data += c.toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(data);
      if (m) {
        clearTimeout(timer);
        socket.destroy();
        resolve(Number(m[1]));
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') resolve(0);
      else reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(0);
    });
    socket.write(bytes, 'latin1');
  });
}

// ---------- arbitraries ----------

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];

/** Names that must never reach the file system unchecked. */
export const hostileName = fc.constantFrom(
  '..',
  '.',
  '%2e%2e',
  '..%2f..%2ffuzzescape',
  '%2e%2e%2f%2e%2e%2ffuzzescape',
  'fuzzescape%00',
  'UPPER',
  'a'.repeat(300),
  '%F0%9F%92%A5',
  '%',
  '%zz',
  ' ',
  'penguins;rm',
  '-1',
  '0',
  '1e309',
);

const name = (valid: string[]) =>
  fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...valid) }, hostileName, fc.string());

/** A route as `METHOD /path/:m/:v` (placeholders `:m`, `:v`, `:l` for model, version, label). */
export type Route = string;

/** Picks a route and mostly its own method, filling placeholders with valid and hostile names. */
export function routeArb(
  routes: Route[],
  models: string[],
  versions: string[],
): fc.Arbitrary<{ method: string; path: string }> {
  const filled = fc
    .record({
      route: fc.constantFrom(...routes),
      otherMethod: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, fc.constantFrom(...METHODS)),
      m: name(models),
      v: name(versions),
      l: name(['stable', 'canary']),
      query: fc.oneof(
        { weight: 4, arbitrary: fc.constant('') },
        fc.constantFrom('?wait=1', '?wait=-5', '?wait=abc', '?x=%', '?a[b]=1&a[c]=2', `?${'q='.repeat(200)}`),
      ),
    })
    .map(({ route, otherMethod, m, v, l, query }) => {
      const [method, template] = route.split(' ') as [string, string];
      return {
        method: otherMethod ?? method,
        path:
          template
            .replace(':m', encodeURIComponentLoose(m))
            .replace(':v', encodeURIComponentLoose(v))
            .replace(':l', encodeURIComponentLoose(l)) + query,
      };
    });
  const odd = fc.record({
    method: fc.constantFrom(...METHODS),
    path: fc.oneof(
      fc.webPath(),
      fc.constantFrom(
        '//',
        '/%',
        '/%00',
        '/..',
        '/../../etc/passwd',
        '/%2e%2e/%2e%2e/',
        `/${'x/'.repeat(500)}`,
        '/*',
        '/?',
      ),
    ),
  });
  return fc.oneof({ weight: 12, arbitrary: filled }, { weight: 1, arbitrary: odd });
}

/** Percent-encodes what would break the request line but keeps pre-encoded hostile names as is. */
function encodeURIComponentLoose(s: string): string {
  return /^[\x21-\x7e]*$/.test(s) && !s.includes('/') && !s.includes('?') && !s.includes('#')
    ? s
    : encodeURIComponent(s);
}

const number = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(0, -0, 1e308, -1e308, Number.MAX_SAFE_INTEGER, 0.5),
);
const junk = fc.oneof(
  fc.string(),
  fc.constant(null),
  fc.boolean(),
  number,
  fc.array(fc.string(), { maxLength: 3 }),
);

/** Bodies shaped like each protocol's, with wrong types, shapes and datatypes mixed in. */
export function bodyArb(width: number): fc.Arbitrary<unknown> {
  const row = fc.oneof(
    { weight: 3, arbitrary: fc.array(number, { minLength: width, maxLength: width }) },
    fc.array(number, { maxLength: width * 2 }),
    fc.array(junk, { maxLength: 10 }),
    junk,
  );
  const oip = fc.record(
    {
      id: fc.oneof(fc.string(), junk),
      inputs: fc.oneof(
        fc.array(
          fc.record(
            {
              name: fc.oneof(fc.constant('input'), junk),
              shape: fc.oneof(
                fc.constant([1, width]),
                fc.array(fc.integer({ min: -3, max: 1_000_000 }), { maxLength: 5 }),
                junk,
              ),
              datatype: fc.oneof(
                fc.constantFrom('FP32', 'FP64', 'INT32', 'INT64', 'BYTES', 'BOOL', 'fp32'),
                junk,
              ),
              data: fc.oneof(row, fc.array(row, { maxLength: 3 }), junk),
              parameters: fc.oneof(fc.dictionary(fc.string(), junk), junk),
            },
            { requiredKeys: [] },
          ),
          { maxLength: 3 },
        ),
        junk,
      ),
      outputs: fc.oneof(fc.array(fc.record({ name: fc.string() })), junk),
    },
    { requiredKeys: [] },
  );
  const predict = fc.record(
    { model: fc.oneof(fc.constant('penguins'), junk), features: row, user_id: junk },
    { requiredKeys: [] },
  );
  const batch = fc.record(
    { instances: fc.oneof(fc.array(row, { maxLength: 5 }), junk), model: junk },
    { requiredKeys: [] },
  );
  const tfServing = fc.record(
    {
      instances: fc.oneof(fc.array(row, { maxLength: 3 }), junk),
      inputs: fc.oneof(row, junk),
      signature_name: junk,
    },
    { requiredKeys: [] },
  );
  const policy = fc.record(
    {
      variants: fc.oneof(
        fc.array(
          fc.record({
            version: fc.oneof(fc.constantFrom('1', '2'), hostileName, junk),
            weight: fc.oneof(fc.integer({ min: -10, max: 110 }), junk),
          }),
          { maxLength: 4 },
        ),
        junk,
      ),
      sticky: fc.oneof(fc.record({ header: fc.oneof(fc.string(), junk) }), junk),
      shadow: fc.oneof(fc.record({ version: fc.string(), percent: number }), junk),
      aliases: fc.oneof(fc.dictionary(fc.string(), fc.string()), junk),
      failover: junk,
      revision: junk,
    },
    { requiredKeys: [] },
  );
  const heartbeat = fc.record(
    {
      model: fc.oneof(fc.constant('penguins'), hostileName),
      version: fc.oneof(fc.constant('9'), hostileName),
      url: fc.oneof(fc.webUrl(), junk),
      ready: junk,
    },
    { requiredKeys: [] },
  );
  const feedback = fc.record({ request_id: junk, label: junk }, { requiredKeys: [] });
  return fc.oneof(oip, predict, batch, tfServing, policy, heartbeat, feedback, fc.jsonValue({ maxDepth: 4 }));
}

export interface RequestArbOptions {
  routes: Route[];
  models: string[];
  versions: string[];
  width: number;
  adminToken?: string;
}

export function requestArb(o: RequestArbOptions): fc.Arbitrary<FuzzRequest> {
  const contentType = fc.constantFrom(
    'application/json',
    'application/json',
    'application/json',
    'application/json',
    'application/json',
    'application/json; charset=utf-8',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=xyz',
    'multipart/form-data',
    'application/octet-stream',
    '*/*',
    ';;;',
  );
  const auth = fc.constantFrom(
    ...(o.adminToken ? [`Bearer ${o.adminToken}`, `Bearer ${o.adminToken}`] : []),
    'Bearer wrong',
    'Bearer ',
    'Basic Zm9vOmJhcg==',
    'garbage',
  );
  const headers = fc.record(
    {
      'content-type': fc.oneof({ weight: 4, arbitrary: fc.constant('application/json') }, contentType),
      authorization: auth,
      'x-request-id': fc.string({ maxLength: 200 }),
      'x-model-version': fc.oneof(fc.constantFrom('1', '2', '99'), hostileName),
      'x-model-label': fc.oneof(fc.constantFrom('stable', 'canary'), fc.string()),
      'x-user-id': fc.string({ maxLength: 300 }),
      'x-api-key': fc.string(),
      'if-match': fc.constantFrom('"1"', '"999"', '*', 'W/"1"', 'junk', ''),
      accept: fc.constantFrom('application/json', 'text/html', '*/*', 'image/png'),
    },
    { requiredKeys: ['content-type'] },
  );
  const body = fc.oneof(
    { weight: 5, arbitrary: bodyArb(o.width).map((b) => JSON.stringify(b)) },
    { weight: 1, arbitrary: fc.string() },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '{',
        '[1,2',
        '{"a":}',
        'null',
        '""',
        '\u0000',
        '{"__proto__":{"polluted":true}}',
        '{"constructor":{"prototype":{"x":1}}}',
      ),
    },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
  return fc
    .record({ target: routeArb(o.routes, o.models, o.versions), headers, body })
    .map(({ target: { method, path }, headers, body }) => {
      // Keep only header values node:http accepts; header injection is the raw-socket test's job.
      const clean = Object.fromEntries(
        Object.entries(headers).filter(([, v]) => /^[\t\x20-\x7e]*$/.test(v as string)),
      ) as Record<string, string>;
      return { method, path, headers: clean, body: method === 'GET' || method === 'HEAD' ? undefined : body };
    });
}

/** Raw request bytes: broken request lines, header injection, conflicting lengths, odd encodings. */
export const rawArb = fc.oneof(
  fc.constantFrom(
    'GARBAGE\r\n\r\n',
    'GET / HTTP/9.9\r\n\r\n',
    'GET /health HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0000b\r\n\r\n',
    'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nContent-Length: 20\r\n\r\n{}',
    'POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n',
    'POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n',
    'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n',
    'GET /health HTTP/1.1\r\nHost: x\r\nX-Request-Id: a\r\n b\r\n\r\n',
    `GET /${'a'.repeat(70_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`,
    'GET /health HTTP/1.1\r\nHost: x\r\nContent-Type: application/json; charset=utf-7\r\n\r\n',
  ),
  fc
    .tuple(fc.constantFrom('GET', 'POST', 'PUT'), fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 }))
    .map(([m, h, v]) => `${m} /health HTTP/1.1\r\nHost: x\r\n${h}: ${v}\r\nContent-Length: 0\r\n\r\n`),
);

/** Checks one answer against the contract: no 5xx, and an error a person can act on. */
export function assertAnswer(req: FuzzRequest, answer: FuzzAnswer): void {
  const where = `${req.method} ${req.path} ${JSON.stringify(req.headers)} ${String(req.body ?? '').slice(0, 200)} → ${answer.status} ${answer.body.slice(0, 300)}`;
  if (answer.status >= 500) throw new Error(`server error: ${where}`);
  if (answer.status >= 400 && req.method !== 'HEAD') {
    if (!answer.contentType.includes('json'))
      throw new Error(`error answer is not JSON (${answer.contentType}): ${where}`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(answer.body);
    } catch {
      throw new Error(`error body is not JSON although labelled so: ${where}`);
    }
    const error = (parsed as { error?: unknown }).error;
    const message = typeof error === 'string' ? error : (error as { message?: unknown } | undefined)?.message;
    if (typeof message !== 'string' || message.length === 0)
      throw new Error(`error without a message: ${where}`);
    if (/\bat .+\.(js|ts):\d+/.test(answer.body)) throw new Error(`stack trace in response: ${where}`);
  }
}
