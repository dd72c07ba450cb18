import { createRoutesTable } from '../../../registry/routes';

const model = (weight: number) => ({
  iris: {
    policy: {
      variants: [{ version: '1', weight }],
      sticky: null,
      shadow: null,
      aliases: {},
      failover: true,
      revision: 1,
    },
    versions: { '1': { instances: [], input_width: 4, features: [], labels: [] } },
  },
});

describe('routes table', () => {
  it('bumps the revision only when the body changes', () => {
    const table = createRoutesTable(1000);
    expect(table.update(model(100))).toBe(true);
    expect(table.current().revision).toBe(1001);
    expect(table.update(model(100))).toBe(false);
    expect(table.current().revision).toBe(1001);
  });

  it('wakes a waiter as soon as the table changes', async () => {
    const table = createRoutesTable(5);
    const waiting = table.waitForChange(5, 60_000, new AbortController().signal);
    expect(table.waiting()).toBe(1);
    table.update(model(100));
    await expect(waiting).resolves.toBe(true);
    expect(table.waiting()).toBe(0);
  });

  it('answers at once when the caller already holds an old revision', async () => {
    const table = createRoutesTable(5);
    table.update(model(100));
    await expect(table.waitForChange(5, 60_000, new AbortController().signal)).resolves.toBe(true);
  });

  it('gives up after the timeout or when the client goes away', async () => {
    const table = createRoutesTable(5);
    await expect(table.waitForChange(5, 10, new AbortController().signal)).resolves.toBe(false);
    const gone = new AbortController();
    const waiting = table.waitForChange(5, 60_000, gone.signal);
    gone.abort();
    await expect(waiting).resolves.toBe(false);
    expect(table.waiting()).toBe(0);
  });
});
