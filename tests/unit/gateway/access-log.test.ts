/** Access lines go to stdout in batches: one write per flush interval (or per 64 kB), all of them
 * on flush(), each line the JSON object winston would have written. */

import { createLogger } from '../../../common/logger';
import { createAccessLogWriter } from '../../../gateway/access-log';

const line = (i: number) => ({
  requestId: `r${i}`,
  method: 'POST',
  path: '/predict',
  status: 200,
  durationMs: 1.5,
  model: 'm',
  version: '1',
});

function writer() {
  const writes: string[] = [];
  const stream = { write: (s: string) => writes.push(s) } as unknown as NodeJS.WritableStream;
  const logger = createLogger({ service: 'gateway', level: 'info', format: 'json' });
  return { writes, log: createAccessLogWriter(logger, { format: 'json', service: 'gateway', stream }) };
}

describe('access log writer', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('writes the lines of one interval in one write, after the interval', () => {
    const { writes, log } = writer();
    for (let i = 0; i < 3; i++) log.write(line(i));
    jest.advanceTimersByTime(50);
    expect(writes).toEqual([]);
    jest.advanceTimersByTime(60);
    expect(writes).toHaveLength(1);
    const lines = writes[0]!
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.requestId)).toEqual(['r0', 'r1', 'r2']);
    expect(lines[0]).toMatchObject({
      event: 'access',
      level: 'info',
      message: 'request',
      service: 'gateway',
    });
  });

  it('writes at once past 64 kB, and everything on flush()', () => {
    const { writes, log } = writer();
    let i = 0;
    while (writes.length === 0 && i < 10_000) log.write(line(i++));
    expect(writes).toHaveLength(1);
    expect(writes[0]!.length).toBeGreaterThan(65_536);
    log.write(line(i));
    log.flush();
    expect(writes).toHaveLength(2);
    expect(JSON.parse(writes[1]!).requestId).toBe(`r${i}`);
    jest.advanceTimersByTime(1000);
    expect(writes).toHaveLength(2);
  });
});
