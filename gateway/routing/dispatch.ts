/** Sends one request to the chosen version, failing over across instances and then variants when a
 * breaker is open, an instance is gone, it times out or it answers 5xx. Predictions are idempotent,
 * so trying the next upstream is safe; what the caller sees is one answer or one clear error. */
import { AppError } from '../../common/errors';
import { UpstreamFailure } from '../upstream/breakers';
import type { UpstreamRequest, UpstreamResponse } from '../upstream/pool';
import { candidates, liveUpstreams, type ModelRoute, type VersionRoute } from './route-state';

export interface Dispatched {
  version: VersionRoute;
  response: UpstreamResponse;
  /** Set when another version than the chosen one answered. */
  failoverFrom?: string;
}

export interface DispatchOptions {
  allowFailover: boolean;
  /** Builds the upstream request for a version (the path names the version). */
  request(version: VersionRoute): UpstreamRequest;
  /** Versions whose input does not fit the request are skipped as failover targets. */
  accepts?(version: VersionRoute): boolean;
  observeUpstream?(version: VersionRoute, seconds: number): void;
  now(): number;
  retryAfterSeconds: number;
}

export async function dispatch(
  model: ModelRoute,
  chosen: string,
  options: DispatchOptions,
): Promise<Dispatched> {
  let lastFailure: UpstreamFailure | undefined;
  const tried: string[] = [];
  const names = candidates(model, chosen, options.allowFailover).filter((name) => {
    const version = model.versions.get(name);
    return version !== undefined && (name === chosen || !options.accepts || options.accepts(version));
  });
  for (const [n, name] of names.entries()) {
    // A full queue or concurrency limit is shed, not moved onto another version: that would
    // overload it in turn and skew the experiment. Other instances of the version were tried.
    if (lastFailure?.kind === 'overloaded' || lastFailure?.kind === 'full') break;
    const version = model.versions.get(name)!;
    tried.push(name);
    const upstreams = liveUpstreams(version);
    for (const [u, upstream] of upstreams.entries()) {
      // The short, latency-derived deadline is there to try elsewhere sooner; on the last attempt
      // there is nowhere else, and a slow answer beats a 504.
      const lastResort = n === names.length - 1 && u === upstreams.length - 1;
      const startedAt = options.now();
      try {
        const response = await upstream.call(options.request(version), { lastResort });
        options.observeUpstream?.(version, (options.now() - startedAt) / 1000);
        return name === chosen ? { version, response } : { version, response, failoverFrom: chosen };
      } catch (err) {
        if (!(err instanceof UpstreamFailure)) throw err;
        if (err.kind !== 'open' && err.kind !== 'full') {
          options.observeUpstream?.(version, (options.now() - startedAt) / 1000);
        }
        // An open-breaker rejection says nothing new; keep the more telling earlier failure.
        if (err.kind !== 'open' || lastFailure === undefined) lastFailure = err;
      }
    }
  }
  throw toError(model.name, chosen, tried, lastFailure, options.retryAfterSeconds);
}

function toError(
  model: string,
  chosen: string,
  tried: string[],
  failure: UpstreamFailure | undefined,
  retryAfterSeconds: number,
): AppError {
  const retry = { 'Retry-After': String(retryAfterSeconds) };
  const where = `model "${model}" version${tried.length > 1 ? 's' : ''} ${tried.map((v) => `"${v}"`).join(', ')}`;
  if (failure?.kind === 'timeout') {
    return new AppError('upstream_timeout', `${where} did not answer in time`, { chosen, tried });
  }
  if (failure?.kind === 'overloaded' && failure.response) {
    const upstreamMessage = errorMessageOf(failure.response.body);
    const after = failure.response.headers['retry-after'];
    return new AppError(
      'overloaded',
      `${where} is overloaded${upstreamMessage ? `: ${upstreamMessage}` : ''}`,
      { chosen, tried },
      { 'Retry-After': typeof after === 'string' ? after : String(retryAfterSeconds) },
    );
  }
  if (failure?.kind === 'full') {
    return new AppError(
      'overloaded',
      `${where} is at this gateway's concurrency limit for its instances; retry after 1 s`,
      { chosen, tried },
      { 'Retry-After': '1' },
    );
  }
  if (failure?.kind === 'status' && failure.response) {
    const status = failure.response.status;
    const upstreamMessage = errorMessageOf(failure.response.body);
    return new AppError(
      'upstream_error',
      `${where} failed with ${status}${upstreamMessage ? `: ${upstreamMessage}` : ''}`,
      { chosen, tried },
    );
  }
  return new AppError(
    'no_healthy_upstream',
    `no healthy instance of ${where}: circuit open or no live instance; retry later`,
    { chosen, tried },
    retry,
  );
}

/** The model-server's `{"error": "..."}` or modelgate's `{"error": {"message"}}`, else nothing. */
export function errorMessageOf(body: Buffer): string | undefined {
  try {
    const json = JSON.parse(body.toString('utf8')) as { error?: unknown };
    if (typeof json.error === 'string') return json.error;
    const nested = json.error as { message?: unknown } | undefined;
    if (nested && typeof nested.message === 'string') return nested.message;
  } catch {
    // not JSON: nothing to add
  }
  return undefined;
}
