/** Traffic: the weights editor (the sum stays 100: typing one share rebalances the others), sticky
 * assignment and shadow. Every write shows before → after and asks first; it carries If-Match with
 * the revision read, and when someone changed the policy meanwhile the page says who (from the audit
 * log) and offers to reload. */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, call, get, modelPath } from '../api';
import { ChangeTable, ConfirmDialog, LoadError, Loading, Notice } from '../components/ui';
import { useResource, useTokenPresent } from '../hooks';
import { writeErrorText } from '../logic/errors';
import { changesSince, conflictMessage, describePolicyChange, type PolicyView } from '../logic/policy-change';
import {
  editorRows,
  evenSplit,
  parsePercent,
  setWeight,
  sumOf,
  variantsToWrite,
  type WeightRow,
} from '../logic/weights';
import { readToken } from '../token';
import type { AuditPage, ModelDetail } from '../types';

interface Loaded {
  policy: PolicyView;
  etag: string;
  versions: string[];
}

async function loadTraffic(model: string, signal: AbortSignal): Promise<Loaded> {
  const [detail, policy] = await Promise.all([
    get<ModelDetail>(modelPath(model), signal),
    call<PolicyView>(modelPath(model, '/policy'), { signal }),
  ]);
  return {
    policy: policy.body,
    etag: policy.etag ?? `"${policy.body.revision}"`,
    versions: detail.versions.map((v) => v.version),
  };
}

interface Draft {
  rows: WeightRow[];
  stickyOn: boolean;
  stickyHeader: string;
  shadowVersion: string;
  shadowPercent: string;
  failover: boolean;
}

function draftOf(loaded: Loaded): Draft {
  const p = loaded.policy;
  return {
    rows: editorRows(p.variants, loaded.versions),
    stickyOn: p.sticky !== null,
    stickyHeader: p.sticky?.header ?? 'x-user-id',
    shadowVersion: p.shadow?.version ?? '',
    shadowPercent: String(p.shadow?.percent ?? 10),
    failover: p.failover,
  };
}

function policyOf(draft: Draft, before: PolicyView): Omit<PolicyView, 'revision'> {
  const shadowPercent = Number(draft.shadowPercent);
  return {
    variants: variantsToWrite(draft.rows, before.variants),
    sticky: draft.stickyOn ? { header: draft.stickyHeader.trim() } : null,
    shadow: draft.shadowVersion ? { version: draft.shadowVersion, percent: shadowPercent } : null,
    aliases: before.aliases,
    failover: draft.failover,
  };
}

function draftProblem(draft: Draft): string | undefined {
  if (sumOf(draft.rows) !== 100) return `weights sum to ${sumOf(draft.rows)} %, they must sum to 100 %`;
  if (draft.stickyOn && !/^[a-z0-9-]{1,64}$/i.test(draft.stickyHeader.trim()))
    return 'the sticky header must be an HTTP header name such as x-user-id';
  if (draft.shadowVersion) {
    const p = Number(draft.shadowPercent);
    if (!(p >= 0 && p <= 100)) return 'the shadow percentage must be a number from 0 to 100';
  }
  return undefined;
}

type Outcome =
  | { kind: 'saved'; revision: number }
  | { kind: 'conflict'; text: string }
  | { kind: 'refused'; text: string };

