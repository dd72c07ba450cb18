import { ResponseCache } from '../../../gateway/response-cache';

const answer = (text: string, status = 200) => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: Buffer.from(text),
});

describe('response cache', () => {
  it('is off at 0 bytes', () => {
    expect(new ResponseCache(0).enabled).toBe(false);
  });

  it('keys by model, version and input bytes', () => {
    const c = new ResponseCache(100_000);
    const k = c.key('m', '1', '[[1,2]]');
    expect(c.key('m', '1', Buffer.from('[[1,2]]'))).toBe(k);
    expect(c.key('m', '2', '[[1,2]]')).not.toBe(k);
    expect(c.key('n', '1', '[[1,2]]')).not.toBe(k);
    expect(c.key('m', '1', '[[1,3]]')).not.toBe(k);
  });

  it('counts hits and misses and keeps only 200 answers', () => {
    const c = new ResponseCache(100_000);
    c.set('a', answer('{"x":1}'));
    c.set('b', answer('{"error":"x"}', 400));
    expect(c.get('a')?.body.toString()).toBe('{"x":1}');
    expect(c.get('b')).toBeUndefined();
    expect([c.hits, c.misses]).toEqual([1, 1]);
  });

  it('stays within its byte bound, evicting the least recently used first', () => {
    const body = 'x'.repeat(700);
    const c = new ResponseCache(8 * 1000);
    for (let i = 0; i < 8; i++) c.set(`k${i}`, answer(body));
    c.get('k0'); // k0 is now the most recently used
    c.set('k8', answer(body));
    expect(c.sizeBytes).toBeLessThanOrEqual(8000);
    expect(c.get('k0')).toBeDefined();
    expect(c.get('k1')).toBeUndefined();
    expect(c.get('k8')).toBeDefined();
  });

  it('does not let one answer push out more than an eighth of the cache', () => {
    const c = new ResponseCache(8000);
    c.set('big', answer('x'.repeat(2000)));
    expect(c.get('big')).toBeUndefined();
  });
});
