/** Durable file primitives. A crash at any instant leaves either the old or the new file: data goes to
 * a temp file in the same folder (so rename stays on one file system and is atomic), is fsynced, then
 * renamed over the target, and the folder is fsynced so the rename itself survives a power cut. */
import { randomBytes } from 'node:crypto';
import { open, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** Every temp entry this process creates starts with this, so a restart can find and remove the
 * leftovers of a crashed process (but not those of a live one sharing the store). */
export const TEMP_PREFIX = '.tmp-';

/** Random per process: in a container the registry is pid 1 on every start, so the pid alone cannot
 * tell this process's temp files and locks from those of a crashed predecessor. */
export const PROCESS_INSTANCE = randomBytes(4).toString('hex');

export function tempName(label: string): string {
  return `${TEMP_PREFIX}${process.pid}-${PROCESS_INSTANCE}-${randomBytes(4).toString('hex')}-${label}`;
}

export async function fsyncPath(target: string): Promise<void> {
  const handle = await open(target, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function writeFileAtomic(file: string, data: string | Buffer): Promise<void> {
  const dir = path.dirname(file);
  const temp = path.join(dir, tempName(path.basename(file)));
  const handle = await open(temp, 'wx', 0o644);
  try {
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (err) {
    // A full disk fails the write (or the fsync); the half-written temp file must not stay behind.
    await rm(temp, { force: true });
    throw err;
  }
  await fsyncPath(dir);
}

/** Appends one line with a single write() and fsyncs it. A single write to a regular file is never
 * split by a process kill, so SIGKILL cannot tear a line; a power cut could, which is why readers skip
 * and `repairJsonl` truncates an unterminated tail (it was never acknowledged: answers wait for fsync). */
export async function appendDurable(file: string, line: string): Promise<void> {
  const handle = await open(file, 'a', 0o644);
  const { size } = await handle.stat().catch(() => ({ size: -1 }));
  try {
    await handle.write(line.endsWith('\n') ? line : `${line}\n`);
    await handle.sync();
  } catch (err) {
    // A write cut short by a full disk leaves part of a line: cut the file back to where it was.
    if (size >= 0) await handle.truncate(size).catch(() => undefined);
    throw err;
  } finally {
    await handle.close();
  }
}

/** Cuts a JSONL file back to its last complete line. Returns the bytes dropped. */
export async function repairJsonl(file: string): Promise<number> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, 'r+');
  } catch {
    return 0;
  }
  try {
    const { size } = await handle.stat();
    if (size === 0) return 0;
    const data = await handle.readFile();
    if (data[data.length - 1] === 0x0a) return 0;
    const keep = data.lastIndexOf(0x0a) + 1;
    await handle.truncate(keep);
    await handle.sync();
    return size - keep;
  } finally {
    await handle.close();
  }
}

/** Whether the process that wrote `pid`/`instance` may still be running on this host. */
export function ownerAlive(pid: number, instance: string): boolean {
  if (pid === process.pid) return instance === PROCESS_INSTANCE;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes temp entries in `dir` left by processes that no longer run. Returns what it removed. */
export async function removeStaleTemps(dir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of entries) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    const [pid, instance] = name.slice(TEMP_PREFIX.length).split('-');
    if (Number(pid) > 0 && ownerAlive(Number(pid), instance ?? '')) continue;
    await rm(path.join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  if (removed.length > 0) await fsyncPath(dir);
  return removed;
}
