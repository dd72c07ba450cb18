import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  appendDurable,
  PROCESS_INSTANCE,
  removeStaleTemps,
  repairJsonl,
  tempName,
  writeFileAtomic,
} from '../../../registry/store/atomic-file';
import { createStoreLock } from '../../../registry/store/lock';
import { compareVersions, nextVersion } from '../../../registry/store/paths';
import { parseIfMatch, validatePolicy } from '../../../registry/store/policies';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'registry-unit-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('durable files', () => {
  it('replaces a file atomically and leaves no temp file behind', async () => {
    const file = path.join(dir, 'policy.json');
    await writeFileAtomic(file, 'one');
    await writeFileAtomic(file, 'two');
    expect(await readFile(file, 'utf8')).toBe('two');
    expect(await readdir(dir)).toEqual(['policy.json']);
  });

  it('appends whole lines and cuts a torn tail back to the last complete line', async () => {
    const file = path.join(dir, 'audit.jsonl');
    await appendDurable(file, '{"a":1}');
    await appendDurable(file, '{"b":2}\n');
    await writeFile(file, `${await readFile(file, 'utf8')}{"torn":`);
    expect(await repairJsonl(file)).toBe(8);
    expect(await readFile(file, 'utf8')).toBe('{"a":1}\n{"b":2}\n');
    expect(await repairJsonl(file)).toBe(0);
  });

  it("removes temp files of dead processes but keeps this process's own", async () => {
    const mine = tempName('policy.json');
    const dead = `.tmp-999999-deadbeef-0000-policy.json`;
    const samePidOldInstance = `.tmp-${process.pid}-00000000-1111-upload`;
    for (const name of [mine, dead, samePidOldInstance, 'keep.json'])
      await writeFile(path.join(dir, name), 'x');
    expect((await removeStaleTemps(dir)).sort()).toEqual([samePidOldInstance, dead].sort());
    expect((await readdir(dir)).sort()).toEqual([mine, 'keep.json'].sort());
    expect(mine).toContain(PROCESS_INSTANCE);
  });
});

describe('store lock', () => {
  it('never lets two holders overlap, across lock objects on one folder', async () => {
    const a = createStoreLock(dir);
    const b = createStoreLock(dir);
    let inside = 0;
    let maxInside = 0;
    const work = async () => {
      inside++;
      maxInside = Math.max(maxInside, inside);
      await new Promise((r) => setTimeout(r, 2));
      inside--;
    };
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).withLock(work)));
    expect(maxInside).toBe(1);
    expect(await readdir(dir)).toEqual([]);
  });

  it("takes over at once a lock whose owner's pid is gone", async () => {
    const owner = { pid: 999_999, instance: 'dead', host: require('node:os').hostname(), at: Date.now() };
    await writeFile(path.join(dir, '.registry.lock'), JSON.stringify(owner));
    const started = Date.now();
    await createStoreLock(dir, { timeoutMs: 2_000 }).withLock(async () => undefined);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await readdir(dir)).toEqual([]);
  });

  it('takes over a lock from another host only once it is older than staleMs', async () => {
    let now = 10_000;
    const owner = { pid: 1, instance: 'x', host: 'some-other-host', at: now };
    await writeFile(path.join(dir, '.registry.lock'), JSON.stringify(owner));
    const blocked = createStoreLock(dir, { staleMs: 5_000, timeoutMs: 50, now: () => now });
    await expect(blocked.withLock(async () => 'ran')).rejects.toMatchObject({
      code: 'not_ready',
      status: 503,
    });
    now += 5_001;
    await expect(blocked.withLock(async () => 'ran')).resolves.toBe('ran');
  });
});

describe('policy helpers', () => {
  it('reads If-Match quoted, unquoted and weak, and refuses anything else', () => {
    expect(parseIfMatch('"7"')).toBe(7);
    expect(parseIfMatch('7')).toBe(7);
    expect(parseIfMatch('W/"7"')).toBe(7);
    expect(parseIfMatch(undefined)).toBeUndefined();
    expect(() => parseIfMatch('"latest"')).toThrow(/If-Match must be a quoted revision/);
  });

  it('lists every version a policy names that does not exist', () => {
    expect(() =>
      validatePolicy(
        {
          variants: [{ version: '1', weight: 100 }],
          shadow: { version: '5', percent: 1 },
          aliases: { c: '6' },
        },
        new Set(['1']),
      ),
    ).toThrow(/do not exist: 5, 6/);
  });

  it('orders versions numerically and picks the next integer', () => {
    expect(['10', 'b', '2', 'a', '1'].sort(compareVersions)).toEqual(['1', '2', '10', 'a', 'b']);
    expect(nextVersion(['1', '2', '10', 'beta'])).toBe('11');
    expect(nextVersion([])).toBe('1');
  });
});
