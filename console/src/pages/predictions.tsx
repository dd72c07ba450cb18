/** Predictions: the latest stored prediction rows with their feedback, filtered by version and by
 * outcome (correct, incorrect, unlabelled), exported as CSV. Stored rows are an admin read, as on the
 * gateway's GET /predictions, so this page sends the tab's admin token. */
import { useState } from 'preact/hooks';
import type { StoredPrediction } from '../../../tracking/prediction-wire';
import { ApiError, call, get, modelPath } from '../api';
import { Loading, Notice, Updated } from '../components/ui';
import { useResource, useTokenPresent } from '../hooks';
import { toCsv } from '../logic/csv';
import { writeErrorText } from '../logic/errors';
import { formatCount, formatMs, formatShare, formatTime } from '../logic/format';
import { CSV_COLUMNS, type Outcome, predictionsQuery } from '../logic/predictions';
import { readToken } from '../token';

function download(name: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function PredictionsPage(props: { model: string }) {
  const { model } = props;
  const [version, setVersion] = useState('');
  const [outcome, setOutcome] = useState<Outcome>('');
  const [limit, setLimit] = useState(100);
  const hasToken = useTokenPresent(readToken);
  const versions = useResource(
    (signal) => get<{ versions: { version: string }[] }>(modelPath(model), signal),
    [model],
  );
  const rows = useResource(
    async (signal) =>
      (
        await call<{ predictions: StoredPrediction[] }>(
          modelPath(model, `/predictions?${predictionsQuery({ version, outcome, limit })}`),
          { signal, admin: true },
        )
      ).body.predictions,
    [model, version, outcome, limit, hasToken],
    5000,
  );
  const list = rows.data;
  const error = rows.error;
  return (
    <>
      <h1>Predictions · {model}</h1>
      <form class="filters" aria-label="Filter predictions" onSubmit={(e) => e.preventDefault()}>
        <div>
          <label for="pred-version">Version</label>
          <select
            id="pred-version"
            value={version}
            onChange={(e) => setVersion((e.target as HTMLSelectElement).value)}
          >
            <option value="">all versions</option>
            {versions.data?.versions.map((v) => (
              <option key={v.version} value={v.version}>
                v{v.version}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="pred-outcome">Feedback</label>
          <select
            id="pred-outcome"
            value={outcome}
            onChange={(e) => setOutcome((e.target as HTMLSelectElement).value as Outcome)}
          >
            <option value="">all rows</option>
            <option value="correct">correct</option>
            <option value="incorrect">incorrect</option>
            <option value="unlabelled">unlabelled</option>
          </select>
        </div>
        <div>
          <label for="pred-limit">Rows</label>
          <select
            id="pred-limit"
            value={String(limit)}
            onChange={(e) => setLimit(Number((e.target as HTMLSelectElement).value))}
          >
            {[100, 500, 1000].map((n) => (
              <option key={n} value={String(n)}>
                latest {n}
              </option>
            ))}
          </select>
        </div>
        <button
          type="button"
          disabled={!list?.length}
          onClick={() =>
            download(
              `${model}-predictions${version ? `-v${version}` : ''}${outcome ? `-${outcome}` : ''}.csv`,
              toCsv(CSV_COLUMNS, list ?? []),
            )
          }
        >
          Export CSV
        </button>
      </form>
      {error instanceof ApiError ? (
        <Notice kind="error">
          {error.status === 401 || error.status === 403
            ? writeErrorText(error, hasToken).replace('to make changes', 'to read stored predictions')
            : error.message}
        </Notice>
      ) : error ? (
        <Notice kind="error">Could not load predictions: {error.message}</Notice>
      ) : null}
      {list === undefined && !error ? <Loading what="predictions" /> : null}
      {list ? (
        <p class="muted small">
          {formatCount(list.length)} rows, newest first
          {list.length
            ? `; ${formatShare(list.filter((r) => r.correct === true).length / Math.max(1, list.filter((r) => r.correct !== null).length))} correct of ${formatCount(list.filter((r) => r.correct !== null).length)} labelled`
            : ''}
          .
        </p>
      ) : null}
      {list?.length ? (
        <div class="scroll">
          <table>
            <caption class="sr-only">Latest predictions of {model}</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Version</th>
                <th scope="col">Chosen by</th>
                <th scope="col" class="num">
                  Status
                </th>
                <th scope="col" class="num">
                  Latency
                </th>
                <th scope="col">Predicted</th>
                <th scope="col" class="num">
                  Confidence
                </th>
                <th scope="col">Label</th>
                <th scope="col">Request</th>
              </tr>
            </thead>
            <tbody>
              {list.map((r) => (
                <tr key={`${r.request_id}-${r.row}`}>
                  <td class="small">{formatTime(r.created_at)}</td>
                  <td>v{r.version}</td>
                  <td>{r.reason}</td>
                  <td class="num">{r.status}</td>
                  <td class="num">{formatMs(r.latency_ms)}</td>
                  <td>{r.predicted_class ?? '—'}</td>
                  <td class="num">{formatShare(r.confidence)}</td>
                  <td>
                    {r.label === null ? (
                      <span class="muted">unlabelled</span>
                    ) : (
                      <span class={`level level-${r.correct ? 'ok' : 'bad'}`}>
                        {r.label} ({r.correct ? 'correct' : 'incorrect'})
                      </span>
                    )}
                  </td>
                  <td class="small">
                    <code>{r.request_id}</code>
                    {r.row ? ` row ${r.row}` : ''}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <Updated at={rows.updatedAt} everyS={5} />
    </>
  );
}
