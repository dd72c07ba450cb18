/** A fixed-capacity FIFO that overwrites its oldest item when full (undici's fixed-queue idea: no
 * Array#shift, no growth). Used for unwritten prediction records: memory stays flat however long the
 * database is away, and what is lost is the oldest, which is the least useful to a live report. */
export class RingBuffer<T> {
  private readonly items: (T | undefined)[];
  private head = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.items = new Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Appends; returns how many old items were overwritten (0 or 1). */
  push(item: T): number {
    if (this.capacity === 0) return 1;
    const tail = (this.head + this.count) % this.capacity;
    this.items[tail] = item;
    if (this.count < this.capacity) {
      this.count++;
      return 0;
    }
    this.head = (this.head + 1) % this.capacity;
    return 1;
  }

  /** Removes and returns up to `n` of the oldest items. */
  take(n: number): T[] {
    const out: T[] = [];
    while (out.length < n && this.count > 0) {
      out.push(this.items[this.head]!);
      this.items[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
      this.count--;
    }
    return out;
  }

  /** Puts items taken earlier back in front (a failed write). Those that no longer fit are the
   * oldest of all, so they are the ones dropped; returns how many. */
  unshift(items: readonly T[]): number {
    let dropped = 0;
    for (let i = items.length - 1; i >= 0; i--) {
      if (this.count >= this.capacity) {
        dropped += i + 1;
        break;
      }
      this.head = (this.head - 1 + this.capacity) % this.capacity;
      this.items[this.head] = items[i];
      this.count++;
    }
    return dropped;
  }

  /** The items in order without removing them. */
  *values(): IterableIterator<T> {
    for (let i = 0; i < this.count; i++) yield this.items[(this.head + i) % this.capacity]!;
  }
}
