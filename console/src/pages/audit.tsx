/** Audit: every change to a model, newest first, from audit.jsonl (who, when, what before → after):
 * policy writes, labels, versions pushed or deleted, and the transitions experiments and rollouts log. */
import { useState } from 'preact/hooks';
import { get, modelPath } from '../api';
import { LoadError, Loading } from '../components/ui';
import { useResource } from '../hooks';
import { formatTime } from '../logic/format';
import { asPolicy, describePolicyChange } from '../logic/policy-change';
import type { AuditPage as AuditAnswer, AuditEntry } from '../types';

const PAGE = 50;

function looksLikePolicy(x: unknown): boolean {
  return typeof x === 'object' && x !== null && Array.isArray((x as { variants?: unknown }).variants);
}

function summary(e: AuditEntry): string {
  if (looksLikePolicy(e.after)) {
    const lines = describePolicyChange(asPolicy(e.before), asPolicy(e.after));
    const revision = (e.after as { revision?: number }).revision;
    const text = lines.map((l) => `${l.what}: ${l.before} → ${l.after}`).join('; ');
    return `${text || 'no setting changed'}${revision === undefined ? '' : ` (revision ${revision})`}`;
  }
  if (e.version) return `version ${e.version}`;
  if (e.after && typeof e.after === 'object') {
    const a = e.after as Record<string, unknown>;
    const parts = ['state', 'from', 'to', 'reason', 'step_index'].filter((k) => a[k] !== undefined);
    if (parts.length) return parts.map((k) => `${k.replace('_', ' ')} ${String(a[k])}`).join(', ');
  }
  return '';
}

export function AuditPage(props: { model: string }) {
  const { model } = props;
  const [count, setCount] = useState(PAGE);
  const audit = useResource(
    (signal) => get<AuditAnswer>(modelPath(model, `/audit?limit=${count}`), signal),
    [model, count],
    10_000,
  );
  const a = audit.data;
  return (
    <>
      <h1>Audit · {model}</h1>
      <LoadError error={audit.error} what="the audit log" />
      {!a && !audit.error ? <Loading what="the audit log" /> : null}
      {a ? (
        <p class="muted small">
          {a.total} changes recorded; showing the newest {Math.min(a.total, a.entries.length)}.
        </p>
      ) : null}
      {a?.total === 0 ? <p>No change recorded yet for {model}.</p> : null}
      <ol class="timeline" aria-label={`Changes to ${model}, newest first`}>
        {a?.entries.map((e, i) => (
          <li key={`${e.at}-${i}`}>
            <time dateTime={e.at}>{formatTime(e.at)}</time>
            <span class="tag">{e.action}</span> by <strong>{e.who}</strong>
            <div class="small">{summary(e)}</div>
            {e.reason ? <div class="small">reason: {e.reason}</div> : null}
            {e.request_id ? <div class="muted small">request {e.request_id}</div> : null}
          </li>
        ))}
      </ol>
      {a?.next_offset !== null && a?.next_offset !== undefined ? (
        <button type="button" onClick={() => setCount((c) => c + PAGE)}>
          Show older changes
        </button>
      ) : null}
    </>
  );
}
