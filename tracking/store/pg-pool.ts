/** The `pg` pool as Kysely's PostgreSQL dialect sees it, with one change: a client whose query failed
 * without an answer from the server is destroyed on release instead of going back to the pool.
 *
 * Why: when a query times out (`query_timeout`) on a connection the server no longer answers (a
 * network partition, a managed database failing over to another host), `pg` fails the call but
 * keeps waiting on that socket, so every later query on the client queues behind the lost one and
 * times out too. Kysely releases it as healthy (it only discards one whose ROLLBACK failed) and the
 * pool, last-in first-out, hands that same client to the next caller: reads would fail until the
 * kernel gave up on the socket, minutes later. An error the server sent (a DatabaseError: a
 * constraint, a syntax error) leaves the connection in step, so that client is kept. */
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import { DatabaseError, type Pool } from 'pg';

export function discardingBrokenClients(pool: Pool): PostgresPool {
  return {
    async connect() {
      const client = await pool.connect();
      let broken = false;
      const query = (...args: unknown[]): unknown => {
        const result = (client.query as (...a: unknown[]) => unknown)(...args);
        // A cursor (streamed query) is returned as is; only promises carry a failure to inspect.
        if (!(result instanceof Promise)) return result;
        return result.catch((err: unknown) => {
          if (!(err instanceof DatabaseError)) broken = true;
          throw err;
        });
      };
      return {
        query: query as PostgresPoolClient['query'],
        release: (destroy?: boolean) => client.release(destroy === true || broken),
      };
    },
    end: () => pool.end(),
  };
}
