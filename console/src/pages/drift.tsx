/** Drift: what each live model-server's drift monitor measures on its recent window against the
 * training baseline in metadata.json, per feature and version, coloured by threshold (and labelled,
 * so colour is never the only signal). Refreshes every 5 s. */
import { get, modelPath } from '../api';
import { LoadError, Loading, Updated } from '../components/ui';
import { useResource } from '../hooks';
import { type DriftLevel, ksLevel, levelText, psiLevel } from '../logic/drift';
import { formatCount, formatNumber } from '../logic/format';
import type { DriftAnswer } from '../types';

const REFRESH_MS = 5000;

function Level(props: { level: DriftLevel; value: string }) {
  return (
    <span class={`level level-${props.level}`}>
      {props.value} <span class="small">({levelText(props.level)})</span>
    </span>
  );
}

export function DriftPage(props: { model: string }) {
  const { model } = props;
  const drift = useResource(
    (signal) => get<DriftAnswer>(modelPath(model, '/drift'), signal),
    [model],
    REFRESH_MS,
  );
  const d = drift.data;
  return (
    <>
      <h1>Drift · {model}</h1>
      <p class="small">
        PSI (population stability index) below {d?.thresholds.psi_moderate ?? 0.1} is stable, up to{' '}
        {d?.thresholds.psi_significant ?? 0.25} a moderate shift, above it significant (the alert fires
        there). KS is the largest gap between the window's and the training sample's distributions (0 to 1);
        it is significant above the critical value at the {(d?.thresholds.ks_alpha ?? 0.05) * 100} % level for
        the two sample sizes.
      </p>
      <LoadError error={drift.error} what="drift" />
      {!d && !drift.error ? <Loading what="drift readings" /> : null}
      {d?.versions.map((v) => (
        <section class="card" key={v.version} aria-labelledby={`drift-v${v.version}`}>
          <h2 id={`drift-v${v.version}`}>v{v.version}</h2>
          {v.instances.length === 0 ? (
            <p class="muted">No live instance of v{v.version}: nothing measures its traffic.</p>
          ) : null}
          {v.instances.map((i) => (
            <div key={i.url}>
              <p class="small">
                <code>{i.url}</code>:{' '}
                {i.ok ? (
                  <>
                    window of {formatCount(i.window_rows)} rows; predicted classes PSI{' '}
                    <Level level={psiLevel(i.prediction_psi)} value={formatNumber(i.prediction_psi)} />
                  </>
                ) : (
                  i.error
                )}
              </p>
              {i.ok && i.features.every((f) => f.psi === null) ? (
                <p class="muted">
                  Too few rows in the window yet ({formatCount(i.window_rows)}): small windows inflate PSI, so
                  the monitor waits for more traffic before it reports.
                </p>
              ) : null}
              {i.ok && i.features.some((f) => f.psi !== null) ? (
                <div class="scroll">
                  <table>
                    <caption class="sr-only">
                      Drift of v{v.version} at {i.url}
                    </caption>
                    <thead>
                      <tr>
                        <th scope="col">Feature</th>
                        <th scope="col">PSI</th>
                        <th scope="col">KS</th>
                        <th scope="col" class="num">
                          KS critical (5 %)
                        </th>
                        <th scope="col" class="num">
                          Rows (window / reference)
                        </th>
                      </tr>
                    </thead>
                    <tbody>
                      {i.features.map((f) => (
                        <tr key={f.name}>
                          <th scope="row">{f.name}</th>
                          <td>
                            <Level level={psiLevel(f.psi)} value={formatNumber(f.psi)} />
                          </td>
                          <td>
                            {f.continuous ? (
                              <Level level={ksLevel(f.ks, f.ks_critical)} value={formatNumber(f.ks)} />
                            ) : (
                              <span class="muted">categorical: PSI only</span>
                            )}
                          </td>
                          <td class="num">{formatNumber(f.ks_critical)}</td>
                          <td class="num">
                            {formatCount(i.window_rows)} / {formatCount(f.reference_rows)}
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              ) : null}
            </div>
          ))}
        </section>
      ))}
      <Updated at={drift.updatedAt} everyS={REFRESH_MS / 1000} />
    </>
  );
}
