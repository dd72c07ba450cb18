/** Hash routes (#/traffic/digits): the console is static files, so the registry needs no fallback
 * route, and a reload or a shared link lands on the same page. */

export const PAGES = ['models', 'traffic', 'experiment', 'rollout', 'drift', 'predictions', 'audit'] as const;
export type Page = (typeof PAGES)[number];

export const PAGE_TITLES: Record<Page, string> = {
  models: 'Models',
  traffic: 'Traffic',
  experiment: 'Experiment',
  rollout: 'Rollout',
  drift: 'Drift',
  predictions: 'Predictions',
  audit: 'Audit',
};

export interface Route {
  page: Page;
  /** The model a per-model page is about; undefined on Models or when none was chosen yet. */
  model: string | undefined;
}

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export function parseRoute(hash: string): Route {
  const [rawPage, rawModel] = hash.replace(/^#\/?/, '').split('/');
  const page = (PAGES as readonly string[]).includes(rawPage ?? '') ? (rawPage as Page) : 'models';
  let model: string | undefined;
  try {
    model = rawModel ? decodeURIComponent(rawModel) : undefined;
  } catch {
    model = undefined;
  }
  return { page, model: model && NAME.test(model) ? model : undefined };
}

export function routeHash(route: Route): string {
  return route.model && route.page !== 'models' ? `#/${route.page}/${route.model}` : `#/${route.page}`;
}
