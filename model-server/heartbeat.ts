/** Tells the registry this instance exists and whether it is ready, every few seconds. The registry
 * routes only to instances with a fresh ready heartbeat, so a model-server that stops beating drops
 * out of routing by itself. An unreachable registry is never fatal: the failure is logged once per
 * outage (not every interval) and the loop keeps trying. */
import type { Logger } from '../common/logger';
import type { Heartbeat } from '../common/wire';

export interface HeartbeatOptions {
  registryUrl: string;
  intervalMs: number;
  /** Per attempt; a hung registry must not pile up requests. */
  timeoutMs: number;
  logger: Logger;
  /** Bearer credential for the registry (INSTANCE_TOKEN); without it the registry refuses beats. */
  token: string | undefined;
  /** The body to send now (ready changes over the process's life). */
  payload(): Heartbeat;
  fetch?: typeof fetch;
}

export interface HeartbeatLoop {
  start(): void;
  /** Sends one heartbeat now; resolves true when the registry accepted it. */
  beat(): Promise<boolean>;
  /** Stops the loop and sends a last heartbeat, which main.ts makes ready:false. */
  stop(): Promise<void>;
}

export function createHeartbeat(options: HeartbeatOptions): HeartbeatLoop {
  const doFetch = options.fetch ?? fetch;
  const endpoint = new URL('/instances', options.registryUrl).toString();
  let timer: NodeJS.Timeout | undefined;
  let failing = false;
  let started = false;
  let stopped = false;

  async function beat(): Promise<boolean> {
    const body = options.payload();
    try {
      const res = await doFetch(endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      const text = await res.text().catch(() => '');
      if (!res.ok) throw new Error(`registry answered ${res.status}: ${reason(text)}`);
      if (failing) options.logger.info('registry reachable again; heartbeats resumed', { endpoint });
      failing = false;
      return true;
    } catch (err) {
      if (!failing) {
        options.logger.warn('heartbeat failed; will keep trying (logged once per outage)', {
          endpoint,
          error: (err as Error).message,
        });
      }
      failing = true;
      return false;
    }
  }

  const loop = () => {
    void beat().finally(() => {
      if (!stopped) {
        timer = setTimeout(loop, options.intervalMs);
        timer.unref();
      }
    });
  };

  return {
    start() {
      if (started || stopped) return;
      started = true;
      loop();
    },
    beat,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await beat();
    },
  };
}

/** The registry's own words, so a refused token or a failed verification reads in this log. */
function reason(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } };
    if (typeof body.error?.message === 'string') return body.error.message;
  } catch {
    // not JSON: fall through
  }
  return text.slice(0, 200);
}
