/** Rollout: a candidate's progress from shadow to all traffic. The step timeline with every step's
 * time and labelled rows against the minimums, each gate's state, what it waits for, start (with its
 * gates) / pause / resume / abort (each confirmed first), and the transitions with their reasons.
 * Refreshes every 2 s. */
import { useState } from 'preact/hooks';
import { ApiError, call, get, modelPath } from '../api';
import { ChangeTable, ConfirmDialog, Loading, Notice, Updated } from '../components/ui';
import { useResource, useTokenPresent } from '../hooks';
import { writeErrorText } from '../logic/errors';
import { formatP, formatTime } from '../logic/format';
import {
  DEFAULT_GATES,
  type GateChoices,
  gatesBody,
  gatesText,
  isFinal,
  parseSteps,
  type RolloutView,
  stateLevel,
  stateText,
  stepLabel,
  stepMinimums,
  stepStatuses,
} from '../logic/rollout';
import { readToken } from '../token';

const REFRESH_MS = 2000;

async function loadRollout(model: string, signal: AbortSignal): Promise<RolloutView | null> {
  try {
    return await get<RolloutView>(modelPath(model, '/rollouts/current'), signal);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

function useWrite(onDone: () => void) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const hasToken = useTokenPresent(readToken);
  const run = async (path: string, body?: unknown) => {
    setBusy(true);
    setError(undefined);
    try {
      await call(path, { method: 'POST', body });
      onDone();
      return true;
    } catch (err) {
      setError(err instanceof ApiError ? writeErrorText(err, hasToken) : String(err));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run };
}

function StartRollout(props: { model: string; onStarted(): void }) {
  const detail = useResource(
    (signal) =>
      get<{ versions: { version: string; aliases: string[]; weight: number }[] }>(
        modelPath(props.model),
        signal,
      ),
    [props.model],
  );
  const versions = detail.data?.versions ?? [];
  const stable = versions.find((v) => v.aliases.includes('stable'))?.version;
  const [candidate, setCandidate] = useState<string | undefined>();
  const [steps, setSteps] = useState('5,25,50,100');
  const [shadow, setShadow] = useState(false);
  const [minSeconds, setMinSeconds] = useState('300');
  const [minLabelled, setMinLabelled] = useState('500');
  const [maxSeconds, setMaxSeconds] = useState('86400');
  const [gateChoices, setGateChoices] = useState<GateChoices>(DEFAULT_GATES);
  const [confirming, setConfirming] = useState(false);
  const write = useWrite(props.onStarted);
  if (!versions.length) return null;
  const chosen =
    candidate ??
    versions.find((v) => v.version !== stable && v.weight < 100)?.version ??
    versions[0]!.version;
  const parsed = parseSteps(steps, shadow ? 10 : undefined);
  const numbers = [minSeconds, minLabelled, maxSeconds].map(Number);
  const numberProblem = numbers.some((n) => !(Number.isFinite(n) && n >= 0))
    ? 'minimums and the deadline must be numbers ≥ 0'
    : undefined;
  const gates = gatesBody(gateChoices);
  const problem = typeof parsed === 'string' ? parsed : typeof gates === 'string' ? gates : numberProblem;
  const body =
    typeof parsed === 'string' || typeof gates === 'string'
      ? undefined
      : {
          candidate: chosen,
          steps: parsed,
          step_min_seconds: numbers[0],
          step_min_labelled: numbers[1],
          max_seconds: numbers[2],
          gates,
        };
  return (
    <form
      class="card"
      aria-label="Start a rollout"
      onSubmit={(e) => {
        e.preventDefault();
        if (!problem) setConfirming(true);
      }}
    >
      <h2>Start a rollout</h2>
      {write.error ? <Notice kind="error">{write.error}</Notice> : null}
      <div class="filters">
        <div>
          <label for="ro-candidate">Candidate version</label>
          <select
            id="ro-candidate"
            value={chosen}
            onChange={(e) => setCandidate((e.target as HTMLSelectElement).value)}
          >
            {versions.map((v) => (
              <option key={v.version} value={v.version}>
                v{v.version}
                {v.aliases.length ? ` (${v.aliases.join(', ')})` : ''}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="ro-steps">Steps (% of traffic)</label>
          <input
            id="ro-steps"
            type="text"
            value={steps}
            onInput={(e) => setSteps((e.target as HTMLInputElement).value)}
          />
        </div>
        <div>
          <label class="check">
            <input
              type="checkbox"
              checked={shadow}
              onChange={(e) => setShadow((e.target as HTMLInputElement).checked)}
            />
            Shadow 10 % first
          </label>
        </div>
        <div>
          <label for="ro-min-seconds">Minimum per step (s)</label>
          <input
            id="ro-min-seconds"
            type="number"
            min={0}
            value={minSeconds}
            onInput={(e) => setMinSeconds((e.target as HTMLInputElement).value)}
          />
        </div>
        <div>
          <label for="ro-min-labelled">Minimum labelled rows per step</label>
          <input
            id="ro-min-labelled"
            type="number"
            min={0}
            value={minLabelled}
            onInput={(e) => setMinLabelled((e.target as HTMLInputElement).value)}
          />
        </div>
        <div>
          <label for="ro-max-seconds">Deadline (s)</label>
          <input
            id="ro-max-seconds"
            type="number"
            min={1}
            value={maxSeconds}
            onInput={(e) => setMaxSeconds((e.target as HTMLInputElement).value)}
          />
        </div>
      </div>
      <fieldset>
        <legend>Gates (the registry's defaults)</legend>
        <p class="muted small">
          A violated gate rolls back at once; inconclusive evidence waits. An empty budget or ceiling means no
          such gate.
        </p>
        <div class="filters">
          <div>
            <label class="check">
              <input
                type="checkbox"
                checked={gateChoices.accuracy}
                onChange={(e) =>
                  setGateChoices({ ...gateChoices, accuracy: (e.target as HTMLInputElement).checked })
                }
              />
              Accuracy not worse than the control
            </label>
          </div>
          <div>
            <label class="check">
              <input
                type="checkbox"
                checked={gateChoices.errorRate}
                onChange={(e) =>
                  setGateChoices({ ...gateChoices, errorRate: (e.target as HTMLInputElement).checked })
                }
              />
              Error rate not worse than the control
            </label>
          </div>
          <div>
            <label for="ro-latency">p95 latency budget over the control (%)</label>
            <input
              id="ro-latency"
              type="number"
              min={0}
              value={gateChoices.latencyPercent}
              onInput={(e) =>
                setGateChoices({ ...gateChoices, latencyPercent: (e.target as HTMLInputElement).value })
              }
            />
          </div>
          <div>
            <label for="ro-drift">Drift PSI at most</label>
            <input
              id="ro-drift"
              type="number"
              min={0}
              step={0.01}
              value={gateChoices.driftPsi}
              onInput={(e) =>
                setGateChoices({ ...gateChoices, driftPsi: (e.target as HTMLInputElement).value })
              }
            />
          </div>
        </div>
      </fieldset>
      {problem ? <Notice kind="error">Cannot start: {problem}.</Notice> : null}
      <button type="submit" class="primary" disabled={!!problem}>
        Review rollout…
      </button>
      <ConfirmDialog
        open={confirming}
        title={`Roll out v${chosen} of ${props.model}?`}
        confirmLabel="Start rollout"
        busy={write.busy}
        onConfirm={async () => {
          if (await write.run(modelPath(props.model, '/rollouts'), body)) setConfirming(false);
          else setConfirming(false);
        }}
        onCancel={() => setConfirming(false)}
      >
        <ChangeTable
          lines={[
            { what: 'rollout', before: 'none running', after: `v${chosen}` },
            {
              what: 'steps',
              before: '—',
              after: typeof parsed === 'string' ? '—' : parsed.map(stepLabel).join(' → '),
            },
            {
              what: 'each step waits at least',
              before: '—',
              after: `${minSeconds} s and ${minLabelled} labelled rows`,
            },
            {
              what: 'gates',
              before: '—',
              after: typeof gates === 'string' ? '—' : gatesText(gates),
            },
          ]}
        />
        <p class="small">
          The registry changes the weights itself at each step and writes every transition to the audit log.
        </p>
      </ConfirmDialog>
    </form>
  );
}

function Controls(props: { model: string; view: RolloutView; onDone(): void }) {
  const [verb, setVerb] = useState<'pause' | 'resume' | 'abort' | undefined>();
  const write = useWrite(props.onDone);
  const { state } = props.view;
  if (isFinal(state)) return null;
  const after: Record<string, string> = {
    pause: 'paused (weights stay where they are)',
    resume: 'running',
    abort: 'aborted (weights and labels back as before the rollout)',
  };
  return (
    <div class="actions">
      {write.error ? <Notice kind="error">{write.error}</Notice> : null}
      {state === 'paused' ? (
        <button type="button" onClick={() => setVerb('resume')}>
          Resume…
        </button>
      ) : (
        <button type="button" onClick={() => setVerb('pause')}>
          Pause…
        </button>
      )}
      <button type="button" class="danger" onClick={() => setVerb('abort')}>
        Abort…
      </button>
      <ConfirmDialog
        open={verb !== undefined}
        title={`${verb ? verb[0]!.toUpperCase() + verb.slice(1) : ''} the rollout of v${props.view.candidate}?`}
        confirmLabel={
          verb === 'abort' ? 'Abort rollout' : verb === 'pause' ? 'Pause rollout' : 'Resume rollout'
        }
        busy={write.busy}
        onConfirm={async () => {
          if (verb) await write.run(modelPath(props.model, `/rollouts/current/${verb}`));
          setVerb(undefined);
        }}
        onCancel={() => setVerb(undefined)}
      >
        <ChangeTable
          lines={[{ what: 'rollout', before: stateText(state), after: verb ? after[verb]! : '' }]}
        />
      </ConfirmDialog>
    </div>
  );
}

/** A minimum met (ok), not yet met (waiting), or for a step not begun (plain). */
function MinimumMark(props: { met: boolean | null; children: string }) {
  if (props.met === null) return <span class="muted">{props.children}</span>;
  return <span class={`level level-${props.met ? 'ok' : 'waiting'}`}>{props.children}</span>;
}

function Rollout(props: { model: string; view: RolloutView; updatedAt: number | undefined; reload(): void }) {
  const v = props.view;
  const statuses = stepStatuses(v);
  const minimums = stepMinimums(v, props.updatedAt ?? Date.now());
  return (
    <>
      <section class="card" aria-labelledby="rollout-state">
        <h2 id="rollout-state">
          v{v.candidate} against v{v.control}:{' '}
          <span class={`level level-${stateLevel(v.state)}`}>{stateText(v.state)}</span>
        </h2>
        <p class="small">
          Rollout <code>{v.id}</code>
          {v.started_at ? `, started ${formatTime(v.started_at)}` : ''}
          {v.ended_at ? `, ended ${formatTime(v.ended_at)}` : ''}
          {v.deadline_at && !v.ended_at ? `, deadline ${formatTime(v.deadline_at)}` : ''}
          {v.experiment_id ? (
            <>
              {' '}
              · experiment <a href={`#/experiment/${props.model}`}>{v.experiment_id}</a>
            </>
          ) : null}
        </p>
        <ol class="steps" aria-label="Steps">
          {v.steps.map((s, i) => (
            <li key={i} class={statuses[i]} aria-current={statuses[i] === 'current' ? 'step' : undefined}>
              {i + 1}. {stepLabel(s)} <span class="small muted">({statuses[i]})</span>
              <div class="small">
                <MinimumMark met={minimums[i]!.timeMet}>{minimums[i]!.time}</MinimumMark> ·{' '}
                <MinimumMark met={minimums[i]!.rowsMet}>{minimums[i]!.rows}</MinimumMark>
              </div>
            </li>
          ))}
        </ol>
        {!isFinal(v.state) ? (
          <ul class="plain small">
            {v.waiting_for ? <li>Waiting for: {v.waiting_for}</li> : null}
            {v.paused_reason ? <li>Paused: {v.paused_reason}</li> : null}
          </ul>
        ) : null}
        {v.weights ? (
          <p class="small">
            Weights now:{' '}
            {Object.entries(v.weights)
              .map(([ver, w]) => `v${ver} ${w} %`)
              .join(' · ')}
          </p>
        ) : null}
        {v.warnings?.map((w) => (
          <Notice kind="warn" key={w}>
            {w}
          </Notice>
        ))}
        <Controls model={props.model} view={v} onDone={props.reload} />
      </section>
      <section class="card" aria-labelledby="gates">
        <h2 id="gates">Gates</h2>
        {v.gates.length === 0 ? (
          <p class="muted">
            No gate has been evaluated yet: gates are read once the step has its minimum evidence.
          </p>
        ) : null}
        <div class="scroll" hidden={v.gates.length === 0}>
          <table>
            <thead>
              <tr>
                <th scope="col">Gate</th>
                <th scope="col">State</th>
                <th scope="col" class="num">
                  p
                </th>
                <th scope="col">Evidence</th>
              </tr>
            </thead>
            <tbody>
              {v.gates.map((g) => (
                <tr key={g.name}>
                  <th scope="row">{g.name.replace(/_/g, ' ')}</th>
                  <td>
                    <span class={`level level-${g.ok === true ? 'ok' : g.ok === false ? 'bad' : 'waiting'}`}>
                      {g.ok === true ? 'holds' : g.ok === false ? 'violated' : 'waiting'} (
                      {stateText(g.verdict ?? 'not evaluated')})
                    </span>
                  </td>
                  <td class="num">{formatP(g.p_value)}</td>
                  <td class="small">{g.text}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <section class="card" aria-labelledby="transitions">
        <h2 id="transitions">Transitions</h2>
        <ol class="timeline" aria-label="Transitions, newest first">
          {[...v.history].reverse().map((h, i) => (
            <li key={`${h.at}-${i}`}>
              <time dateTime={h.at}>{formatTime(h.at)}</time>
              <strong>
                {stateText(h.from)} → {stateText(h.to)}
              </strong>
              {typeof h.step_index === 'number' ? (
                <span class="muted small"> (step {h.step_index + 1})</span>
              ) : null}
              <div class="small">{[h.reason, h.text].filter(Boolean).join(': ')}</div>
            </li>
          ))}
        </ol>
        <p class="small">
          Every transition is also in the <a href={`#/audit/${props.model}`}>audit log</a>.
        </p>
      </section>
    </>
  );
}

export function RolloutPage(props: { model: string }) {
  const { model } = props;
  const rollout = useResource((signal) => loadRollout(model, signal), [model], REFRESH_MS);
  const r = rollout.data;
  return (
    <>
      <h1>Rollout · {model}</h1>
      {rollout.error ? (
        <Notice kind="error">Could not load the rollout: {rollout.error.message}</Notice>
      ) : null}
      {r === undefined && !rollout.error ? <Loading what="the rollout" /> : null}
      {r === null ? <p>No rollout has run for {model} yet.</p> : null}
      {r ? <Rollout model={model} view={r} updatedAt={rollout.updatedAt} reload={rollout.reload} /> : null}
      {r === null || (r && isFinal(r.state)) ? (
        <StartRollout model={model} onStarted={rollout.reload} />
      ) : null}
      <Updated at={rollout.updatedAt} everyS={REFRESH_MS / 1000} />
    </>
  );
}
