import type { Routes } from '../../../../common/wire';
import { guardEmptiedModels } from '../../../../gateway/routing/empty-guard';

const version = (instances: string[]) => ({
  instances,
  input_width: 2,
  inputWidth: 2,
  features: ['a', 'b'],
  labels: ['x', 'y'],
});

function table(revision: number, versions: Record<string, string[]>): Routes {
  return {
    revision,
    models: {
      m: {
        policy: { variants: [], sticky: null, shadow: null, aliases: {}, failover: true, revision: 1 },
        versions: Object.fromEntries(Object.entries(versions).map(([v, i]) => [v, version(i)])),
      },
    },
  } as unknown as Routes;
}

const urlsOf = (r: Routes, v: string) => r.models.m!.versions[v]!.instances;

describe('guardEmptiedModels', () => {
  const live = table(1, { '1': ['http://a'], '2': ['http://b'] });
  const empty = table(2, { '1': [], '2': [] });

  it('keeps the previous instances when every instance of a model vanished at once', () => {
    const r = guardEmptiedModels({
      previous: live,
      next: empty,
      since: new Map(),
      nowMs: 1000,
      graceMs: 5000,
    });
    expect(urlsOf(r.routes, '1')).toEqual(['http://a']);
    expect(urlsOf(r.routes, '2')).toEqual(['http://b']);
    expect(r.routes.revision).toBe(2);
    expect(r.wakeAt).toBe(6000);
  });

  it('applies the empty table once the grace has passed', () => {
    const held = guardEmptiedModels({
      previous: live,
      next: empty,
      since: new Map(),
      nowMs: 1000,
      graceMs: 5000,
    });
    const still = guardEmptiedModels({
      previous: held.routes,
      next: empty,
      since: held.since,
      nowMs: 5999,
      graceMs: 5000,
    });
    expect(urlsOf(still.routes, '1')).toEqual(['http://a']);
    const after = guardEmptiedModels({
      previous: still.routes,
      next: empty,
      since: still.since,
      nowMs: 6000,
      graceMs: 5000,
    });
    expect(urlsOf(after.routes, '1')).toEqual([]);
    expect(after.wakeAt).toBeUndefined();
  });

  it('applies at once a table where only some instances left', () => {
    const partial = table(2, { '1': [], '2': ['http://b'] });
    const r = guardEmptiedModels({
      previous: live,
      next: partial,
      since: new Map(),
      nowMs: 0,
      graceMs: 5000,
    });
    expect(r.routes).toBe(partial);
    expect(r.wakeAt).toBeUndefined();
  });

  it('applies at once when the versions that had instances are gone from the table', () => {
    const other = table(2, { '3': [] });
    const r = guardEmptiedModels({ previous: live, next: other, since: new Map(), nowMs: 0, graceMs: 5000 });
    expect(r.routes).toBe(other);
  });

  it('forgets a hold when instances come back', () => {
    const held = guardEmptiedModels({
      previous: live,
      next: empty,
      since: new Map(),
      nowMs: 0,
      graceMs: 5000,
    });
    const back = table(3, { '1': ['http://c'], '2': [] });
    const r = guardEmptiedModels({
      previous: held.routes,
      next: back,
      since: held.since,
      nowMs: 100,
      graceMs: 5000,
    });
    expect(urlsOf(r.routes, '1')).toEqual(['http://c']);
    expect(r.since.size).toBe(0);
  });

  it('does nothing with a grace of 0', () => {
    const r = guardEmptiedModels({ previous: live, next: empty, since: new Map(), nowMs: 0, graceMs: 0 });
    expect(r.routes).toBe(empty);
  });
});
