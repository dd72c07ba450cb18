/** Follows the registry's routing table with its long-poll (`GET /routes?wait=N` with If-None-Match),
 * calling `onTable` with every new body. A registry that is down or restarting is retried after a
 * pause; the loop ends when `signal` aborts. */

export interface RoutesWatchOptions {
  registryUrl: () => string;
  onTable: (body: unknown) => void;
  signal: AbortSignal;
  waitSeconds?: number;
  retryMs?: number;
  onError?: (message: string) => void;
}

export async function watchRoutes(options: RoutesWatchOptions): Promise<void> {
  const { signal } = options;
  const waitSeconds = options.waitSeconds ?? 20;
  const retryMs = options.retryMs ?? 500;
  let etag: string | undefined;
  let failing = false;
  while (!signal.aborted) {
    try {
      const res = await fetch(`${options.registryUrl()}/routes?wait=${etag ? waitSeconds : 0}`, {
        headers: etag ? { 'if-none-match': etag } : {},
        signal: AbortSignal.any([signal, AbortSignal.timeout((waitSeconds + 10) * 1000)]),
      });
      failing = false;
      if (res.status === 304) {
        await res.body?.cancel();
        continue;
      }
      if (!res.ok) throw new Error(`GET /routes answered ${res.status}`);
      const body: unknown = await res.json();
      etag = res.headers.get('etag') ?? undefined;
      options.onTable(body);
    } catch (err) {
      if (signal.aborted) return;
      if (!failing) options.onError?.(`cannot read the registry's routing table: ${(err as Error).message}`);
      failing = true;
      etag = undefined;
      await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
  }
}
