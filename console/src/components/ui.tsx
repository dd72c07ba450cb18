/** Small shared pieces: status messages announced to screen readers, a loading line, the "updated
 * N s ago" note of live pages, and the confirmation dialog every write goes through. */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { formatTime } from '../logic/format';

export function Notice(props: { kind: 'error' | 'ok' | 'info' | 'warn'; children: ComponentChildren }) {
  return (
    <div
      class={`notice notice-${props.kind}`}
      role={props.kind === 'error' || props.kind === 'warn' ? 'alert' : 'status'}
    >
      {props.children}
    </div>
  );
}

export function Loading(props: { what: string }) {
  return (
    <p class="muted" role="status">
      Loading {props.what}…
    </p>
  );
}

export function LoadError(props: { error: Error | undefined; what: string }) {
  if (!props.error) return null;
  return (
    <Notice kind="error">
      Could not load {props.what}: {props.error.message}
    </Notice>
  );
}

export function Updated(props: { at: number | undefined; everyS?: number }) {
  if (!props.at) return null;
  return (
    <p class="muted small">
      Updated {formatTime(props.at)}
      {props.everyS ? `, refreshes every ${props.everyS} s` : ''}
    </p>
  );
}

/** A native modal <dialog>: focus moves into it, Escape cancels, Tab stays inside. */
export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  confirmLabel: string;
  busy?: boolean;
  onConfirm(): void;
  onCancel(): void;
  children: ComponentChildren;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) d.showModal();
    if (!props.open && d.open) d.close();
  }, [props.open]);
  return (
    <dialog
      ref={ref}
      aria-labelledby="confirm-title"
      onCancel={(e) => {
        e.preventDefault();
        props.onCancel();
      }}
    >
      <h2 id="confirm-title">{props.title}</h2>
      {props.children}
      <div class="actions">
        <button type="button" class="primary" disabled={props.busy} onClick={props.onConfirm}>
          {props.busy ? 'Working…' : props.confirmLabel}
        </button>
        <button type="button" onClick={props.onCancel} disabled={props.busy}>
          Cancel
        </button>
      </div>
    </dialog>
  );
}

export function ChangeTable(props: { lines: { what: string; before: string; after: string }[] }) {
  return (
    <table class="change">
      <caption class="sr-only">Before and after</caption>
      <thead>
        <tr>
          <th scope="col">Setting</th>
          <th scope="col">Before</th>
          <th scope="col">After</th>
        </tr>
      </thead>
      <tbody>
        {props.lines.map((l) => (
          <tr key={l.what}>
            <th scope="row">{l.what}</th>
            <td>{l.before}</td>
            <td>
              <strong>{l.after}</strong>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
