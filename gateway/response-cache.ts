/** A response cache as Triton's (docs/user_guide/response_cache.md): off by default; keyed by
 * model, version and a hash of the input bytes; bounded in bytes, least recently used out first.
 * Only 200 answers of the chosen version are kept. A hit still gets its own request id (the JSON API
 * builds each answer around the caller's id; protocol bodies that carry an `id` hash with it, so
 * they only hit with the same id), and hits are never compared with a shadow version: only real
 * upstream answers are. A model is a pure function of its input, so nothing expires but by size. */
import { createHash } from 'node:crypto';
import type { UpstreamResponse } from './upstream/pool';

/** Bytes an entry costs beyond its body: key, headers object, Map slot. */
const ENTRY_OVERHEAD = 256;

export class ResponseCache {
  private readonly entries = new Map<string, UpstreamResponse>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(private readonly maxBytes: number) {}

  get enabled(): boolean {
    return this.maxBytes > 0;
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  /** `input` is what determines the answer: the rows for the JSON API, the caller's body otherwise. */
  key(model: string, version: string, input: Buffer | string): string {
    return `${model}\u0000${version}\u0000${createHash('sha256').update(input).digest('base64')}`;
  }

  get(key: string): UpstreamResponse | undefined {
    const hit = this.entries.get(key);
    if (hit === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    // Re-insert: a Map iterates in insertion order, so the first entry is the least recently used.
    this.entries.delete(key);
    this.entries.set(key, hit);
    return hit;
  }

  set(key: string, response: UpstreamResponse): void {
    const cost = response.body.length + key.length + ENTRY_OVERHEAD;
    // One answer may not push out more than an eighth of the cache.
    if (response.status !== 200 || cost > this.maxBytes / 8) return;
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.bytes -= old.body.length + key.length + ENTRY_OVERHEAD;
    }
    this.entries.set(key, {
      status: response.status,
      headers: { 'content-type': response.headers['content-type'] },
      body: response.body,
    });
    this.bytes += cost;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= v.body.length + k.length + ENTRY_OVERHEAD;
    }
  }
}
