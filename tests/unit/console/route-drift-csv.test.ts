import { toCsv } from '../../../console/src/logic/csv';
import { ksLevel, psiLevel } from '../../../console/src/logic/drift';
import { parseRoute, routeHash } from '../../../console/src/logic/route';

describe('console routes', () => {
  it('reads the page and model from the hash, defaulting to Models', () => {
    expect(parseRoute('#/traffic/digits')).toEqual({ page: 'traffic', model: 'digits' });
    expect(parseRoute('')).toEqual({ page: 'models', model: undefined });
    expect(parseRoute('#/nonsense/digits')).toEqual({ page: 'models', model: 'digits' });
    expect(parseRoute('#/drift/..%2Fetc')).toEqual({ page: 'drift', model: undefined });
    expect(parseRoute('#/drift/%E0%A4%A')).toEqual({ page: 'drift', model: undefined });
  });

  it('writes hashes that read back the same', () => {
    for (const hash of ['#/traffic/digits', '#/audit/penguins', '#/models'])
      expect(routeHash(parseRoute(hash))).toBe(hash);
  });
});

describe('drift levels', () => {
  it('colours PSI by the 0.1 and 0.25 thresholds', () => {
    expect([0.02, 0.1, 0.25, 0.2501, null].map(psiLevel)).toEqual([
      'stable',
      'moderate',
      'moderate',
      'significant',
      'unknown',
    ]);
  });

  it('colours KS against its critical value', () => {
    expect(ksLevel(0.05, 0.124)).toBe('stable');
    expect(ksLevel(0.1, 0.124)).toBe('moderate');
    expect(ksLevel(0.2, 0.124)).toBe('significant');
    expect(ksLevel(0.2, null)).toBe('unknown');
  });
});

describe('CSV export', () => {
  it('quotes what needs quoting and defuses spreadsheet formulas', () => {
    expect(
      toCsv(
        ['a', 'b', 'c'],
        [
          { a: 'x,y', b: 'say "hi"', c: 3 },
          { a: '=HYPERLINK("x")', b: null, c: -1 },
        ],
      ),
    ).toBe('a,b,c\r\n"x,y","say ""hi""",3\r\n"\'=HYPERLINK(""x"")",,-1\r\n');
  });
});
