/** Rollout webhooks (Flagger's `webhook.go`, trimmed): a JSON POST with a timeout per attempt,
 * retried with exponential backoff; a 2xx answer is a yes, anything else (status, timeout, refused
 * connection) a no. Only http(s) URLs reach this point: spec.ts refuses the rest. */

export interface WebhookOptions {
  url: string;
  payload: unknown;
  timeoutMs: number;
  attempts: number;
  backoffMs: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

export interface WebhookResult {
  ok: boolean;
  status: number | null;
  /** For people: "HTTP 500", "timed out after 2000 ms", "connection refused". */
  detail: string;
  attempts: number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function describeFailure(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; cause?: { code?: string }; message?: string };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `timed out after ${timeoutMs} ms`;
  const code = e.cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  return code ?? e.message ?? String(err);
}

export async function callWebhook(options: WebhookOptions): Promise<WebhookResult> {
  const doFetch = options.fetch ?? fetch;
  const sleep = options.sleep ?? defaultSleep;
  let last: WebhookResult = { ok: false, status: null, detail: 'not called', attempts: 0 };
  for (let attempt = 1; attempt <= options.attempts; attempt++) {
    try {
      const res = await doFetch(options.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'User-Agent': 'modelgate-rollout' },
        body: JSON.stringify(options.payload),
        signal: AbortSignal.timeout(options.timeoutMs),
        redirect: 'manual',
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 200 && res.status < 300)
        return { ok: true, status: res.status, detail: `HTTP ${res.status}`, attempts: attempt };
      last = { ok: false, status: res.status, detail: `HTTP ${res.status}`, attempts: attempt };
    } catch (err) {
      last = { ok: false, status: null, detail: describeFailure(err, options.timeoutMs), attempts: attempt };
    }
    if (attempt < options.attempts) await sleep(options.backoffMs * 2 ** (attempt - 1));
  }
  return {
    ...last,
    detail: `${last.detail} after ${last.attempts} attempt${last.attempts === 1 ? '' : 's'}`,
  };
}
