/** Before a new instance joins routing, the registry asks it to prove it serves what it claims: its
 * OIP v2 per-version readiness route must answer 200 naming the model. A heartbeat token alone
 * would let anyone holding it point a version at any URL; this also catches a model-server started
 * with the wrong --version or a stale PUBLIC_URL. Asked once per new (model, version, url), not on
 * every heartbeat. */
import { request } from 'undici';
import { AppError } from '../common/errors';
import type { Heartbeat } from '../common/wire';

export type VerifyInstance = (beat: Heartbeat) => Promise<void>;

export function httpInstanceVerifier(timeoutMs: number): VerifyInstance {
  return async function verifyInstance(beat) {
    const base = beat.url.replace(/\/+$/, '');
    const probe = `${base}/v2/models/${encodeURIComponent(beat.model)}/versions/${encodeURIComponent(beat.version)}/ready`;
    let status: number;
    let body: unknown;
    try {
      // undici's request() follows no redirects, so the proof comes from this URL itself.
      const res = await request(probe, { method: 'GET', headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
      status = res.statusCode;
      const text = await res.body.text();
      body = text.length <= 4096 ? safeJson(text) : undefined;
    } catch (err) {
      throw new AppError(
        'instance_unverified',
        `the registry could not reach ${probe} to verify this instance (${(err as Error).message}); PUBLIC_URL must be an address the registry can reach`,
      );
    }
    const name = (body as { name?: unknown } | undefined)?.name;
    if (status !== 200 || name !== beat.model) {
      throw new AppError(
        'instance_unverified',
        `${probe} answered ${status}${name === undefined ? '' : ` for model ${JSON.stringify(name)}`}, so the URL does not serve ${beat.model} version ${beat.version} ready; the registry only routes to instances that do`,
      );
    }
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
