/** Experiment: the current experiment's report as the registry computes it (the same JSON as the
 * gateway's GET /experiments/:model): SRM banner, "what to do now", the verdict table, the arms with
 * their sample sizes, and one chart per metric of the difference with its always-valid band over
 * time. Refreshes every 3 s without reloading the page; charts keep their canvas and take new data. */
import { useState } from 'preact/hooks';
import { ApiError, call, get, modelPath } from '../api';
import { DiffChart } from '../components/diff-chart';
import { ChangeTable, ConfirmDialog, Loading, Notice, Updated } from '../components/ui';
import { useResource, useTokenPresent } from '../hooks';
import { writeErrorText } from '../logic/errors';
import {
  formatCount,
  formatDifference,
  formatInterval,
  formatMs,
  formatNumber,
  formatP,
  formatRate,
  formatTime,
  metricLabel,
} from '../logic/format';
import { type HistoryPoint, historySeries, metricsInHistory } from '../logic/history';
import { actionKind, actionTitle, type Srm, srmText, verdictText } from '../logic/report';
import { readToken } from '../token';

const REFRESH_MS = 3000;

export interface Report {
  model: string;
  experiment: {
    id: string;
    control: string;
    candidates: string[];
    unit: string;
    status: string;
    started_at: string;
    ended_at: string | null;
  } | null;
  srm: Srm | null;
  /** Adaptive (bandit) allocation biases the naive per-arm estimates; the report says so. */
  allocation?: { kind: 'fixed' | 'adaptive'; warning: string | null };
  arms: {
    version: string;
    role: string;
    requests: number;
    rows?: number;
    errors: number;
    labelled: number;
    correct: number;
    units?: number;
    latency_p50_ms: number | null;
    latency_p95_ms: number | null;
    drift_psi_max: number | null;
  }[];
  comparisons: {
    candidate: string;
    metric: string;
    estimate: number | null;
    ci: [number, number] | null;
    p_value: number | null;
    p_value_adjusted: number | null;
    n: { control: number; candidate: number };
    verdict: string;
    more_rows_needed: number | null;
    text: string;
  }[];
  recommendation: { action: string; text: string } | null;
  history: HistoryPoint[];
}