export function TrafficPage(props: { model: string }) {
  const { model } = props;
  const loaded = useResource((signal) => loadTraffic(model, signal), [model]);
  const [draft, setDraft] = useState<Draft | undefined>();
  const [base, setBase] = useState<WeightRow[] | undefined>();
  const [typed, setTyped] = useState<Record<string, string>>({});
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | undefined>();
  const hasToken = useTokenPresent(readToken);

  useEffect(() => {
    if (loaded.data) {
      setDraft(draftOf(loaded.data));
      setTyped({});
    }
  }, [loaded.data]);

  if (!loaded.data || !draft) {
    return (
      <>
        <h1>Traffic · {model}</h1>
        <LoadError error={loaded.error} what={`the ${model} policy`} />
        {!loaded.error ? <Loading what="the policy" /> : null}
      </>
    );
  }
  const before = loaded.data.policy;
  const after = policyOf(draft, before);
  const lines = describePolicyChange(before, after);
  const problem = draftProblem(draft);

  const typeWeight = (version: string, text: string) => {
    setTyped((t) => ({ ...t, [version]: text }));
    const value = parsePercent(text);
    if (value === undefined) return;
    setDraft({ ...draft, rows: setWeight(base ?? draft.rows, version, value) });
  };

  const apply = async () => {
    setBusy(true);
    try {
      const res = await call<PolicyView>(modelPath(model, '/policy'), {
        method: 'PUT',
        body: after,
        ifMatch: loaded.data!.etag,
      });
      setOutcome({ kind: 'saved', revision: res.body.revision });
      setConfirming(false);
      loaded.reload();
    } catch (err) {
      setConfirming(false);
      if (err instanceof ApiError && err.status === 412) {
        const current =
          (err.details as { current_revision?: number; currentRevision?: number } | undefined) ?? {};
        const audit = await get<AuditPage>(modelPath(model, '/audit?limit=50')).catch(() => undefined);
        setOutcome({
          kind: 'conflict',
          text: conflictMessage({
            model,
            readRevision: before.revision,
            currentRevision: current.current_revision ?? current.currentRevision,
            changes: changesSince(audit?.entries ?? [], before.revision),
          }),
        });
      } else if (err instanceof ApiError) {
        setOutcome({ kind: 'refused', text: writeErrorText(err, hasToken) });
      } else {
        setOutcome({ kind: 'refused', text: String(err) });
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <h1>Traffic · {model}</h1>
      <p class="muted small">
        Policy revision {before.revision}. Weights are whole percentages of requests; they always add up to
        100 %.
      </p>
      {outcome?.kind === 'saved' ? (
        <Notice kind="ok">Saved: the policy is now at revision {outcome.revision}.</Notice>
      ) : null}
      {outcome?.kind === 'refused' ? <Notice kind="error">{outcome.text}</Notice> : null}
      {outcome?.kind === 'conflict' ? (
        <Notice kind="warn">
          <p>{outcome.text}</p>
          <button
            type="button"
            onClick={() => {
              setOutcome(undefined);
              loaded.reload();
            }}
          >
            Reload the current policy
          </button>
        </Notice>
      ) : null}
      <form
        class="card"
        aria-label={`Traffic policy of ${model}`}
        onSubmit={(e) => {
          e.preventDefault();
          if (!problem && lines.length) setConfirming(true);
        }}
      >
        <fieldset>
          <legend>Weights</legend>
          {draft.rows.map((r) => {
            const id = `weight-${r.version}`;
            return (
              <div class="weight-row" key={r.version}>
                <label for={id}>Weight of v{r.version} (%)</label>
                <input
                  id={id}
                  type="number"
                  inputMode="numeric"
                  min={0}
                  max={100}
                  step={1}
                  value={typed[r.version] ?? String(r.weight)}
                  onFocus={() => setBase(draft.rows)}
                  onBlur={() => {
                    setBase(undefined);
                    setTyped({});
                  }}
                  onInput={(e) => typeWeight(r.version, (e.target as HTMLInputElement).value)}
                />
                <span class="bar" aria-hidden="true">
                  <span class="bar-fill" style={{ width: `${r.weight}%` }} />
                </span>
              </div>
            );
          })}
          <p class="small" aria-live="polite">
            Total: <strong>{sumOf(draft.rows)} %</strong>
            {sumOf(draft.rows) === 100 ? '' : ' (must be 100 %)'}
          </p>
          <button type="button" onClick={() => setDraft({ ...draft, rows: evenSplit(draft.rows) })}>
            Split evenly
          </button>
        </fieldset>
        <fieldset>
          <legend>Sticky assignment</legend>
          <label class="check">
            <input
              type="checkbox"
              checked={draft.stickyOn}
              onChange={(e) => setDraft({ ...draft, stickyOn: (e.target as HTMLInputElement).checked })}
            />
            Keep each user on one version, keyed by a request header
          </label>
          <label for="sticky-header">Sticky header name</label>
          <input
            id="sticky-header"
            type="text"
            disabled={!draft.stickyOn}
            value={draft.stickyHeader}
            onInput={(e) => setDraft({ ...draft, stickyHeader: (e.target as HTMLInputElement).value })}
          />
        </fieldset>
        <fieldset>
          <legend>Shadow</legend>
          <label for="shadow-version">
            Shadow version (gets a copy of requests; its answers are compared, never returned)
          </label>
          <select
            id="shadow-version"
            value={draft.shadowVersion}
            onChange={(e) => setDraft({ ...draft, shadowVersion: (e.target as HTMLSelectElement).value })}
          >
            <option value="">none</option>
            {loaded.data.versions.map((v) => (
              <option key={v} value={v}>
                v{v}
              </option>
            ))}
          </select>
          <label for="shadow-percent">Shadow share of requests (%)</label>
          <input
            id="shadow-percent"
            type="number"
            min={0}
            max={100}
            step={1}
            disabled={!draft.shadowVersion}
            value={draft.shadowPercent}
            onInput={(e) => setDraft({ ...draft, shadowPercent: (e.target as HTMLInputElement).value })}
          />
        </fieldset>
        <fieldset>
          <legend>Failover</legend>
          <label class="check">
            <input
              type="checkbox"
              checked={draft.failover}
              onChange={(e) => setDraft({ ...draft, failover: (e.target as HTMLInputElement).checked })}
            />
            Send a request to another version when its own has no healthy instance
          </label>
        </fieldset>
        {problem ? <Notice kind="error">Cannot save: {problem}.</Notice> : null}
        <div class="actions">
          <button type="submit" class="primary" disabled={!!problem || lines.length === 0}>
            Review change…
          </button>
          <button
            type="button"
            disabled={lines.length === 0}
            onClick={() => {
              setDraft(draftOf(loaded.data!));
              setTyped({});
            }}
          >
            Discard edits
          </button>
          {lines.length === 0 ? <span class="muted small">No changes yet.</span> : null}
          {!hasToken ? (
            <span class="muted small">Saving needs the admin token (top of the page).</span>
          ) : null}
        </div>
      </form>
      <ConfirmDialog
        open={confirming}
        title={`Change the ${model} policy?`}
        confirmLabel="Apply change"
        busy={busy}
        onConfirm={() => void apply()}
        onCancel={() => setConfirming(false)}
      >
        <p>This writes revision {before.revision + 1} of the policy; gateways pick it up within seconds.</p>
        <ChangeTable lines={lines} />
      </ConfirmDialog>
    </>
  );
}
