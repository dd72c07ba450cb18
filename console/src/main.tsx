/** The console's shell: header (pages, model picker, admin token), and the page the hash names. */
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { get } from './api';
import { TokenBox } from './components/token-box';
import { useResource } from './hooks';
import { PAGE_TITLES, PAGES, type Page, parseRoute, type Route, routeHash } from './logic/route';
import { AuditPage } from './pages/audit';
import { DriftPage } from './pages/drift';
import { ExperimentPage } from './pages/experiment';
import { ModelsPage } from './pages/models';
import { PredictionsPage } from './pages/predictions';
import { RolloutPage } from './pages/rollout';
import { TrafficPage } from './pages/traffic';

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}

function PageFor(props: { page: Page; model: string }) {
  switch (props.page) {
    case 'traffic':
      return <TrafficPage model={props.model} />;
    case 'experiment':
      return <ExperimentPage model={props.model} />;
    case 'rollout':
      return <RolloutPage model={props.model} />;
    case 'drift':
      return <DriftPage model={props.model} />;
    case 'predictions':
      return <PredictionsPage model={props.model} />;
    case 'audit':
      return <AuditPage model={props.model} />;
    default:
      return <ModelsPage />;
  }
}

function App() {
  const route = useRoute();
  const models = useResource((signal) => get<{ models: { name: string }[] }>('/models', signal), []);
  const names = models.data?.models.map((m) => m.name) ?? [];
  const model = route.model ?? names[0];
  useEffect(() => {
    document.title = `${PAGE_TITLES[route.page]}${route.page !== 'models' && model ? ` · ${model}` : ''} · modelgate`;
    document.getElementById('main')?.focus({ preventScroll: true });
  }, [route.page, model]);
  return (
    <>
      <button type="button" class="skip" onClick={() => document.getElementById('main')?.focus()}>
        Skip to content
      </button>
      <header>
        <div class="brand">modelgate console</div>
        <nav aria-label="Pages">
          <ul>
            {PAGES.map((p) => (
              <li key={p}>
                <a href={routeHash({ page: p, model })} aria-current={p === route.page ? 'page' : undefined}>
                  {PAGE_TITLES[p]}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="pickers">
          {route.page !== 'models' ? (
            <>
              <label for="model-picker">Model</label>
              <select
                id="model-picker"
                value={model}
                onChange={(e) => {
                  location.hash = routeHash({
                    page: route.page,
                    model: (e.target as HTMLSelectElement).value,
                  });
                }}
              >
                {names.map((n) => (
                  <option key={n} value={n}>
                    {n}
                  </option>
                ))}
              </select>
            </>
          ) : null}
          <TokenBox />
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {route.page === 'models' || model ? (
          <PageFor key={`${route.page}/${model}`} page={route.page} model={model ?? ''} />
        ) : models.error ? (
          <p role="alert">Could not list the models: {models.error.message}</p>
        ) : (
          <p class="muted">Loading models…</p>
        )}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
