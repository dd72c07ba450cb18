/** Models: every model with its versions, their metadata and held-out metrics, live instances,
 * traffic weight and labels (aliases). Refreshes every 5 s, so instances joining and leaving show. */
import { get, modelPath } from '../api';
import { LoadError, Loading, Updated } from '../components/ui';
import { useResource } from '../hooks';
import { formatAgo, formatCount, formatShare, formatTime } from '../logic/format';
import type { ModelDetail, ModelSummary } from '../types';

const REFRESH_MS = 5000;

async function loadModels(signal: AbortSignal): Promise<{ summary: ModelSummary; detail: ModelDetail }[]> {
  const summaries = (await get<{ models: ModelSummary[] }>('/models', signal)).models;
  return Promise.all(
    summaries.map(async (summary) => ({
      summary,
      detail: await get<ModelDetail>(modelPath(summary.name), signal),
    })),
  );
}

function metricText(name: string, value: number): string {
  if (/accuracy|rate|agreement/.test(name) && value >= 0 && value <= 1) return formatShare(value);
  if (/rows$/.test(name)) return formatCount(value);
  if (/seconds$/.test(name)) return `${Number(value.toPrecision(3))} s`;
  return String(Number(value.toPrecision(4)));
}

/** "heldout_rows" → "held-out rows"; "train_seconds" → "training time". */
function metricName(name: string): string {
  return name
    .replace(/^heldout/, 'held-out')
    .replace(/_seconds$/, ' time')
    .replace(/^train /, 'training ')
    .replace(/_/g, ' ');
}

function ModelCard(props: { summary: ModelSummary; detail: ModelDetail; now: number }) {
  const { summary, detail } = props;
  const policy = detail.policy;
  return (
    <section class="card" aria-labelledby={`model-${summary.name}`}>
      <h2 id={`model-${summary.name}`}>
        {summary.name}{' '}
        <span class="muted small">
          {formatCount(summary.versions.length)} versions · {formatCount(summary.live_instances)} live
          instances · policy revision {summary.revision}
        </span>
      </h2>
      <p class="small">
        Split: {policy.variants.map((v) => `v${v.version} ${v.weight} %`).join(' · ')}
        {policy.sticky ? ` · sticky by header ${policy.sticky.header}` : ' · not sticky'}
        {policy.shadow ? ` · shadow v${policy.shadow.version} ${policy.shadow.percent} %` : ''} ·{' '}
        <a href={`#/traffic/${summary.name}`}>change traffic</a>
      </p>
      <div class="scroll">
        <table>
          <caption class="sr-only">Versions of {summary.name}</caption>
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Labels</th>
              <th scope="col" class="num">
                Weight
              </th>
              <th scope="col">Live instances</th>
              <th scope="col">Held-out metrics</th>
              <th scope="col">Model</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {detail.versions.map((v) => (
              <tr key={v.version}>
                <th scope="row">v{v.version}</th>
                <td>
                  {v.aliases.length ? (
                    v.aliases.map((a) => (
                      <span class="tag" key={a}>
                        {a}
                      </span>
                    ))
                  ) : (
                    <span class="muted">none</span>
                  )}
                </td>
                <td class="num">{v.weight} %</td>
                <td>
                  {v.instances.length === 0 ? (
                    <span class="level level-significant">none live</span>
                  ) : (
                    <ul class="plain">
                      {v.instances.map((i) => (
                        <li key={i.url}>
                          <code>{i.url}</code>{' '}
                          <span class="muted small">
                            {i.backend ?? 'backend ?'}, heartbeat{' '}
                            {formatAgo(Date.parse(i.last_seen), props.now)}
                          </span>
                        </li>
                      ))}
                    </ul>
                  )}
                </td>
                <td>
                  <dl class="metrics">
                    {Object.entries(v.metrics).map(([k, x]) => (
                      <div key={k}>
                        <dt>{metricName(k)}</dt>
                        <dd>{metricText(k, x)}</dd>
                      </div>
                    ))}
                  </dl>
                </td>
                <td class="small">
                  {v.description}
                  <br />
                  <span class="muted">
                    {v.framework}, {v.format}; {formatCount(v.input_width)} inputs ({formatCount(v.features)}{' '}
                    named), {formatCount(v.labels.length)} classes
                  </span>
                </td>
                <td class="small">{formatTime(v.created)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

export function ModelsPage() {
  const models = useResource(loadModels, [], REFRESH_MS);
  return (
    <>
      <h1>Models</h1>
      <LoadError error={models.error} what="the models" />
      {models.data === undefined && !models.error ? <Loading what="models" /> : null}
      {models.data?.length === 0 ? <p>The store has no models yet: push one with `modelgate push`.</p> : null}
      {models.data?.map((m) => (
        <ModelCard
          key={m.summary.name}
          summary={m.summary}
          detail={m.detail}
          now={models.updatedAt ?? Date.now()}
        />
      ))}
      <Updated at={models.updatedAt} everyS={REFRESH_MS / 1000} />
    </>
  );
}
