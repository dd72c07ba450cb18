/** Pure version choice. Every variant owns a contiguous range of the 10,000 buckets, laid out in a
 * stable order (version name), so a weight change only moves the buckets at the boundary that
 * moved: 80/20 → 70/30 shifts buckets 7000..7999 and nobody else. Sticky users hash to a bucket;
 * everyone else draws one from the injected random(), so both paths share the same ranges. */

export const BUCKETS = 10_000;

export interface BucketRange {
  version: string;
  weightPercent: number;
  /** Inclusive start, exclusive end, in 0..BUCKETS. */
  start: number;
  end: number;
}

const byVersionName = new Intl.Collator('en', { numeric: true }).compare;

/** Lays the variants out over the buckets in version-name order (numeric-aware: "2" before "10"). */
export function bucketRanges(variants: readonly { version: string; weight: number }[]): BucketRange[] {
  const sorted = [...variants].sort((a, b) => byVersionName(a.version, b.version));
  const ranges: BucketRange[] = [];
  let start = 0;
  for (const v of sorted) {
    const end = start + Math.round((v.weight * BUCKETS) / 100);
    ranges.push({ version: v.version, weightPercent: v.weight, start, end: Math.min(end, BUCKETS) });
    start = Math.min(end, BUCKETS);
  }
  return ranges;
}

/** FNV-1a (32-bit): fast, no dependencies, and identical in every gateway process, which is what
 * keeps horizontally scaled gateways agreeing on a user's version without sharing state. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The model name is part of the key so one user is assigned independently in each model's test. */
export function stickyBucket(model: string, key: string): number {
  return fnv1a(`${model}\u0000${key}`) % BUCKETS;
}

export function randomBucket(random: () => number): number {
  return Math.min(BUCKETS - 1, Math.floor(random() * BUCKETS));
}

/** The version owning a bucket; undefined only when every weight is zero. */
export function versionForBucket(ranges: readonly BucketRange[], bucket: number): string | undefined {
  for (const r of ranges) if (bucket >= r.start && bucket < r.end) return r.version;
  return undefined;
}

export type RouteReason = 'pinned' | 'label' | 'sticky' | 'split';

export interface Selection {
  /** X-Model-Version or a version in the path. */
  version?: string | undefined;
  /** X-Model-Label or /labels/:l in the path. */
  label?: string | undefined;
  /** Value of the policy's sticky header, or user_id from the body. */
  stickyKey?: string | undefined;
}

export interface SplitInput {
  model: string;
  ranges: readonly BucketRange[];
  aliases: Readonly<Record<string, string>>;
  versions: ReadonlySet<string>;
}

export type PickResult =
  | { ok: true; version: string; reason: RouteReason }
  | { ok: false; kind: 'unknown_version' | 'unknown_label' | 'no_weight'; name?: string };

/** DESIGN.md's order: explicit version, label, sticky key, weighted random. */
export function pickVersion(input: SplitInput, selection: Selection, random: () => number): PickResult {
  if (selection.version !== undefined) {
    return input.versions.has(selection.version)
      ? { ok: true, version: selection.version, reason: 'pinned' }
      : { ok: false, kind: 'unknown_version', name: selection.version };
  }
  if (selection.label !== undefined) {
    const version = Object.hasOwn(input.aliases, selection.label)
      ? input.aliases[selection.label]
      : undefined;
    return version !== undefined && input.versions.has(version)
      ? { ok: true, version, reason: 'label' }
      : { ok: false, kind: 'unknown_label', name: selection.label };
  }
  const sticky = selection.stickyKey !== undefined && selection.stickyKey !== '';
  const bucket = sticky ? stickyBucket(input.model, selection.stickyKey!) : randomBucket(random);
  const version = versionForBucket(input.ranges, bucket);
  if (version === undefined) return { ok: false, kind: 'no_weight' };
  return { ok: true, version, reason: sticky ? 'sticky' : 'split' };
}
