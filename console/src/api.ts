/** The console's calls to the registry (same origin). Every answer is read through one function so
 * errors are always the registry's `{"error":{code,message}}`, and the admin token is added here only. */
import { readToken } from './token';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface Answer<T> {
  body: T;
  etag: string | null;
  status: number;
}

export async function call<T>(
  path: string,
  options: {
    method?: string;
    body?: unknown;
    ifMatch?: string;
    signal?: AbortSignal;
    /** Send the admin token on a read too (reads the API guards, like stored predictions). */
    admin?: boolean;
  } = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = readToken();
  const method = options.method ?? 'GET';
  if (token && (method !== 'GET' || options.admin)) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.ifMatch !== undefined) headers['if-match'] = options.ifMatch;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'unreachable', `the registry did not answer (${(err as Error).message})`);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
    throw new ApiError(res.status, e?.code ?? 'http_error', e?.message ?? `HTTP ${res.status}`, e?.details);
  }
  return { body: json as T, etag: res.headers.get('etag'), status: res.status };
}

export const get = async <T>(path: string, signal?: AbortSignal) => (await call<T>(path, { signal })).body;

export const modelPath = (model: string, rest = '') => `/models/${encodeURIComponent(model)}${rest}`;
