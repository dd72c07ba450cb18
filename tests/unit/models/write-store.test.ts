import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeFileAtomic, writeStartingPolicy, writeVersionFolder } from '../../../models/train/write-store';

describe('writing the model store', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'modelgate-train-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('replaces a file atomically and leaves no temp file behind', async () => {
    const file = path.join(dir, 'a.json');
    await writeFileAtomic(file, 'old');
    await writeFileAtomic(file, 'new');
    expect(await readFile(file, 'utf8')).toBe('new');
    expect(await readdir(dir)).toEqual(['a.json']);
  });

  it('writes a version folder with every file', async () => {
    const files = new Map([
      ['metadata.json', Buffer.from('{}')],
      ['model.json', Buffer.from('{"m":1}')],
      ['group1-shard1of1.bin', Buffer.from([1, 2, 3])],
    ]);
    await writeVersionFolder(path.join(dir, 'm', '1'), files);
    expect((await readdir(path.join(dir, 'm', '1'))).sort()).toEqual([
      'group1-shard1of1.bin',
      'metadata.json',
      'model.json',
    ]);
  });

  it('writes the starting policy only once every version it names exists', async () => {
    const modelDir = path.join(dir, 'digits');
    await mkdir(path.join(modelDir, '1'), { recursive: true });
    await writeFile(path.join(modelDir, '1', 'metadata.json'), '{}');
    expect(await writeStartingPolicy(modelDir, 'digits', false)).toBe('skipped (versions missing)');

    await mkdir(path.join(modelDir, '2'), { recursive: true });
    await writeFile(path.join(modelDir, '2', 'metadata.json'), '{}');
    expect(await writeStartingPolicy(modelDir, 'digits', false)).toBe('written');
    const policy = JSON.parse(await readFile(path.join(modelDir, 'policy.json'), 'utf8'));
    expect(policy).toEqual({
      variants: [
        { version: '1', weight: 90 },
        { version: '2', weight: 10 },
      ],
      sticky: null,
      shadow: null,
      aliases: { stable: '1', canary: '2' },
      failover: true,
      revision: 1,
    });
  });

  it('keeps a policy the registry has since changed unless asked to reset it', async () => {
    const modelDir = path.join(dir, 'penguins');
    for (const v of ['1', '2']) {
      await mkdir(path.join(modelDir, v), { recursive: true });
      await writeFile(path.join(modelDir, v, 'metadata.json'), '{}');
    }
    await writeFile(path.join(modelDir, 'policy.json'), '{"revision":7}');
    expect(await writeStartingPolicy(modelDir, 'penguins', false)).toMatch(/^kept/);
    expect(await readFile(path.join(modelDir, 'policy.json'), 'utf8')).toBe('{"revision":7}');
    expect(await writeStartingPolicy(modelDir, 'penguins', true)).toBe('written');
    expect(JSON.parse(await readFile(path.join(modelDir, 'policy.json'), 'utf8')).revision).toBe(1);
  });
});
