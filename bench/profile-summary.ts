/** Summarises a V8 .cpuprofile (from BENCH_PROFILE=... npm run bench): self time by function and by
 * package, so "what dominates" is one command away. Usage: node dist/bench/profile-summary.js FILE [N] */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export function summarise(profile: Profile, top = 25): string {
  const selfUs = new Map<number, number>();
  for (const [i, id] of profile.samples.entries()) {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0) || 1;
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    if (!us) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url.replace(/^file:\/\//, '');
    const key = `${functionName || '(anonymous)'} ${file ? `${file.split('/').slice(-2).join('/')}:${lineNumber + 1}` : ''}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    const pkg =
      /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1] ??
      (file.startsWith('node:')
        ? 'node core'
        : file.includes('/dist/')
          ? `modelgate ${file.split('/dist/')[1]?.split('/')[0]}`
          : functionName.startsWith('(')
            ? functionName
            : 'node core / native');
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
  }
  // Inclusive (self + callees) time per function, counting a recursive function once per stack.
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const inclusive = new Map<string, number>();
  const keyOf = (n: ProfileNode) => {
    const file = n.callFrame.url.replace(/^file:\/\//, '');
    return `${n.callFrame.functionName || '(anonymous)'} ${file ? `${file.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}` : ''}`;
  };
  const walk = (id: number, open: Set<string>): number => {
    const node = byId.get(id);
    if (!node) return 0;
    const key = keyOf(node);
    const nested = open.has(key);
    if (!nested) open.add(key);
    let us = selfUs.get(id) ?? 0;
    for (const child of node.children ?? []) us += walk(child, open);
    if (!nested) {
      open.delete(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
    return us;
  };
  const root = profile.nodes[0];
  if (root) walk(root.id, new Set());
  const busy = total - (byPackage.get('(idle)') ?? 0);
  const table = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => `${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`)
      .join('\n');
  const busyTable = [...inclusive.entries()]
    .filter(([k]) => !k.startsWith('(root)') && !k.startsWith('(idle)'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, us]) => `${((100 * us) / busy).toFixed(1).padStart(5)}%  ${k}`)
    .join('\n');
  return (
    `total sampled ${(total / 1e6).toFixed(2)} s, busy ${(busy / 1e6).toFixed(2)} s\n\nby package (self, % of all samples):\n${table(byPackage)}` +
    `\n\nby function (self, % of all samples):\n${table(byFunction)}\n\nby function (inclusive, % of busy time):\n${busyTable}\n`
  );
}

if (require.main === module) {
  const [file, n] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node dist/bench/profile-summary.js FILE.cpuprofile [TOP]\n');
    process.exit(2);
  }
  process.stdout.write(summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile, Number(n ?? 25)));
}
