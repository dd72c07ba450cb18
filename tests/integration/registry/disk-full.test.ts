/** The registry on a full disk: a tiny tmpfs (mounted by this test, as root) holds the store; once
 * a filler file takes the last byte, every write answers 507 insufficient_storage naming ENOSPC,
 * leaves no temp or lock file behind and counts modelgate_registry_io_errors_total; once space is
 * back, writes work again. Where tmpfs cannot be mounted (not root, no CAP_SYS_ADMIN) the suite is
 * skipped with the reason printed. */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Service } from '../../helpers/processes';
import { startService } from '../../helpers/processes';
import { listTree, tinyMetadata, tinyModelFiles, writeStore } from '../../helpers/registry-fixtures';

jest.setTimeout(120_000);

const TOKEN = 'disk-full-token';
const auth = { authorization: `Bearer ${TOKEN}` };
const mountPoint = mkdtempSync(path.join(tmpdir(), 'modelgate-tmpfs-'));

function tryMount(): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mountPoint], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return String((err as { stderr?: Buffer }).stderr ?? err).trim();
  }
}

const mountError = tryMount();
if (mountError !== undefined) {
  console.warn(`disk-full tests SKIPPED: cannot mount a tmpfs at ${mountPoint} (${mountError}); run as root`);
}
const describeMounted = mountError === undefined ? describe : describe.skip;

const store = path.join(mountPoint, 'store');
const filler = path.join(mountPoint, 'filler');
let registry: Service;

/** Writes zeros until the file system refuses another byte. */
function fillDisk(): void {
  const fd = openSync(filler, 'w');
  const block = Buffer.alloc(64 * 1024);
  try {
    for (let size = block.length; size >= 1; ) {
      try {
        writeSync(fd, block, 0, size);
      } catch {
        size = Math.floor(size / 2);
      }
    }
  } finally {
    closeSync(fd);
  }
}

async function putPolicy(weight1: number): Promise<{ status: number; body: any }> {
  const url = `${registry.url}/models/iris/policy`;
  const current = await fetch(url, { headers: auth });
  await current.arrayBuffer();
  const res = await fetch(url, {
    method: 'PUT',
    headers: { ...auth, 'content-type': 'application/json', 'if-match': current.headers.get('etag') ?? '' },
    body: JSON.stringify({
      variants: [
        { version: '1', weight: weight1 },
        { version: '2', weight: 100 - weight1 },
      ],
    }),
  });
  return { status: res.status, body: await res.json() };
}

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${registry.url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      total += Number(line.split(' ').pop());
  }
  return total;
}

const tempEntries = async () =>
  (await listTree(store)).filter((p) => path.basename(p).startsWith('.tmp-') || p.endsWith('.lock'));

describeMounted('registry on a full disk', () => {
  beforeAll(async () => {
    await writeStore(store, 'iris', ['1', '2']);
    registry = await startService(['registry'], { env: { MODEL_STORE: store, ADMIN_TOKEN: TOKEN } });
    fillDisk();
  }, 60_000);

  afterAll(async () => {
    await registry?.stop();
    try {
      execFileSync('umount', [mountPoint]);
    } catch {
      // already gone
    }
    rmSync(mountPoint, { recursive: true, force: true });
  });

  it('answers a policy change with 507 naming ENOSPC, 35 times over, leaving no temp or lock file', async () => {
    const before = await listTree(store);
    for (let i = 0; i < 35; i++) {
      const res = await putPolicy(i % 2 === 0 ? 40 : 60);
      expect(res.status).toBe(507);
      expect(res.body.error.code).toBe('insufficient_storage');
      expect(res.body.error.message).toMatch(/ENOSPC/);
      expect(res.body.error.message).toMatch(/no space left/i);
    }
    expect(await tempEntries()).toEqual([]);
    expect(await listTree(store)).toEqual(before);
    expect(await metric('modelgate_registry_io_errors_total', { code: 'ENOSPC' })).toBeGreaterThanOrEqual(35);
  });

  it('answers an upload with 507 and removes its temp folder', async () => {
    const files = await tinyModelFiles();
    files.set('metadata.json', Buffer.from(JSON.stringify(tinyMetadata('iris', 'x', files))));
    const form = new FormData();
    for (const [name, data] of files) form.append('files', new Blob([new Uint8Array(data)]), name);
    const res = await fetch(`${registry.url}/models/iris/versions`, {
      method: 'POST',
      headers: auth,
      body: form,
    });
    const body = (await res.json()) as any;
    expect(res.status).toBe(507);
    expect(body.error.message).toMatch(/ENOSPC/);
    expect(await tempEntries()).toEqual([]);
  });

  it('writes again once space is freed', async () => {
    rmSync(filler);
    const res = await putPolicy(70);
    expect(res.status).toBe(200);
    expect(res.body.variants[0]).toEqual({ version: '1', weight: 70 });
    expect(await tempEntries()).toEqual([]);
  });
});
