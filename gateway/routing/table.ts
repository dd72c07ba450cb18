/** Keeps the registry's routing table current by long-polling GET /routes, and keeps the last good
 * table when the registry is down: the gateway goes on routing and says it is stale instead. */
import type { Logger } from '../../common/logger';
import { type Routes, routesSchema } from '../../common/wire';
import { guardEmptiedModels } from './empty-guard';

export type RoutesFetch =
  | { status: 200; etag?: string | undefined; routes: unknown }
  | { status: 304; etag?: string | undefined };

/** `etag` undefined asks for the table at once; with an etag the registry may hold the request open
 * until something changes (long-poll). */
export type FetchRoutes = (etag: string | undefined, signal: AbortSignal) => Promise<RoutesFetch>;

export interface TableStatus {
  revision: number | undefined;
  /** True when the last attempt to reach the registry failed and a previous table is in use. */
  stale: boolean;
  lastError: string | undefined;
  /** now() of the registry's last answer (200 or 304). */
  lastAnsweredAt: number | undefined;
}

export interface RoutingTableOptions {
  fetchRoutes: FetchRoutes;
  logger: Logger;
  now(): number;
  onTable(routes: Routes): void;
  onStatus(status: TableStatus): void;
  /** Backoff after a failed poll: starts at min, doubles to max. */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** How long the instances of a model that vanished all at once are kept (routing/empty-guard.ts);
   * 0 applies every table as it comes. */
  emptyGraceMs?: number;
}

export class RoutingTable {
  private routes: Routes | undefined;
  /** The registry's last table as sent, before the empty-model guard. */
  private received: Routes | undefined;
  private held: ReadonlyMap<string, number> = new Map();
  private wakeTimer: NodeJS.Timeout | undefined;
  private etag: string | undefined;
  private readonly status: TableStatus = {
    revision: undefined,
    stale: false,
    lastError: undefined,
    lastAnsweredAt: undefined,
  };
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private firstTable: Promise<void>;
  private resolveFirst!: () => void;

  constructor(private readonly options: RoutingTableOptions) {
    this.firstTable = new Promise((resolve) => {
      this.resolveFirst = resolve;
    });
  }

  current(): Routes | undefined {
    return this.routes;
  }

  snapshot(): Readonly<TableStatus> {
    return { ...this.status };
  }

  /** Resolves when a first table has been applied (tests and readiness wait on it). */
  ready(): Promise<void> {
    return this.firstTable;
  }

  start(): void {
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    clearTimeout(this.wakeTimer);
    this.abort.abort();
    await this.running;
  }

  /** Applies one answer from the registry; exposed so tests can drive the table without a loop. */
  apply(result: RoutesFetch): void {
    this.status.lastAnsweredAt = this.options.now();
    this.status.stale = false;
    this.status.lastError = undefined;
    if (result.status === 200) {
      const parsed = routesSchema.safeParse(result.routes);
      if (!parsed.success) {
        this.fail(
          new Error(`registry sent a routing table that does not match the schema: ${parsed.error.message}`),
        );
        return;
      }
      this.received = parsed.data;
      this.etag = result.etag ?? `"${parsed.data.revision}"`;
      this.status.revision = parsed.data.revision;
      this.publish();
      this.resolveFirst();
    }
    this.options.onStatus(this.snapshot());
  }

  /** Applies the received table through the empty-model guard; while a model is held, wakes up when
   * its grace ends to apply the table as received if nothing newer came. */
  private publish(): void {
    const next = this.received;
    if (!next) return;
    const before = this.held;
    const guarded = guardEmptiedModels({
      previous: this.routes,
      next,
      since: before,
      nowMs: this.options.now(),
      graceMs: this.options.emptyGraceMs ?? 0,
    });
    this.held = guarded.since;
    for (const model of guarded.since.keys()) {
      if (!before.has(model)) {
        this.options.logger.warn(
          'registry table has no instances for a model that had some; keeping them for a grace period',
          {
            model,
            graceMs: this.options.emptyGraceMs,
            revision: next.revision,
          },
        );
      }
    }
    this.routes = guarded.routes;
    this.options.onTable(guarded.routes);
    clearTimeout(this.wakeTimer);
    if (guarded.wakeAt !== undefined) {
      this.wakeTimer = setTimeout(() => this.publish(), Math.max(0, guarded.wakeAt - this.options.now()));
      this.wakeTimer.unref();
    }
  }

  private fail(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    const wasStale = this.status.stale;
    this.status.stale = this.routes !== undefined;
    this.status.lastError = message;
    if (!wasStale) {
      this.options.logger.warn('routing table refresh failed; serving from the last table', {
        error: message,
        revision: this.status.revision,
      });
    }
    this.options.onStatus(this.snapshot());
  }

  private async loop(): Promise<void> {
    const minMs = this.options.retryMinMs ?? 200;
    const maxMs = this.options.retryMaxMs ?? 2000;
    let delayMs = minMs;
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        const startedAt = this.options.now();
        const result = await this.options.fetchRoutes(this.routes ? this.etag : undefined, signal);
        const wasStale = this.status.stale;
        this.apply(result);
        if (wasStale)
          this.options.logger.info('registry reachable again', { revision: this.status.revision });
        delayMs = minMs;
        // A registry that answers 304 at once (no long-poll support) must not turn this into a spin.
        if (result.status === 304 && this.options.now() - startedAt < 50) await sleep(minMs, signal);
      } catch (err) {
        if (signal.aborted) return;
        this.fail(err);
        await sleep(delayMs, signal);
        delayMs = Math.min(maxMs, delayMs * 2);
      }
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
