/** Time-ordered request ids: UUID version 7 (RFC 9562 §5.7), 48 bits of Unix milliseconds, then
 * random bits. Why not `randomUUID()` (version 4): every request id goes into the evidence store's
 * `predictions_request` index, and random keys land on random B-tree pages. Once that index
 * outgrows SQLite's page cache, each insert touches a page no other recent insert touched; measured
 * here, the writer's cost grew from 25 to 44 µs per row over 400 000 rows, against a flat 13 µs for
 * time-ordered keys, which always append at the index's right edge (PostgreSQL's B-tree the same).
 *
 * Stateless (no counter): ids of one millisecond are in random order among themselves, which RFC
 * 9562 allows and costs nothing for locality. The random part is a version 4 UUID's, so the 74
 * random bits come from the same CSPRNG as before. */
import { randomUUID } from 'node:crypto';

export function uuidV7(nowMs: number = Date.now()): string {
  const ms = Math.max(0, Math.min(Math.floor(nowMs), 0xffff_ffff_ffff));
  const hex = ms.toString(16).padStart(12, '0');
  // randomUUID: xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx, V in 8..b (the RFC variant). Keep from the
  // version digit's successor on; the variant bits are already right.
  const random = randomUUID();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${random.slice(15)}`;
}
