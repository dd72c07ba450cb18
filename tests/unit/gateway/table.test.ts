import { createSilentLogger } from '../../../common/logger';
import type { Routes } from '../../../common/wire';
import { type RoutesFetch, RoutingTable, type TableStatus } from '../../../gateway/routing/table';

jest.setTimeout(10_000);

const routes = (revision: number): Routes => ({ revision, models: {} });

describe('routing table long-poll', () => {
  it('applies tables, sends the ETag back, and keeps the last table with stale=1 while the registry is down', async () => {
    const answers: (() => Promise<RoutesFetch>)[] = [
      async () => ({ status: 200, etag: '"1"', routes: routes(1) }),
      async () => {
        throw new Error('connect ECONNREFUSED');
      },
      async () => ({ status: 200, etag: '"2"', routes: routes(2) }),
    ];
    const etags: (string | undefined)[] = [];
    const applied: number[] = [];
    const statuses: TableStatus[] = [];
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const table = new RoutingTable({
      fetchRoutes: (etag, signal) => {
        etags.push(etag);
        const next = answers.shift();
        if (!next) {
          done();
          return new Promise((_resolve, reject) =>
            signal.addEventListener('abort', () => reject(new Error('aborted'))),
          );
        }
        return next();
      },
      logger: createSilentLogger(),
      now: Date.now,
      onTable: (r) => applied.push(r.revision),
      onStatus: (s) => statuses.push(s),
      retryMinMs: 1,
    });
    table.start();
    await finished;
    expect(applied).toEqual([1, 2]);
    expect(etags).toEqual([undefined, '"1"', '"1"', '"2"']);
    expect(statuses.map((s) => s.stale)).toEqual([false, true, false]);
    expect(statuses[1]!.lastError).toMatch(/ECONNREFUSED/);
    expect(table.current()?.revision).toBe(2);
    await table.stop();
  });

  it('refuses a table that does not match the schema and keeps the previous one', () => {
    const applied: number[] = [];
    const table = new RoutingTable({
      fetchRoutes: () => new Promise(() => undefined),
      logger: createSilentLogger(),
      now: Date.now,
      onTable: (r) => applied.push(r.revision),
      onStatus: () => undefined,
    });
    table.apply({ status: 200, routes: routes(3) });
    table.apply({ status: 200, routes: { revision: 'x' } });
    expect(applied).toEqual([3]);
    expect(table.snapshot().stale).toBe(true);
    expect(table.current()?.revision).toBe(3);
  });
});
