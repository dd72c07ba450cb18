/** The online feature store: feature values of an entity (a penguin, a user), keyed per model by
 * the entity key's value, looked up by the gateway before predicting and written by
 * `modelgate features load`. Two backends implement it: the evidence store's database (the
 * embedded default, table `features`) and Redis. */

/** Raw named values as the spec declares them: numbers, category strings, number arrays. */
export type FeatureRecord = Record<string, number | string | number[]>;

export interface FeatureRow {
  entity: string;
  values: FeatureRecord;
}

export interface FeatureStore {
  readonly backend: 'sql' | 'redis';
  /** One record per entity, in order; undefined where the store holds none. Rejects with
   * FeatureStoreUnavailable when the backend cannot answer (down, timed out). */
  getMany(model: string, entities: readonly string[]): Promise<(FeatureRecord | undefined)[]>;
  /** Inserts or replaces whole records (a reload replaces an entity's values, never merges). */
  put(model: string, rows: readonly FeatureRow[]): Promise<void>;
  /** Resolves once the backend can answer (Redis connected); rejects with FeatureStoreUnavailable
   * after `timeoutMs`. The gateway does not wait for it; the CLI does before loading. */
  ready(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/** The backend did not answer: the gateway answers 503 with Retry-After, never a guessed value. */
export class FeatureStoreUnavailable extends Error {
  constructor(
    readonly backend: FeatureStore['backend'],
    cause: unknown,
  ) {
    super(`the ${backend} feature store did not answer: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'FeatureStoreUnavailable';
  }
}

/** Stored values are JSON; anything else in a row (a hand-edited key) reads as no record. */
export function parseRecord(text: string | null | undefined): FeatureRecord | undefined {
  if (text === null || text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as FeatureRecord)
      : undefined;
  } catch {
    return undefined;
  }
}
