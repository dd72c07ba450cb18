/** One keep-alive undici Pool per model-server instance, so the hot path never opens a connection
 * per request. Pools follow the routing table: created when an instance appears, closed when it
 * leaves. */
import { Pool } from 'undici';

export interface UpstreamRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: Buffer | string;
  headers?: Record<string, string>;
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** What the gateway needs from a connection pool; a test may pass its own. */
export interface UpstreamClient {
  /** Rejects with UpstreamTimeout when no answer arrived within `timeoutMs`. */
  send(request: UpstreamRequest, timeoutMs: number): Promise<UpstreamResponse>;
  close(): Promise<void>;
}

/** No answer within the deadline (the request was cancelled). */
export class UpstreamTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer in ${timeoutMs} ms`);
    this.name = 'UpstreamTimeout';
  }
}

export type UpstreamClientFactory = (origin: string) => UpstreamClient;

/** `connections` matches the per-instance concurrency limit, so nothing waits inside undici where
 * the limiter cannot see it. */
export const undiciClientFactory =
  (connections: number, connect: { ca?: string[] } = {}): UpstreamClientFactory =>
  (origin) => {
    const pool = new Pool(origin, {
      connections,
      keepAliveTimeout: 30_000,
      // The model-server batches concurrent requests; pipelining would serialise them per socket.
      pipelining: 1,
      // TLS_CA_FILE: HTTPS upstreams signed by a private CA.
      ...(connect.ca ? { connect: { ca: connect.ca } } : {}),
    });
    return {
      async send(request, timeoutMs) {
        let res: Awaited<ReturnType<typeof pool.request>>;
        try {
          res = await pool.request({
            method: request.method,
            path: request.path,
            headers: request.headers,
            body: request.body,
            // undici's own timers, not an AbortSignal.timeout per request: one timer object less per
            // call, and undici already tracks the request (seen as addAbortListener in the profile).
            headersTimeout: timeoutMs,
            bodyTimeout: timeoutMs,
          });
          const body = Buffer.from(await res.body.arrayBuffer());
          return { status: res.statusCode, headers: res.headers, body };
        } catch (err) {
          const code = (err as { code?: string }).code;
          if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT')
            throw new UpstreamTimeout(timeoutMs);
          throw err;
        }
      },
      close: () => pool.close(),
    };
  };

export class UpstreamPools {
  private readonly clients = new Map<string, UpstreamClient>();

  constructor(private readonly factory: UpstreamClientFactory) {}

  get(origin: string): UpstreamClient {
    let client = this.clients.get(origin);
    if (!client) {
      client = this.factory(origin);
      this.clients.set(origin, client);
    }
    return client;
  }

  /** Closes the pools of instances no longer in the table; in-flight requests finish first. */
  retain(origins: ReadonlySet<string>): void {
    for (const [origin, client] of this.clients) {
      if (!origins.has(origin)) {
        this.clients.delete(origin);
        void client.close().catch(() => undefined);
      }
    }
  }

  async close(): Promise<void> {
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(all.map((c) => c.close().catch(() => undefined)));
  }
}
