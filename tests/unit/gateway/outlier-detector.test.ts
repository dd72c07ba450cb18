import { LatencyDeadline } from '../../../gateway/upstream/deadline';
import { DEFAULT_OUTLIER_SETTINGS, ModelOutliers } from '../../../gateway/upstream/outlier-detector';

function detector(members: { version: string; url: string }[], settings = {}) {
  const clock = { t: 1_000_000 };
  const outliers = new ModelOutliers({ ...DEFAULT_OUTLIER_SETTINGS, ...settings }, () => clock.t);
  outliers.setMembers(members);
  return { outliers, clock };
}

const TWO = [
  { version: '1', url: 'a' },
  { version: '1', url: 'b' },
];
const fail = { ok: false as const, latencyMs: 300 };
const ok = (latencyMs = 10) => ({ ok: true as const, latencyMs });

describe('outlier ejection', () => {
  it('ejects an instance after N consecutive failures, and a success in between resets the count', () => {
    const { outliers } = detector(TWO);
    outliers.record('a', fail);
    outliers.record('a', fail);
    outliers.record('a', ok());
    outliers.record('a', fail);
    expect(outliers.health('a')).toBe('in_rotation');
    outliers.record('a', fail);
    const ejection = outliers.record('a', fail);
    expect(ejection).toMatchObject({ url: 'a', reason: 'consecutive_failures', ejections: 1 });
    expect(outliers.health('a')).toBe('ejected');
    expect(outliers.health('b')).toBe('in_rotation');
  });

  it('returns the instance after the ejection interval, and doubles the interval on a repeat', () => {
    const { outliers, clock } = detector(TWO, { baseEjectionMs: 1000, maxEjectionMs: 5000 });
    for (let i = 0; i < 3; i++) outliers.record('a', fail);
    expect(outliers.ejectedForMs('a')).toBe(1000);
    clock.t += 999;
    expect(outliers.health('a')).toBe('ejected');
    clock.t += 1;
    expect(outliers.health('a')).toBe('returned');
    for (let i = 0; i < 3; i++) outliers.record('a', fail);
    expect(outliers.ejectedForMs('a')).toBe(2000);
    clock.t += 2000;
    for (let i = 0; i < 3; i++) outliers.record('a', fail);
    expect(outliers.ejectedForMs('a')).toBe(4000);
    clock.t += 4000;
    for (let i = 0; i < 3; i++) outliers.record('a', fail);
    expect(outliers.ejectedForMs('a')).toBe(5000); // capped at maxEjectionMs
  });

  it('forgives repeat ejections once the instance has behaved for the longest interval', () => {
    const { outliers, clock } = detector(TWO, { baseEjectionMs: 1000, maxEjectionMs: 5000 });
    for (let i = 0; i < 3; i++) outliers.record('a', fail);
    clock.t += 1000;
    outliers.record('a', ok());
    expect(outliers.health('a')).toBe('in_rotation');
    clock.t += 5001;
    outliers.record('a', ok());
    for (let i = 0; i < 3; i++) outliers.record('a', fail);
    expect(outliers.ejectedForMs('a')).toBe(1000);
  });

  it('never ejects the last instance of the only version', () => {
    const { outliers } = detector([{ version: '1', url: 'only' }]);
    for (let i = 0; i < 20; i++) expect(outliers.record('only', fail)).toBeUndefined();
    expect(outliers.health('only')).toBe('in_rotation');
  });

  it('keeps one instance of the model in rotation when every instance fails', () => {
    const { outliers } = detector([...TWO, { version: '2', url: 'c' }]);
    for (const url of ['a', 'b', 'c']) for (let i = 0; i < 3; i++) outliers.record(url, fail);
    expect(['a', 'b', 'c'].map((u) => outliers.health(u))).toEqual(['ejected', 'ejected', 'in_rotation']);
  });

  it('ejects an instance whose latency is far above its peers in the same version', () => {
    const { outliers } = detector([...TWO, { version: '1', url: 'c' }, { version: '2', url: 'slow2' }]);
    for (let i = 0; i < 30; i++) {
      outliers.record('b', ok(10));
      outliers.record('c', ok(12));
      outliers.record('slow2', ok(400)); // another version: not a peer of a, b or c
    }
    let ejection: ReturnType<typeof outliers.record>;
    for (let i = 0; i < 30 && !ejection; i++) ejection = outliers.record('a', ok(200));
    expect(ejection).toMatchObject({ url: 'a', reason: 'latency' });
    expect(outliers.health('slow2')).toBe('in_rotation');
  });

  it('does not call 3 ms against 1 ms an outlier (absolute margin)', () => {
    const { outliers } = detector(TWO);
    for (let i = 0; i < 50; i++) {
      outliers.record('b', ok(1));
      expect(outliers.record('a', ok(8))).toBeUndefined();
    }
  });

  it('ignores late answers of an ejected instance and forgets instances that leave the table', () => {
    const { outliers } = detector(TWO);
    for (let i = 0; i < 3; i++) outliers.record('a', fail);
    expect(outliers.record('a', fail)).toBeUndefined();
    outliers.setMembers([{ version: '1', url: 'b' }]);
    expect(outliers.health('a')).toBe('in_rotation');
    expect(outliers.record('a', fail)).toBeUndefined();
  });
});

describe('latency-derived deadlines', () => {
  const settings = { p99Multiple: 4, floorMs: 250, maxMs: 5000, minSamples: 50 };

  it('uses the maximum until enough answers are known, then a multiple of the p99', () => {
    const d = new LatencyDeadline(settings);
    for (let i = 0; i < 49; i++) d.observe(100);
    expect(d.deadlineMs()).toBe(5000);
    d.observe(100);
    expect(d.deadlineMs()).toBe(400);
  });

  it('never goes below the floor nor above the maximum', () => {
    const fast = new LatencyDeadline(settings);
    for (let i = 0; i < 64; i++) fast.observe(3);
    expect(fast.deadlineMs()).toBe(250);
    const slow = new LatencyDeadline(settings);
    for (let i = 0; i < 64; i++) slow.observe(3000);
    expect(slow.deadlineMs()).toBe(5000);
  });

  it('follows the p99 (not the mean): 2 % slow answers set the deadline', () => {
    const d = new LatencyDeadline(settings);
    for (let i = 0; i < 256; i++) d.observe(i % 50 === 0 ? 200 : 10);
    expect(d.p99Ms()).toBe(200);
    expect(d.deadlineMs()).toBe(800);
  });

  it('stays at the maximum when adaptive deadlines are off', () => {
    const d = new LatencyDeadline({ ...settings, p99Multiple: 0 });
    for (let i = 0; i < 256; i++) d.observe(10);
    expect(d.deadlineMs()).toBe(5000);
  });
});
