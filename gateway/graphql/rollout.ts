/** Rollout status for GraphQL's `rollout(model)`: the registry owns rollouts, so the gateway asks
 * it (GET /models/:m/rollouts/current) rather than keeping a copy. */
import { request } from 'undici';
import { AppError } from '../../common/errors';

export async function fetchRollout(registryUrl: string, model: string): Promise<unknown> {
  const url = `${registryUrl.replace(/\/+$/, '')}/models/${encodeURIComponent(model)}/rollouts/current`;
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(url, { headersTimeout: 5000, bodyTimeout: 5000 });
  } catch (err) {
    throw new AppError(
      'upstream_error',
      `the registry did not answer for the rollout: ${(err as Error).message}`,
    );
  }
  const text = await res.body.text();
  // 404: no rollout is running (or this registry has no rollouts): nothing to report.
  if (res.statusCode === 404) return null;
  if (res.statusCode !== 200) {
    throw new AppError(
      'upstream_error',
      `the registry answered ${res.statusCode} for the rollout: ${text.slice(0, 200)}`,
    );
  }
  return JSON.parse(text) as unknown;
}
