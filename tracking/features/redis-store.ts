/** The feature store on Redis: one string key per entity, `<prefix>:<model>:<entity>`, holding the
 * record as JSON, so a request's lookup is one MGET whatever its batch size.
 *
 * Failing fast matters more than retrying here: the offline queue is off and each command has a
 * timeout, so while Redis is down a lookup rejects at once (the gateway answers 503 with
 * Retry-After) instead of queueing requests behind a reconnect; ioredis keeps reconnecting in the
 * background and lookups succeed again as soon as it is back. */
import { Redis } from 'ioredis';
import { type FeatureStore, FeatureStoreUnavailable, parseRecord } from './store';

export interface RedisFeatureStoreOptions {
  url: string;
  /** Per-command timeout (FEATURE_STORE_TIMEOUT_MS). */
  timeoutMs: number;
  prefix: string;
  /** Connection errors, reported once per outage rather than per reconnect attempt. */
  onError?(err: Error): void;
}

const PUT_CHUNK = 500;

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/^(rediss?:\/\/[^:/@]*:)[^@]*@/, '$1***@');
}

export function createRedisFeatureStore(options: RedisFeatureStoreOptions): FeatureStore {
  const client = new Redis(options.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.timeoutMs,
    connectTimeout: Math.max(1000, options.timeoutMs),
    retryStrategy: (attempt) => Math.min(100 * attempt, 1000),
    lazyConnect: false,
  });
  let down = false;
  client.on('error', (err: Error) => {
    if (down) return;
    down = true;
    options.onError?.(err);
  });
  client.on('ready', () => {
    down = false;
  });
  const key = (model: string, entity: string) => `${options.prefix}:${model}:${entity}`;
  const unavailable = (err: unknown): never => {
    throw new FeatureStoreUnavailable('redis', err);
  };
  return {
    backend: 'redis',
    async getMany(model, entities) {
      if (entities.length === 0) return [];
      const values = await client.mget(entities.map((e) => key(model, e))).catch(unavailable);
      return values.map(parseRecord);
    },
    async put(model, rows) {
      for (let i = 0; i < rows.length; i += PUT_CHUNK) {
        const args = rows
          .slice(i, i + PUT_CHUNK)
          .flatMap((r) => [key(model, r.entity), JSON.stringify(r.values)]);
        await client.mset(args).catch(unavailable);
      }
    },
    ready(timeoutMs) {
      if (client.status === 'ready') return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          client.off('ready', onReady);
          reject(
            new FeatureStoreUnavailable(
              'redis',
              new Error(`not connected to ${redact(options.url)} after ${timeoutMs} ms`),
            ),
          );
        }, timeoutMs);
        const onReady = () => {
          clearTimeout(timer);
          resolve();
        };
        client.once('ready', onReady);
      });
    },
    async close() {
      client.disconnect();
    },
  };
}
