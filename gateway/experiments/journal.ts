/** The predictions feedback can still be joined to, by request id. Bounded twice: by count (oldest
 * dropped first, so memory stays flat under any load) and by age (a label arriving a day late is
 * more likely a replayed id than ground truth). A Map iterates in insertion order, which makes it
 * an O(1) FIFO without a second structure. */
export interface JournalEntry {
  model: string;
  version: string;
  predictedClass: string;
  at: number;
  /** Label already given for this prediction; a second one is a conflict. */
  feedback?: string;
}

export type Lookup =
  | { kind: 'found'; entry: JournalEntry }
  | { kind: 'unknown' }
  | { kind: 'expired'; entry: JournalEntry };

export class PredictionJournal {
  private readonly entries = new Map<string, JournalEntry>();

  constructor(
    readonly capacity: number,
    readonly ttlMs: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  record(requestId: string, entry: JournalEntry): void {
    this.entries.delete(requestId); // a reused id moves to the young end
    this.entries.set(requestId, entry);
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  lookup(requestId: string, now: number): Lookup {
    const entry = this.entries.get(requestId);
    if (!entry) return { kind: 'unknown' };
    if (now - entry.at > this.ttlMs) {
      this.entries.delete(requestId);
      return { kind: 'expired', entry };
    }
    return { kind: 'found', entry };
  }
}
