import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { adminToken, ensureWorkingStore } from '../../../cli/supervisor/working-store';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'working-store-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('ensureWorkingStore', () => {
  it('copies model folders once (not training code, docs or audit logs) and never overwrites', async () => {
    const seed = path.join(dir, 'models');
    await mkdir(path.join(seed, 'digits', '1'), { recursive: true });
    await writeFile(path.join(seed, 'digits', '1', 'metadata.json'), '{}');
    await writeFile(path.join(seed, 'digits', 'policy.json'), '{}');
    await writeFile(path.join(seed, 'digits', 'audit.jsonl'), '{}\n');
    await mkdir(path.join(seed, 'train'));
    await writeFile(path.join(seed, 'train', 'main.ts'), '');
    await writeFile(path.join(seed, 'README.md'), '');
    const store = path.join(dir, 'data', 'store');

    expect(await ensureWorkingStore({ store, seed })).toBe(true);
    expect(await readdir(store)).toEqual(['digits']);
    expect((await readdir(path.join(store, 'digits'))).sort()).toEqual(['1', 'policy.json']);
    expect(await readdir(path.join(dir, 'data'))).toEqual(['store']);

    await writeFile(path.join(store, 'digits', 'policy.json'), '{"changed":true}');
    expect(await ensureWorkingStore({ store, seed })).toBe(false);
    expect(await readFile(path.join(store, 'digits', 'policy.json'), 'utf8')).toBe('{"changed":true}');
  });
});

describe('adminToken', () => {
  const file = () => path.join(dir, 'data', 'admin-token');

  it('keeps a generated token in a 0600 file and returns it on the next start', async () => {
    const first = await adminToken({ env: {}, file: file() });
    expect(first.source).toBe('generated');
    expect(first.token).toMatch(/^[0-9a-f]{48}$/);
    expect((await stat(file())).mode & 0o777).toBe(0o600);
    expect(await adminToken({ env: {}, file: file() })).toEqual({ token: first.token, source: 'file' });
  });

  it('lets ADMIN_TOKEN win without touching the file', async () => {
    expect(await adminToken({ env: { ADMIN_TOKEN: 'mine' }, file: file() })).toEqual({
      token: 'mine',
      source: 'env',
    });
    expect(existsSync(file())).toBe(false);
  });
});
