import {
  formatAgo,
  formatCount,
  formatDifference,
  formatDuration,
  formatInterval,
  formatMs,
  formatP,
  formatRate,
  formatShare,
  formatTime,
} from '../../../console/src/logic/format';

describe('console number formatting', () => {
  it('prints counts with thousands separators and a dash when missing', () => {
    expect(formatCount(1204)).toBe('1,204');
    expect(formatCount(null)).toBe('—');
    expect(formatCount(Number.NaN)).toBe('—');
  });

  it('prints rates with their sample size', () => {
    expect(formatShare(0.97345)).toBe('97.3 %');
    expect(formatRate(1172, 1204)).toBe('97.3 % of 1,204');
    expect(formatRate(0, 0)).toBe('— (no rows)');
  });

  it('prints latency with a unit and sensible precision', () => {
    expect(formatMs(0.523)).toBe('0.52 ms');
    expect(formatMs(12.34)).toBe('12.3 ms');
    expect(formatMs(464.4)).toBe('464 ms');
    expect(formatMs(12_500)).toBe('12.5 s');
  });

  it('prints durations and ages in words a person reads at a glance', () => {
    expect(formatDuration(38)).toBe('38 s');
    expect(formatDuration(250)).toBe('4 min 10 s');
    expect(formatDuration(300)).toBe('5 min');
    expect(formatDuration(7500)).toBe('2 h 5 min');
    expect(formatAgo(1000, 1200)).toBe('just now');
    expect(formatAgo(0, 12_000)).toBe('12 s ago');
  });

  it('prints times in UTC, unambiguously', () => {
    expect(formatTime('2026-12-02T01:02:03.456Z')).toBe('2026-12-02 01:02:03 UTC');
    expect(formatTime(null)).toBe('—');
    expect(formatTime('not a date')).toBe('not a date');
  });

  it('prints differences in their metric unit, signed: points for shares, ms for latency', () => {
    expect(formatDifference('accuracy', 0.021)).toBe('+2.1 points');
    expect(formatDifference('error_rate', -0.0034)).toBe('−0.3 points');
    expect(formatDifference('latency_p95', -3.4)).toBe('−3.40 ms');
    expect(formatDifference('accuracy', 0)).toBe('±0.0 points');
    expect(formatInterval('accuracy', [0.008, 0.034])).toBe('+0.8 points to +3.4 points');
    expect(formatInterval('accuracy', null)).toBe('—');
  });

  it('prints p-values with enough digits near the usual thresholds', () => {
    expect(formatP(0.41)).toBe('p = 0.410');
    expect(formatP(0.0031)).toBe('p = 0.0031');
    expect(formatP(0.00001)).toBe('p < 0.001');
    expect(formatP(undefined)).toBe('—');
  });
});
