/** Secret comparison for tokens and API keys. Both sides go through sha256 before timingSafeEqual,
 * so the time taken reveals neither the secret's content nor its length (comparing raw buffers
 * must return early on a length mismatch). */
import { createHash, timingSafeEqual } from 'node:crypto';

export const secretDigest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** True when `given` equals one of `known`; every digest is compared, matched or not. */
export function matchesSecret(known: readonly Buffer[], given: string): boolean {
  const digest = secretDigest(given);
  let found = false;
  for (const k of known) if (timingSafeEqual(k, digest)) found = true;
  return found;
}
