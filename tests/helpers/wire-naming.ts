/** Finds JSON keys that break the wire's snake_case rule. Keys that are data (model, version, class,
 * file and metric names) are skipped by naming the maps that hold them. */
/** Field names are lower case with underscores; names that are data ("digits", "1") pass too. */
const SNAKE = /^[a-z0-9_.]+$/;
/** Objects whose keys are names chosen by users or models, not field names. */
const DATA_MAPS = new Set([
  'models',
  'versions',
  'weights',
  'aliases',
  'probabilities',
  'metrics',
  'artifacts',
  'classes',
  'observed',
  'expected_percent',
  'training',
]);

/** Paths of keys that are not snake_case, e.g. `$.models[0].liveInstances`. */
export function nonSnakeKeys(body: unknown, where = '$'): string[] {
  const found: string[] = [];
  const walk = (value: unknown, at: string, parentKey: string | undefined) => {
    if (Array.isArray(value)) {
      // Array elements are records (a model, a row), whatever the array is called.
      for (const [i, v] of value.entries()) walk(v, `${at}[${i}]`, undefined);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const dataKeys = parentKey !== undefined && DATA_MAPS.has(parentKey);
    for (const [k, v] of Object.entries(value)) {
      if (!dataKeys && !SNAKE.test(k)) found.push(`${at}.${k}`);
      // A data map's values are records again (a version's route, a model's entry): check those.
      walk(v, `${at}.${k}`, dataKeys ? undefined : k);
    }
  };
  walk(body, where, undefined);
  return found;
}
