import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readAudit } from '../../../registry/audit-log';
import { auditFile } from '../../../registry/store/paths';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'audit-'));
  await mkdir(path.join(root, 'iris'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

test('lines written before the snake_case rename read back with request_id', async () => {
  const base = {
    at: '2026-01-01T00:00:00Z',
    who: 'admin',
    action: 'alias.set',
    model: 'iris',
    before: 1,
    after: 2,
  };
  await writeFile(
    auditFile(root, 'iris'),
    `${JSON.stringify({ ...base, requestId: 'old' })}\n${JSON.stringify({ ...base, request_id: 'new' })}\n`,
  );
  const entries = await readAudit(root, 'iris');
  expect(entries.map((e) => [e.request_id, 'requestId' in e])).toEqual([
    ['old', false],
    ['new', false],
  ]);
});
