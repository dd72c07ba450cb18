/** audit.jsonl: one line per change to a model (who, when, before, after), appended and fsynced
 * before the change is acknowledged. Who is a token's name, never the token. */
import { readFile } from 'node:fs/promises';
import { appendDurable } from './store/atomic-file';
import { auditFile } from './store/paths';

export type AuditAction =
  | 'model.create'
  | 'policy.update'
  | 'alias.set'
  | 'alias.delete'
  | 'version.create'
  | 'version.delete'
  | 'policy.recovered'
  | 'rollout.transition'
  | 'experiment.start'
  | 'experiment.stop';

export interface AuditEntry {
  at: string;
  who: string;
  action: AuditAction;
  model: string;
  version?: string;
  request_id?: string;
  before: unknown;
  after: unknown;
  /** Rollout transitions and experiment stops: the reason in words (and, for rollouts, the evidence
   * it was decided on). */
  why?: string;
  evidence?: unknown;
}

export async function appendAudit(root: string, entry: AuditEntry): Promise<void> {
  await appendDurable(auditFile(root, entry.model), JSON.stringify(entry));
}

/** Every parseable line, oldest first. A line that does not parse (only possible after a power cut
 * tore the unacknowledged tail) is skipped rather than failing the whole log. */
export async function readAudit(root: string, model: string): Promise<AuditEntry[]> {
  let raw: string;
  try {
    raw = await readFile(auditFile(root, model), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const entries: AuditEntry[] = [];
  for (const line of raw.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const entry = JSON.parse(line) as AuditEntry & { requestId?: string };
      // Lines written before the wire moved to snake_case carry `requestId`.
      if (entry.requestId !== undefined) {
        entry.request_id ??= entry.requestId;
        delete entry.requestId;
      }
      entries.push(entry);
    } catch {
      // torn tail, see above
    }
  }
  return entries;
}

export interface AuditPage {
  entries: AuditEntry[];
  total: number;
  offset: number;
  limit: number;
  next_offset: number | null;
}

/** Newest first; `offset` counts from the newest entry. */
export function pageAudit(all: readonly AuditEntry[], offset: number, limit: number): AuditPage {
  const newestFirst = [...all].reverse();
  const entries = newestFirst.slice(offset, offset + limit);
  return {
    entries,
    total: all.length,
    offset,
    limit,
    next_offset: offset + limit < all.length ? offset + limit : null,
  };
}
