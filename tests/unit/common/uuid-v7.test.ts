import { uuidV7 } from '../../../common/uuid-v7';

// RFC 9562 §4: version nibble 7, variant bits 10xx (8, 9, a or b).
const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function millisOf(id: string): number {
  return Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16);
}

describe('uuidV7', () => {
  it('is an RFC 9562 version 7 UUID whose first 48 bits are the Unix milliseconds', () => {
    const at = Date.UTC(2026, 11, 2, 10, 30, 0, 123);
    const id = uuidV7(at);
    expect(id).toMatch(V7);
    expect(millisOf(id)).toBe(at);
    // The example of RFC 9562 Appendix A.6: 2022-02-22T19:22:22Z → 017f22e2-79b0-7…
    expect(uuidV7(Date.UTC(2022, 1, 22, 19, 22, 22)).slice(0, 15)).toBe('017f22e2-79b0-7');
  });

  it('sorts as text in the order of its milliseconds, so index inserts append', () => {
    const start = Date.UTC(2026, 0, 1);
    const ids = Array.from({ length: 2000 }, (_, i) => uuidV7(start + i * 3));
    expect([...ids].sort()).toEqual(ids);
  });

  it('differs between calls of the same millisecond (74 random bits)', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => uuidV7(1_700_000_000_000)));
    expect(ids.size).toBe(10_000);
  });

  it('uses the clock when given no time', () => {
    const before = Date.now();
    const id = uuidV7();
    expect(millisOf(id)).toBeGreaterThanOrEqual(before);
    expect(millisOf(id)).toBeLessThanOrEqual(Date.now());
  });
});
