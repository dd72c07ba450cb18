/** What a policy change does, in words, for the confirmation dialog (before → after) and for the
 * audit timeline; and the message shown when someone else changed the policy first. */
import { formatTime } from './format';

export interface PolicyView {
  variants: { version: string; weight: number }[];
  sticky: { header: string } | null;
  shadow: { version: string; percent: number } | null;
  aliases: Record<string, string>;
  failover: boolean;
  revision: number;
}

export interface ChangeLine {
  what: string;
  before: string;
  after: string;
}

const weightOf = (p: Pick<PolicyView, 'variants'>, version: string) =>
  p.variants.find((v) => v.version === version)?.weight;

const stickyText = (s: PolicyView['sticky']) => (s ? `by header ${s.header}` : 'off (random per request)');
const shadowText = (s: PolicyView['shadow']) => (s ? `v${s.version} gets a copy of ${s.percent} %` : 'off');

/** One line per setting that differs, in a fixed order (weights by version, sticky, shadow, failover,
 * aliases). Empty when nothing changes. */
export function describePolicyChange(
  before: Omit<PolicyView, 'revision'>,
  after: Omit<PolicyView, 'revision'>,
): ChangeLine[] {
  const lines: ChangeLine[] = [];
  const versions = [...new Set([...before.variants, ...after.variants].map((v) => v.version))];
  for (const v of versions) {
    const b = weightOf(before, v);
    const a = weightOf(after, v);
    if (b !== a) {
      lines.push({
        what: `weight of v${v}`,
        before: b === undefined ? 'not in the split' : `${b} %`,
        after: a === undefined ? 'not in the split' : `${a} %`,
      });
    }
  }
  if (stickyText(before.sticky) !== stickyText(after.sticky))
    lines.push({
      what: 'sticky assignment',
      before: stickyText(before.sticky),
      after: stickyText(after.sticky),
    });
  if (shadowText(before.shadow) !== shadowText(after.shadow))
    lines.push({ what: 'shadow', before: shadowText(before.shadow), after: shadowText(after.shadow) });
  if (before.failover !== after.failover)
    lines.push({
      what: 'failover',
      before: before.failover ? 'on' : 'off',
      after: after.failover ? 'on' : 'off',
    });
  const aliases = [
    ...new Set([...Object.keys(before.aliases ?? {}), ...Object.keys(after.aliases ?? {})]),
  ].sort();
  for (const a of aliases) {
    const b = before.aliases?.[a];
    const n = after.aliases?.[a];
    if (b !== n)
      lines.push({
        what: `label ${a}`,
        before: b === undefined ? 'unset' : `v${b}`,
        after: n === undefined ? 'unset' : `v${n}`,
      });
  }
  return lines;
}

export interface AuditView {
  at: string;
  who: string;
  action: string;
  model: string;
  version?: string;
  before: unknown;
  after: unknown;
}

function revisionOf(x: unknown): number | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const r = (x as { revision?: unknown }).revision;
  return typeof r === 'number' ? r : undefined;
}

/** The audit entries that moved the policy past `readRevision`, oldest first. */
export function changesSince(entries: readonly AuditView[], readRevision: number): AuditView[] {
  return entries
    .filter((e) => {
      const r = revisionOf(e.after);
      return r !== undefined && r > readRevision;
    })
    .sort((a, b) => (revisionOf(a.after) ?? 0) - (revisionOf(b.after) ?? 0));
}

/** The stale-revision message: who changed the policy since it was read, when, and what they did. */
export function conflictMessage(options: {
  model: string;
  readRevision: number;
  currentRevision: number | undefined;
  changes: readonly AuditView[];
}): string {
  const { model, readRevision, currentRevision, changes } = options;
  const head = `The ${model} policy changed since you loaded it (you edited revision ${readRevision}${
    currentRevision === undefined ? '' : `, it is now at revision ${currentRevision}`
  }).`;
  if (changes.length === 0)
    return `${head} The audit log does not say who changed it yet. Reload to see the current policy; your edit was not applied.`;
  const who = changes.map((c) => {
    const lines = describePolicyChange(asPolicy(c.before), asPolicy(c.after));
    const what = lines.length ? lines.map((l) => `${l.what} ${l.before} → ${l.after}`).join(', ') : c.action;
    return `${c.who} at ${formatTime(c.at)}: ${what}`;
  });
  return `${head} Changed by ${who.join('; ')}. Reload to see their change; your edit was not applied.`;
}

/** A policy-shaped view of an audit snapshot, tolerating the null `before` of a model's creation. */
export function asPolicy(x: unknown): Omit<PolicyView, 'revision'> {
  const p = (typeof x === 'object' && x !== null ? x : {}) as Partial<PolicyView>;
  return {
    variants: Array.isArray(p.variants) ? p.variants : [],
    sticky: p.sticky ?? null,
    shadow: p.shadow ?? null,
    aliases: p.aliases ?? {},
    failover: p.failover ?? true,
  };
}
