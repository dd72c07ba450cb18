import { parseShadow, parseSplit, parseSticky } from '../../../cli/commands/registry';
import { createOutput, renderTable } from '../../../cli/output';

describe('cli output', () => {
  it('aligns columns, right-aligning numbers when asked', () => {
    const text = renderTable(
      [
        { v: '1', w: 90 },
        { v: '10', w: 5 },
      ],
      [
        { header: 'VERSION', value: (r) => r.v },
        { header: 'W', value: (r) => r.w, align: 'right' },
      ],
    );
    expect(text.split('\n')).toEqual(['VERSION   W', '1        90', '10        5']);
  });

  it('prints the JSON value instead of the table with --json', () => {
    let written = '';
    const stream = {
      write: (s: string) => {
        written += s;
        return true;
      },
    } as unknown as NodeJS.WritableStream;
    createOutput(true, stream).table([{ a: 1 }], [{ header: 'A', value: (r) => r.a }], { rows: 1 });
    expect(JSON.parse(written)).toEqual({ rows: 1 });
  });
});

describe('traffic arguments', () => {
  it('parses VERSION=PERCENT pairs, header:NAME and VERSION:PERCENT', () => {
    expect(parseSplit(['1=90', '2=10'])).toEqual([
      { version: '1', weight: 90 },
      { version: '2', weight: 10 },
    ]);
    expect(parseSticky('header:x-user-id')).toEqual({ header: 'x-user-id' });
    expect(parseShadow('3:12.5')).toEqual({ version: '3', percent: 12.5 });
  });

  it('explains malformed arguments', () => {
    expect(() => parseSplit(['1:90'])).toThrow(/VERSION=PERCENT/);
    expect(() => parseSplit(['../x=100'])).toThrow(/not a valid name/);
    expect(() => parseSticky('x-user-id')).toThrow(/header:NAME/);
    expect(() => parseShadow('3')).toThrow(/VERSION:PERCENT/);
  });
});
