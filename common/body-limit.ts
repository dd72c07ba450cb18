/** Request bodies, read in one place for every service and both gateway paths (the prediction
 * routes on plain node:http and every Express route through `jsonBody` in common/http.ts).
 *
 * body-parser refuses an oversized body, but only after reading it to its end (it drains the stream
 * so the connection stays usable): a client announcing 1 GB that never sends it gets no answer, and a
 * chunked 500 MB body is read in full before its 413. Here a Content-Length over the limit is refused
 * before any body byte is read, a chunked body is counted as it streams and cut off at the limit, and
 * in both cases the connection is closed soon after the answer instead of being drained. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { AppError } from './errors';

/** After an early refusal the client is probably still sending. Closing at once would make it see a
 * reset instead of the answer (a close with unread data sends RST), so for this long, and up to
 * `lingerBytes`, the rest is read and dropped, as nginx's lingering close does. */
const LINGER_MS = 2000;

/** A size as the `bytes` package (body-parser's) reads it: "1mb", "512kb", "100000". */
export function parseByteLimit(limit: string | number, name = 'body limit'): number {
  if (typeof limit === 'number') return limit;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb|pb)?\s*$/i.exec(limit);
  if (!m) throw new Error(`${name} "${limit}" is not a size like 1mb or 512kb`);
  const unit = (m[2] ?? 'b').toLowerCase();
  const power = ['b', 'kb', 'mb', 'gb', 'tb', 'pb'].indexOf(unit);
  return Math.floor(Number(m[1]) * 1024 ** power);
}

export function tooLarge(limitBytes: number, what = 'request body'): AppError {
  return new AppError(
    'payload_too_large',
    `${what} is larger than this endpoint accepts (limit ${limitBytes} bytes)`,
    { limit_bytes: limitBytes },
  );
}

/** The declared Content-Length when it is over the limit, else undefined. */
export function declaredOverLimit(req: IncomingMessage, limitBytes: number): number | undefined {
  const header = req.headers['content-length'];
  if (header === undefined) return undefined;
  const declared = Number(header);
  return Number.isFinite(declared) && declared > limitBytes ? declared : undefined;
}

/** Once the answer is out, reads and drops what the client still sends, for LINGER_MS and up to
 * `lingerBytes`, then closes the connection. A body that ends within both leaves the connection
 * usable. `Connection: close` is not sent: Node would then destroy the socket as soon as the answer is
 * written, with the body unread, and the client would see a reset rather than the answer. */
export function closeAfterAnswer(req: IncomingMessage, res: ServerResponse, lingerBytes: number): void {
  const socket = req.socket;
  const linger = () => {
    if (req.complete) return;
    let dropped = 0;
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    const stop = () => clearTimeout(timer);
    req.on('data', (chunk: Buffer) => {
      dropped += chunk.length;
      if (dropped > lingerBytes) socket.destroy();
    });
    req.once('end', stop);
    socket.once('close', stop);
    req.resume();
  };
  if (res.writableFinished) linger();
  else res.once('finish', linger);
  res.once('close', () => {
    if (!res.writableFinished) socket.destroy();
  });
}

/** What the linger after a refusal may read: an honest client slightly over the limit still sees
 * its 413 (not a reset), while a huge or endless body is cut off. */
export function lingerBytesFor(limitBytes: number): number {
  return Math.min(64 * 1024 * 1024, Math.max(1024 * 1024, 4 * limitBytes));
}

export interface ReadBodyOptions {
  req: IncomingMessage;
  res: ServerResponse;
  limitBytes: number;
}

/** Reads the whole body, decompressing gzip, deflate or br, and counting decompressed bytes against
 * the limit too (a small compressed body may inflate to gigabytes). Rejects with 413 before reading
 * when Content-Length is over the limit, or as soon as the count passes it; either way the connection
 * is closed after the answer. Rejects with 400 when the client goes away, 415 for another encoding. */
