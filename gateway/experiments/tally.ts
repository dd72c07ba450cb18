/** What this gateway saw per version since the model's policy revision last changed: an experiment
 * is judged on the split it ran under, so changing 90/10 to 50/50 starts a fresh tally. */
export interface VersionTally {
  requests: number;
  errors: number;
  labelled: number;
  correct: number;
  latency: LatencyRing;
}

export interface ModelTally {
  revision: number;
  /** Epoch ms when this gateway first saw `revision`. */
  since: number;
  versions: Map<string, VersionTally>;
}

/** The newest latencies of a version. A ring rather than a random reservoir: it needs no randomness
 * (tests stay deterministic) and, under a steady split, recent samples are what an experimenter
 * wants compared. */
export class LatencyRing {
  private readonly samples: Float64Array;
  private next = 0;
  private count = 0;

  constructor(capacity: number) {
    this.samples = new Float64Array(capacity);
  }

  push(ms: number): void {
    this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.samples.length;
    if (this.count < this.samples.length) this.count++;
  }

  values(): number[] {
    return Array.from(this.samples.subarray(0, this.count));
  }
}

export class Tallies {
  private readonly models = new Map<string, ModelTally>();

  constructor(private readonly latencySamples: number) {}

  /** The tally for the model's current revision, starting a fresh one when the revision moved. */
  current(model: string, revision: number, now: number): ModelTally {
    let tally = this.models.get(model);
    if (!tally || tally.revision !== revision) {
      tally = { revision, since: now, versions: new Map() };
      this.models.set(model, tally);
    }
    return tally;
  }

  version(tally: ModelTally, version: string): VersionTally {
    let v = tally.versions.get(version);
    if (!v) {
      v = { requests: 0, errors: 0, labelled: 0, correct: 0, latency: new LatencyRing(this.latencySamples) };
      tally.versions.set(version, v);
    }
    return v;
  }
}
