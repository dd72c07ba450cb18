/** A fixed-capacity ring of recent rows, each reduced on arrival to its drift feature values, its
 * predicted class and its arrival time. Capacity bounds memory; `expire` bounds age. Appending is
 * O(features) and never allocates, which keeps the batcher's hot path flat however large the window. */
export class DriftWindow {
  private readonly values: Float64Array[];
  private readonly classes: Int32Array;
  private readonly times: Float64Array;
  private head = 0; // next slot to write
  private size = 0;
  /** Bumped on every change, so readers can tell whether what they computed is still current. */
  version = 0;

  constructor(
    readonly capacity: number,
    featureCount: number,
  ) {
    this.values = Array.from({ length: featureCount }, () => new Float64Array(capacity));
    this.classes = new Int32Array(capacity);
    this.times = new Float64Array(capacity);
  }

  get length(): number {
    return this.size;
  }

  push(features: ArrayLike<number>, predictedClass: number, at: number): void {
    for (let f = 0; f < this.values.length; f++) this.values[f]![this.head] = features[f]!;
    this.classes[this.head] = predictedClass;
    this.times[this.head] = at;
    this.head = (this.head + 1) % this.capacity;
    if (this.size < this.capacity) this.size++;
    this.version++;
  }

  /** Drops rows that arrived before `cutoff` (oldest first, so it stops at the first fresh one). */
  expire(cutoff: number): void {
    let dropped = 0;
    while (this.size > 0 && this.times[this.tail()]! < cutoff) {
      this.size--;
      dropped++;
    }
    if (dropped > 0) this.version++;
  }

  /** Values of one feature over the window, oldest first. */
  feature(index: number): number[] {
    const column = this.values[index]!;
    const out = new Array<number>(this.size);
    for (let i = 0, slot = this.tail(); i < this.size; i++, slot = (slot + 1) % this.capacity) {
      out[i] = column[slot]!;
    }
    return out;
  }

  /** How many rows of the window were predicted as each class index (0..classCount-1). */
  classCounts(classCount: number): number[] {
    const counts = new Array<number>(classCount).fill(0);
    for (let i = 0, slot = this.tail(); i < this.size; i++, slot = (slot + 1) % this.capacity) {
      const c = this.classes[slot]!;
      if (c >= 0 && c < classCount) counts[c]!++;
    }
    return counts;
  }

  private tail(): number {
    return (this.head - this.size + this.capacity) % this.capacity;
  }
}