export function readBody({ req, res, limitBytes }: ReadBodyOptions): Promise<Buffer> {
  if (declaredOverLimit(req, limitBytes) !== undefined) {
    closeAfterAnswer(req, res, lingerBytesFor(limitBytes));
    return Promise.reject(tooLarge(limitBytes));
  }
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase().trim();
  const inflate =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? createGunzip()
      : encoding === 'deflate'
        ? createInflate()
        : encoding === 'br'
          ? createBrotliDecompress()
          : undefined;
  if (inflate === undefined && encoding !== 'identity') {
    return Promise.reject(
      new AppError(
        'unsupported_media_type',
        `Content-Encoding "${encoding}" is not supported; send identity, gzip, deflate or br`,
      ),
    );
  }
  return new Promise((resolve, reject) => {
    // Most bodies arrive in one chunk: that chunk is the body, without the copy Buffer.concat makes.
    let first: Buffer | undefined;
    let chunks: Buffer[] | undefined;
    let wireBytes = 0;
    let bodyBytes = 0;
    let settled = false;
    const settle = (err: AppError | undefined) => {
      if (settled) return;
      settled = true;
      req.off('data', onWire);
      req.off('data', onBody);
      if (inflate) {
        req.unpipe(inflate);
        inflate.destroy();
      }
      if (err === undefined)
        return resolve(chunks ? Buffer.concat(chunks, bodyBytes) : (first ?? Buffer.alloc(0)));
      if (err.status === 413) {
        // Stop reading now; the linger after the answer drains only a little more.
        req.pause();
        closeAfterAnswer(req, res, lingerBytesFor(limitBytes));
      }
      reject(err);
    };
    const onBody = (chunk: Buffer) => {
      bodyBytes += chunk.length;
      if (bodyBytes > limitBytes) return settle(tooLarge(limitBytes));
      if (first === undefined) first = chunk;
      else if (chunks === undefined) chunks = [first, chunk];
      else chunks.push(chunk);
    };
    const onWire = (chunk: Buffer) => {
      wireBytes += chunk.length;
      if (wireBytes > limitBytes) settle(tooLarge(limitBytes));
    };
    const aborted = () =>
      settle(new AppError('invalid_input', 'request was aborted by the client before its body ended'));
    req.on('aborted', aborted);
    req.on('error', aborted);
    if (inflate) {
      req.on('data', onWire);
      inflate.on('data', onBody);
      inflate.on('end', () => settle(undefined));
      inflate.on('error', (err) =>
        settle(new AppError('invalid_input', `request body is not valid ${encoding}: ${err.message}`)),
      );
      req.pipe(inflate);
    } else {
      req.on('data', onBody);
      req.on('end', () => settle(undefined));
    }
  });
}

/** A JSON body with the checks express.json makes, as AppErrors: no body 400, another media type or
 * charset 415, over the limit 413, unparsable 400. `raw` is the body as received (decompressed,
 * without a byte order mark), for routes that forward it unchanged. */
export async function readJsonBody(options: ReadBodyOptions): Promise<{ raw: Buffer; json: unknown }> {
  const h = options.req.headers;
  if (
    (h['content-length'] === undefined || h['content-length'] === '0') &&
    h['transfer-encoding'] === undefined
  ) {
    throw new AppError('invalid_input', 'request body is empty; send a JSON object');
  }
  checkJsonType(h['content-type']);
  let raw = await readBody(options);
  // JSON text may start with a UTF-8 byte order mark (RFC 8259 §8.1 lets a parser ignore it).
  if (raw.length >= 3 && raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf) raw = raw.subarray(3);
  try {
    return { raw, json: JSON.parse(raw.toString('utf8')) as unknown };
  } catch (err) {
    throw new AppError('invalid_json', `request body is not valid JSON: ${(err as Error).message}`);
  }
}

/** The spellings clients send, looked up before anything is parsed. */
const JSON_TYPES = new Set([
  'application/json',
  'application/json; charset=utf-8',
  'application/json;charset=utf-8',
  'application/json; charset=UTF-8',
]);
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)"?/i;

function checkJsonType(type: string | undefined): void {
  if (type !== undefined && JSON_TYPES.has(type)) return;
  const media = (type ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (media !== 'application/json') {
    throw new AppError(
      'unsupported_media_type',
      `Content-Type must be application/json, got "${type ?? 'none'}"`,
    );
  }
  const charset = CHARSET.exec(type ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new AppError('unsupported_media_type', `charset "${charset}" is not supported; send UTF-8 JSON`);
  }
}
