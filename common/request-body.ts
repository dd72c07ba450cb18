/** Reads a request body on plain `node:http` with the limit applied as bytes arrive: a
 * Content-Length over the limit is refused before any byte is read, a chunked or compressed body is
 * counted as it streams and cut off at the limit. The answer to a refused body carries
 * `Connection: close`, so Node drops the socket instead of draining what the client still sends. */
import type { IncomingMessage } from 'node:http';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { AppError } from './errors';

const DIGITS = /^[0-9]{1,15}$/;
const CLOSE = { Connection: 'close' };

function tooLarge(limitBytes: number): AppError {
  return new AppError(
    'payload_too_large',
    `request body is larger than this endpoint accepts (${limitBytes} bytes)`,
    { limit_bytes: limitBytes },
    CLOSE,
  );
}

function decoderFor(encoding: string | undefined) {
  switch ((encoding ?? 'identity').trim().toLowerCase()) {
    case 'identity':
      return undefined;
    case 'gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    default:
      throw new AppError(
        'unsupported_media_type',
        `Content-Encoding "${encoding}" is not supported; send identity, gzip, deflate or br`,
        undefined,
        CLOSE,
      );
  }
}

/** The whole body, at most `limitBytes` (after decompression), or the AppError to answer. */
export function readRequestBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const lengthHeader = req.headers['content-length'];
  if (lengthHeader !== undefined && DIGITS.test(lengthHeader) && Number(lengthHeader) > limitBytes) {
    return Promise.reject(tooLarge(limitBytes));
  }
  let decoder: ReturnType<typeof decoderFor>;
  try {
    decoder = decoderFor(req.headers['content-encoding']);
  } catch (err) {
    return Promise.reject(err);
  }
  const source: NodeJS.ReadableStream = decoder ? req.pipe(decoder) : req;
  return new Promise((resolve, reject) => {
    let first: Buffer | undefined;
    let chunks: Buffer[] | undefined;
    let received = 0;
    let settled = false;
    const fail = (err: AppError) => {
      if (settled) return;
      settled = true;
      source.removeAllListeners('data');
      req.unpipe();
      decoder?.destroy();
      reject(err);
    };
    source.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > limitBytes) return fail(tooLarge(limitBytes));
      if (first === undefined) first = chunk;
      else {
        if (chunks === undefined) chunks = [first];
        chunks.push(chunk);
      }
    });
    source.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(chunks ? Buffer.concat(chunks, received) : (first ?? Buffer.alloc(0)));
    });
    source.on('error', () =>
      fail(
        decoder
          ? new AppError(
              'invalid_input',
              'request body is not valid for its Content-Encoding',
              undefined,
              CLOSE,
            )
          : new AppError('invalid_input', 'request was aborted by the client'),
      ),
    );
    req.on('aborted', () => fail(new AppError('invalid_input', 'request was aborted by the client')));
  });
}

/** A size as the `bytes` package (body-parser's) reads it: "1mb", "512kb", "100000". */
export function parseByteLimit(limit: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb|pb)?\s*$/i.exec(limit);
  if (!m) throw new Error(`BODY_LIMIT "${limit}" is not a size like 1mb or 512kb`);
  const unit = (m[2] ?? 'b').toLowerCase();
  const power = ['b', 'kb', 'mb', 'gb', 'tb', 'pb'].indexOf(unit);
  return Math.floor(Number(m[1]) * 1024 ** power);
}

/** A JSON body on plain node:http with the checks express.json makes, as AppErrors: no body 400,
 * another media type or charset 415, over the limit 413, unparsable 400. `raw` is the body as
 * received (decompressed, without a byte order mark), for routes that forward it unchanged. */
export async function readJsonBody(
  req: IncomingMessage,
  limitBytes: number,
): Promise<{ raw: Buffer; json: unknown }> {
  const h = req.headers;
  if (
    (h['content-length'] === undefined || h['content-length'] === '0') &&
    h['transfer-encoding'] === undefined
  ) {
    throw new AppError('invalid_input', 'request body is empty; send a JSON object');
  }
  checkJsonType(h['content-type']);
  let raw = await readRequestBody(req, limitBytes);
  // JSON text may start with a UTF-8 byte order mark (RFC 8259 §8.1 lets a parser ignore it).
  if (raw.length >= 3 && raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf) raw = raw.subarray(3);
  try {
    return { raw, json: JSON.parse(raw.toString('utf8')) as unknown };
  } catch (err) {
    throw new AppError('invalid_json', `request body is not valid JSON: ${(err as Error).message}`);
  }
}

const JSON_TYPES = new Set([
  'application/json',
  'application/json; charset=utf-8',
  'application/json;charset=utf-8',
  'application/json; charset=UTF-8',
]);

function checkJsonType(type: string | undefined): void {
  if (type !== undefined && JSON_TYPES.has(type)) return;
  const [media, ...params] = (type ?? '').split(';');
  if (media?.trim().toLowerCase() !== 'application/json') {
    throw new AppError(
      'unsupported_media_type',
      `Content-Type must be application/json, got "${type ?? 'none'}"`,
    );
  }
  for (const p of params) {
    const [name, value] = p.split('=').map((s) => s.trim().toLowerCase().replace(/^"|"$/g, ''));
    if (name === 'charset' && value !== 'utf-8' && value !== 'utf8') {
      throw new AppError(
        'unsupported_media_type',
        `unsupported charset "${value?.toUpperCase()}"; send UTF-8`,
      );
    }
  }
}
