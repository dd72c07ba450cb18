import fc from 'fast-check';
import {
  BUCKETS,
  bucketRanges,
  fnv1a,
  pickVersion,
  stickyBucket,
  versionForBucket,
} from '../../../gateway/routing/split';

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const input = (variants: { version: string; weight: number }[], aliases: Record<string, string> = {}) => ({
  model: 'm',
  ranges: bucketRanges(variants),
  aliases,
  versions: new Set(variants.map((v) => v.version)),
});

describe('bucket ranges', () => {
  it('lays variants out contiguously in version-name order whatever order the policy lists them', () => {
    const ranges = bucketRanges([
      { version: '10', weight: 30 },
      { version: '2', weight: 70 },
    ]);
    expect(ranges).toEqual([
      { version: '2', weightPercent: 70, start: 0, end: 7000 },
      { version: '10', weightPercent: 30, start: 7000, end: 10000 },
    ]);
  });

  it('gives a zero-weight variant an empty range', () => {
    const ranges = bucketRanges([
      { version: '1', weight: 100 },
      { version: '2', weight: 0 },
    ]);
    expect(versionForBucket(ranges, 9999)).toBe('1');
    expect(ranges[1]).toMatchObject({ start: 10000, end: 10000 });
  });
});

describe('pickVersion', () => {
  const variants = [
    { version: '1', weight: 80 },
    { version: '2', weight: 20 },
  ];

  it('prefers an explicit version over a label and a sticky key', () => {
    const picked = pickVersion(
      input(variants, { canary: '2' }),
      { version: '1', label: 'canary', stickyKey: 'u' },
      () => 0.99,
    );
    expect(picked).toEqual({ ok: true, version: '1', reason: 'pinned' });
  });

  it('resolves a label to its version', () => {
    expect(pickVersion(input(variants, { canary: '2' }), { label: 'canary' }, () => 0)).toEqual({
      ok: true,
      version: '2',
      reason: 'label',
    });
  });

  it('reports unknown versions and labels, including prototype names', () => {
    expect(pickVersion(input(variants), { version: '9' }, Math.random)).toEqual({
      ok: false,
      kind: 'unknown_version',
      name: '9',
    });
    expect(pickVersion(input(variants), { label: '__proto__' }, Math.random)).toEqual({
      ok: false,
      kind: 'unknown_label',
      name: '__proto__',
    });
  });

  it('splits weighted-random traffic 80/20 within a point over 20,000 draws', () => {
    const random = seeded(42);
    let v2 = 0;
    for (let i = 0; i < 20_000; i++) {
      const picked = pickVersion(input(variants), {}, random);
      if (picked.ok && picked.version === '2') v2++;
    }
    expect(Math.abs(v2 / 20_000 - 0.2)).toBeLessThan(0.01);
  });

  it('sends a sticky user to the same version every time, whatever random() says', () => {
    const first = pickVersion(input(variants), { stickyKey: 'user-17' }, () => 0);
    for (const r of [0.1, 0.5, 0.99]) {
      expect(pickVersion(input(variants), { stickyKey: 'user-17' }, () => r)).toEqual(first);
    }
    expect(first).toMatchObject({ reason: 'sticky' });
  });

  it('moves only about 10% of sticky users when 80/20 becomes 70/30, all of them to the grown variant', () => {
    const before = input(variants);
    const after = input([
      { version: '1', weight: 70 },
      { version: '2', weight: 30 },
    ]);
    let moved = 0;
    const users = 10_000;
    for (let i = 0; i < users; i++) {
      const key = `user-${i}`;
      const a = pickVersion(before, { stickyKey: key }, Math.random);
      const b = pickVersion(after, { stickyKey: key }, Math.random);
      if (a.ok && b.ok && a.version !== b.version) {
        moved++;
        expect([a.version, b.version]).toEqual(['1', '2']);
      }
    }
    expect(moved / users).toBeGreaterThan(0.08);
    expect(moved / users).toBeLessThan(0.12);
  });

  it('moves exactly the users whose bucket lies between the old and new boundary (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 100 }),
        fc.string(),
        (w1, w2, key) => {
          const a = pickVersion(
            input([
              { version: '1', weight: w1 },
              { version: '2', weight: 100 - w1 },
            ]),
            { stickyKey: key || 'k' },
            Math.random,
          );
          const b = pickVersion(
            input([
              { version: '1', weight: w2 },
              { version: '2', weight: 100 - w2 },
            ]),
            { stickyKey: key || 'k' },
            Math.random,
          );
          const bucket = stickyBucket('m', key || 'k');
          const lo = Math.min(w1, w2) * 100;
          const hi = Math.max(w1, w2) * 100;
          const shouldMove = bucket >= lo && bucket < hi;
          expect(a.ok && b.ok && a.version !== b.version).toBe(shouldMove);
        },
      ),
    );
  });

  it('hashes with FNV-1a so every gateway process agrees', () => {
    expect(fnv1a('')).toBe(0x811c9dc5);
    expect(fnv1a('a')).toBe(0xe40c292c);
    expect(stickyBucket('m', 'x')).toBeLessThan(BUCKETS);
  });
});
