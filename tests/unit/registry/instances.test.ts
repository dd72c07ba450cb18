import { createInstances } from '../../../registry/instances';

describe('instances', () => {
  let now = 0;
  const clock = () => now;
  const beat = (url: string, ready = true) => ({ model: 'iris', version: '1', url, ready });

  beforeEach(() => {
    now = 1_000;
  });

  it('reports a change when an instance joins, not when it heartbeats again', () => {
    const instances = createInstances(6_000, clock);
    expect(instances.heartbeat(beat('http://a:1'))).toBe(true);
    now += 2_000;
    expect(instances.heartbeat(beat('http://a:1/'))).toBe(false);
    expect(instances.urlsOf('iris', '1')).toEqual(['http://a:1']);
  });

  it('drops an instance that missed three heartbeats, and only then', () => {
    const instances = createInstances(6_000, clock);
    instances.heartbeat(beat('http://a:1'));
    now += 6_000;
    expect(instances.expire()).toBe(false);
    now += 1;
    expect(instances.expire()).toBe(true);
    expect(instances.list()).toEqual([]);
  });

  it('drops an instance at once when it reports ready:false', () => {
    const instances = createInstances(6_000, clock);
    instances.heartbeat(beat('http://a:1'));
    instances.heartbeat(beat('http://b:1'));
    expect(instances.heartbeat(beat('http://a:1', false))).toBe(true);
    expect(instances.urlsOf('iris', '1')).toEqual(['http://b:1']);
    expect(instances.heartbeat(beat('http://a:1', false))).toBe(false);
  });

  it('forgets every instance of a deleted version', () => {
    const instances = createInstances(6_000, clock);
    instances.heartbeat(beat('http://a:1'));
    instances.heartbeat({ model: 'iris', version: '2', url: 'http://c:1', ready: true });
    expect(instances.forgetVersion('iris', '1')).toBe(true);
    expect(instances.list().map((i) => i.version)).toEqual(['2']);
  });
});