/** undefined when no experiment is running (the API's 404), so the page can offer to start one. */
async function loadReport(model: string, signal: AbortSignal): Promise<Report | null> {
  try {
    return await get<Report>(modelPath(model, '/experiments/current/report'), signal);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

function StartExperiment(props: { model: string; onStarted(): void }) {
  const versions = useResource(
    (signal) =>
      get<{ versions: { version: string; aliases: string[]; weight: number }[] }>(
        modelPath(props.model),
        signal,
      ),
    [props.model],
  );
  const vs = versions.data?.versions ?? [];
  const stable =
    vs.find((v) => v.aliases.includes('stable'))?.version ??
    vs.slice().sort((a, b) => b.weight - a.weight)[0]?.version;
  const [control, setControl] = useState<string | undefined>();
  const [unit, setUnit] = useState<'request' | 'user'>('request');
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const hasToken = useTokenPresent(readToken);
  const chosenControl = control ?? stable;
  const candidates = vs.map((v) => v.version).filter((v) => v !== chosenControl);
  if (!vs.length) return null;
  const start = async () => {
    setBusy(true);
    try {
      await call(modelPath(props.model, '/experiments'), {
        method: 'POST',
        body: { control: chosenControl, candidates, unit },
      });
      setConfirming(false);
      props.onStarted();
    } catch (err) {
      setConfirming(false);
      setError(err instanceof ApiError ? writeErrorText(err, hasToken) : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form
      class="card"
      aria-label="Start an experiment"
      onSubmit={(e) => {
        e.preventDefault();
        setConfirming(true);
      }}
    >
      <h2>Start an experiment</h2>
      {error ? <Notice kind="error">{error}</Notice> : null}
      <div class="filters">
        <div>
          <label for="exp-control">Control version</label>
          <select
            id="exp-control"
            value={chosenControl}
            onChange={(e) => setControl((e.target as HTMLSelectElement).value)}
          >
            {vs.map((v) => (
              <option key={v.version} value={v.version}>
                v{v.version}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="exp-unit">Unit of analysis</label>
          <select
            id="exp-unit"
            value={unit}
            onChange={(e) => setUnit((e.target as HTMLSelectElement).value as 'request' | 'user')}
          >
            <option value="request">request</option>
            <option value="user">user (sticky key or user_id)</option>
          </select>
        </div>
        <button type="submit" class="primary" disabled={!candidates.length}>
          Start…
        </button>
      </div>
      <ConfirmDialog
        open={confirming}
        title={`Start an experiment on ${props.model}?`}
        confirmLabel="Start experiment"
        busy={busy}
        onConfirm={() => void start()}
        onCancel={() => setConfirming(false)}
      >
        <ChangeTable
          lines={[
            {
              what: 'experiment',
              before: 'none running',
              after: `v${chosenControl} (control) vs ${candidates.map((c) => `v${c}`).join(', ')}`,
            },
            { what: 'unit', before: '—', after: unit },
          ]}
        />
        <p class="small">Weights do not change; the split stays as the traffic policy has it.</p>
      </ConfirmDialog>
    </form>
  );
}

function StopExperiment(props: { model: string; id: string; onStopped(): void }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const hasToken = useTokenPresent(readToken);
  const stop = async () => {
    setBusy(true);
    try {
      await call(modelPath(props.model, `/experiments/${encodeURIComponent(props.id)}/stop`), {
        method: 'POST',
      });
      setConfirming(false);
      props.onStopped();
    } catch (err) {
      setConfirming(false);
      setError(err instanceof ApiError ? writeErrorText(err, hasToken) : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      {error ? <Notice kind="error">{error}</Notice> : null}
      <button type="button" onClick={() => setConfirming(true)}>
        Stop the experiment…
      </button>
      <ConfirmDialog
        open={confirming}
        title="Stop this experiment?"
        confirmLabel="Stop experiment"
        busy={busy}
        onConfirm={() => void stop()}
        onCancel={() => setConfirming(false)}
      >
        <ChangeTable
          lines={[
            { what: `experiment ${props.id}`, before: 'running', after: 'stopped (its evidence is kept)' },
          ]}
        />
        <p class="small">Traffic weights do not change.</p>
      </ConfirmDialog>
    </>
  );
}

export function ExperimentPage(props: { model: string }) {
  const { model } = props;
  const report = useResource((signal) => loadReport(model, signal), [model], REFRESH_MS);
  const r = report.data;
  if (r === undefined) {
    return (
      <>
        <h1>Experiment · {model}</h1>
        {report.error ? (
          <Notice kind="error">Could not load the report: {report.error.message}</Notice>
        ) : (
          <Loading what="the report" />
        )}
      </>
    );
  }
  if (r === null || !r.experiment) {
    return (
      <>
        <h1>Experiment · {model}</h1>
        <p>No experiment is running for {model}.</p>
        <StartExperiment model={model} onStarted={report.reload} />
      </>
    );
  }
  const e = r.experiment;
  const metrics = metricsInHistory(r.history);
  return (
    <>
      <h1>Experiment · {model}</h1>
      <p class="small">
        Experiment <code>{e.id}</code>, {e.status}: control v{e.control} against{' '}
        {e.candidates.map((c) => `v${c}`).join(', ')}, unit {e.unit}, since {formatTime(e.started_at)}
        {e.ended_at ? `, ended ${formatTime(e.ended_at)}` : ''}.
      </p>
      {r.srm ? <Notice kind={r.srm.ok ? 'info' : 'error'}>{srmText(r.srm)}</Notice> : null}
      {r.allocation?.warning ? <Notice kind="warn">{r.allocation.warning}</Notice> : null}
      {r.recommendation ? (
        <Notice kind={actionKind(r.recommendation.action)}>
          <strong>What to do now: {actionTitle(r.recommendation.action)}.</strong> {r.recommendation.text}
        </Notice>
      ) : null}
      <section class="card" aria-labelledby="verdicts">
        <h2 id="verdicts">Verdicts</h2>
        <p class="muted small">
          Always-valid intervals and p-values: safe to read at any time, as often as you like. p adjusted for
          the {r.comparisons.length} comparisons.
        </p>
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Candidate</th>
                <th scope="col">Metric</th>
                <th scope="col" class="num">
                  Difference
                </th>
                <th scope="col">95 % interval</th>
                <th scope="col" class="num">
                  p (adjusted)
                </th>
                <th scope="col" class="num">
                  n control / candidate
                </th>
                <th scope="col">Verdict</th>
              </tr>
            </thead>
            <tbody>
              {r.comparisons.map((c) => (
                <tr key={`${c.candidate}-${c.metric}`}>
                  <th scope="row">v{c.candidate}</th>
                  <td>{metricLabel(c.metric)}</td>
                  <td class="num">{formatDifference(c.metric, c.estimate)}</td>
                  <td>{formatInterval(c.metric, c.ci)}</td>
                  <td class="num">
                    {formatP(c.p_value)} ({formatP(c.p_value_adjusted)})
                  </td>
                  <td class="num">
                    {formatCount(c.n.control)} / {formatCount(c.n.candidate)}
                  </td>
                  <td>
                    <span class={`level level-${c.verdict}`}>{verdictText(c.verdict)}</span>
                    <div class="small">{c.text}</div>
                    {c.more_rows_needed ? (
                      <div class="muted small">
                        about {formatCount(c.more_rows_needed)} more labelled rows per arm
                      </div>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <section class="card" aria-labelledby="arms">
        <h2 id="arms">Arms</h2>
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col" class="num">
                  Requests
                </th>
                <th scope="col" class="num">
                  Errors
                </th>
                <th scope="col" class="num">
                  Accuracy (labelled rows)
                </th>
                <th scope="col" class="num">
                  Units
                </th>
                <th scope="col" class="num">
                  Latency p50 / p95
                </th>
                <th scope="col" class="num">
                  Drift PSI max
                </th>
              </tr>
            </thead>
            <tbody>
              {r.arms.map((a) => (
                <tr key={a.version}>
                  <th scope="row">
                    v{a.version} <span class="muted small">({a.role})</span>
                  </th>
                  <td class="num">{formatCount(a.requests)}</td>
                  <td class="num">{formatRate(a.errors, a.requests)}</td>
                  <td class="num">{formatRate(a.correct, a.labelled)}</td>
                  <td class="num">{formatCount(a.units)}</td>
                  <td class="num">
                    {formatMs(a.latency_p50_ms)} / {formatMs(a.latency_p95_ms)}
                  </td>
                  <td class="num">{formatNumber(a.drift_psi_max)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <section class="card" aria-labelledby="over-time">
        <h2 id="over-time">Over time</h2>
        {metrics.length === 0 ? (
          <p class="muted">No history yet: points appear as evidence comes in.</p>
        ) : null}
        <div class="charts">
          {metrics.map((m) => (
            <DiffChart key={m} series={historySeries(r.history, m)} />
          ))}
        </div>
      </section>
      {e.status === 'running' ? <StopExperiment model={model} id={e.id} onStopped={report.reload} /> : null}
      <Updated at={report.updatedAt} everyS={REFRESH_MS / 1000} />
    </>
  );
}
