/** SIGKILL at a random (seeded) moment during a stream of policy and alias writes, many times over
 * one store: after each restart every acknowledged revision must be on disk, policy.json and every
 * audit line must parse, and no temp file or lock may be left behind. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { policyInputSchema } from '../../../common/wire';
import { type Service, startService } from '../../helpers/processes';
import { listTree, writeStore } from '../../helpers/registry-fixtures';

const TRIALS = Number(process.env.CRASH_TRIALS ?? 30);
const SEED = Number(process.env.CRASH_SEED ?? 20261125);
const TOKEN = 'crash-token';
const headers = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };

/** mulberry32: a small seeded PRNG so a failing run can be replayed with CRASH_SEED. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Acked {
  revision: number;
  body: unknown;
}

let store: string;
let registry: Service | undefined;

beforeAll(async () => {
  store = await mkdtemp(path.join(tmpdir(), 'registry-crash-'));
  await writeStore(store, 'iris', ['1', '2', '3']);
});

afterAll(async () => {
  await registry?.stop('SIGKILL');
  await rm(store, { recursive: true, force: true });
});

/** Policy PUTs with If-Match, each waiting for its answer, until the process dies. */
async function policyStream(url: string, random: () => number, record: (ack: Acked) => void): Promise<void> {
  for (;;) {
    let etag: string;
    try {
      const res = await fetch(`${url}/models/iris/policy`);
      etag = res.headers.get('etag')!;
      await res.arrayBuffer();
    } catch {
      return;
    }
    const w = Math.floor(random() * 101);
    try {
      const res = await fetch(`${url}/models/iris/policy`, {
        method: 'PUT',
        headers: { ...headers, 'If-Match': etag },
        body: JSON.stringify({
          variants: [
            { version: '1', weight: w },
            { version: '2', weight: 100 - w },
          ],
          shadow: random() < 0.5 ? { version: '3', percent: Math.floor(random() * 50) } : null,
        }),
      });
      const body = (await res.json()) as { revision: number };
      if (res.status === 200) record({ revision: body.revision, body });
      else if (res.status !== 412) throw new Error(`unexpected ${res.status}: ${JSON.stringify(body)}`);
    } catch (err) {
      if ((err as Error).message.startsWith('unexpected')) throw err;
      return;
    }
  }
}

/** Alias moves without If-Match, racing the policy stream for the lock. */
async function aliasStream(url: string, random: () => number, record: (ack: Acked) => void): Promise<void> {
  for (;;) {
    try {
      const res = await fetch(`${url}/models/iris/aliases/canary`, {
        method: 'PUT',
        headers,
        body: JSON.stringify({ version: String(1 + Math.floor(random() * 3)) }),
      });
      const body = (await res.json()) as { revision: number };
      if (res.status !== 200) throw new Error(`unexpected ${res.status}: ${JSON.stringify(body)}`);
      record({ revision: body.revision, body });
    } catch (err) {
      if ((err as Error).message.startsWith('unexpected')) throw err;
      return;
    }
  }
}

async function checkStore(acked: Acked[]): Promise<{ recovered: number }> {
  const raw = await readFile(path.join(store, 'iris', 'policy.json'), 'utf8');
  const policy = policyInputSchema.parse(JSON.parse(raw));
  const maxAcked = Math.max(0, ...acked.map((a) => a.revision));
  expect(policy.revision).toBeGreaterThanOrEqual(maxAcked);

  const log = await readFile(path.join(store, 'iris', 'audit.jsonl'), 'utf8');
  expect(log.endsWith('\n')).toBe(true);
  const lines = log.split('\n').filter((l) => l !== '');
  const entries = lines.map((l) => JSON.parse(l) as { action: string; after: { revision?: number } | null });
  const policyRevisions = entries.map((e) => e.after?.revision).filter((r): r is number => r !== undefined);
  // Every revision from the first to the current one has exactly one audit line, in order.
  expect(policyRevisions).toEqual(policyRevisions.map((_, i) => policyRevisions[0]! + i));
  expect(policyRevisions[policyRevisions.length - 1]).toBe(policy.revision);
  const byRevision = new Map(entries.map((e) => [e.after?.revision, e.after]));
  for (const a of acked) expect(byRevision.get(a.revision)).toEqual(a.body);

  const leftovers = (await listTree(store)).filter((p) => path.basename(p).startsWith('.'));
  expect(leftovers).toEqual([]);
  return { recovered: entries.filter((e) => e.action === 'policy.recovered').length };
}

it(`keeps every acknowledged revision across ${TRIALS} SIGKILLs at random moments`, async () => {
  const random = seeded(SEED);
  const env = { MODEL_STORE: store, ADMIN_TOKEN: TOKEN };
  const acked: Acked[] = [];
  let recoveredLines = 0;
  let removedTempLogs = 0;
  registry = await startService(['registry'], { env });
  for (let trial = 0; trial < TRIALS; trial++) {
    const current = registry;
    const before = acked.length;
    // Kill at a random moment after the first acknowledgement of this run, so every trial interrupts
    // a live stream of writes however slow the machine is.
    let firstAck!: () => void;
    const acknowledged = new Promise<void>((resolve) => {
      firstAck = resolve;
    });
    const record = (ack: Acked) => {
      acked.push(ack);
      firstAck();
    };
    const streams = Promise.all([
      policyStream(current.url, random, record),
      aliasStream(current.url, random, record),
    ]);
    await acknowledged;
    await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 250)));
    await current.stop('SIGKILL');
    await streams;
    expect(acked.length).toBeGreaterThan(before);
    registry = await startService(['registry'], { env });
    if (registry.lines.some((l) => l.includes('removed temp files'))) removedTempLogs++;
    const { recovered } = await checkStore(acked);
    recoveredLines = recovered;
  }
  process.stdout.write(
    `crash test: ${TRIALS} SIGKILL trials (seed ${SEED}), ${acked.length} acknowledged writes all present; ` +
      `${removedTempLogs} restarts removed a dead process's temp files; ` +
      `${recoveredLines} policy changes were on disk without their audit line and were recovered\n`,
  );
}, 170_000);
