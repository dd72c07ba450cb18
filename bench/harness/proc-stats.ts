/** Per-process figures read from /proc (Linux): resident memory and open sockets, sampled from the
 * outside so the measured process does nothing extra to report them. */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export function rssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
    return kb === undefined ? Number.NaN : Number(kb) * 1024;
  } catch {
    return Number.NaN;
  }
}

export function openSockets(pid: number): number {
  try {
    let sockets = 0;
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) sockets++;
      } catch {
        // closed between readdir and readlink
      }
    }
    return sockets;
  } catch {
    return Number.NaN;
  }
}

/** Clock ticks per second of /proc/<pid>/stat times: 100 on every Linux build Node supports. */
const CLOCK_TICKS_PER_S = 100;

/** User + system CPU time the process has used so far, in µs (/proc/<pid>/stat fields 14 and 15). */
export function cpuMicros(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS_PER_S;
  } catch {
    return Number.NaN;
  }
}

/** The process and every descendant (cluster workers, uvicorn workers), from the ppid field of
 * /proc/<pid>/stat. */
export function processTree(root: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited meanwhile
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++)
    for (const [pid, ppid] of parent) if (ppid === tree[i]) tree.push(pid);
  return tree;
}

const treeCpu = (pids: readonly number[]) => pids.reduce((sum, p) => sum + cpuMicros(p), 0);

/** CPU per request of groups of processes ("proxy", "model-servers"...), tallied per arm around
 * every run (warm-up included): on a shared 2-core machine steadier than req/s. */
export class CpuTally {
  private readonly arms = new Map<
    string,
    { requests: number; answered: number; micros: Map<string, number> }
  >();

  /** Runs `run`, adding the CPU each group's processes (and their descendants) used meanwhile. */
  async measure<R extends { requests: number; failures: number }>(
    arm: string,
    groups: Record<string, readonly number[]>,
    run: () => Promise<R>,
  ): Promise<R> {
    const trees = Object.entries(groups).map(([name, roots]) => [name, roots.flatMap(processTree)] as const);
    const before = trees.map(([, pids]) => treeCpu(pids));
    const result = await run();
    const t = this.arms.get(arm) ?? { requests: 0, answered: 0, micros: new Map<string, number>() };
    t.requests += result.requests;
    t.answered += result.requests - result.failures;
    trees.forEach(([name, pids], i) => {
      t.micros.set(name, (t.micros.get(name) ?? 0) + treeCpu(pids) - before[i]!);
    });
    this.arms.set(arm, t);
    return result;
  }

  /** µs of the group's CPU per request of the arm (NaN when not measured). */
  perRequest(arm: string, group: string): number {
    const t = this.arms.get(arm);
    return t && t.requests > 0 ? (t.micros.get(group) ?? Number.NaN) / t.requests : Number.NaN;
  }

  /** The same per answer that was not an error: a shed 503 costs less than a proxied answer, so CPU
   * per request alone would flatter an arm that sheds under a loaded machine. */
  perAnswer(arm: string, group: string): number {
    const t = this.arms.get(arm);
    return t && t.answered > 0 ? (t.micros.get(group) ?? Number.NaN) / t.answered : Number.NaN;
  }
}
