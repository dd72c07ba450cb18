/** The per-request access line. With the JSON log format at `info`, lines are built with one
 * JSON.stringify in winston's key order (sorted, as logform's json format writes them) and written
 * to stdout together every FLUSH_MS (or at 64 kB): stdout to a pipe is a synchronous syscall per
 * write, and winston's format pipeline cost more than the request it logged. One write per
 * event-loop turn, as before, was still one syscall per few requests at 1,600 req/s (7% of the
 * gateway's busy time in a profile of the cpu bench). The price: a SIGKILLed gateway loses its last
 * FLUSH_MS of access lines (shutdown flushes). Otherwise (pretty format, another level, a silent test
 * logger) the line goes through the logger as before. */
import type { Logger } from '../common/logger';

export interface AccessLine {
  requestId: string;
  method: string;
  path: string;
  status: number;
  durationMs: number;
  model: string;
  version: string;
}

export interface AccessLogWriter {
  write(line: AccessLine): void;
  /** Writes what is buffered; called on shutdown. */
  flush(): void;
}

const FLUSH_MS = 100;
const FLUSH_BYTES = 65_536;

export function createAccessLogWriter(
  logger: Logger,
  options: { format: 'json' | 'pretty'; service: string; stream?: NodeJS.WritableStream },
): AccessLogWriter {
  const direct = options.format === 'json' && !logger.silent && logger.isLevelEnabled('info');
  if (!direct) {
    return {
      write: (l) => logger.info('request', { event: 'access', ...l }),
      flush: () => undefined,
    };
  }
  const stream = options.stream ?? process.stdout;
  const service = options.service;
  let buffer = '';
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (buffer === '') return;
    const out = buffer;
    buffer = '';
    stream.write(out);
  };
  return {
    write(l) {
      buffer += `${JSON.stringify({
        durationMs: l.durationMs,
        event: 'access',
        level: 'info',
        message: 'request',
        method: l.method,
        model: l.model,
        path: l.path,
        requestId: l.requestId,
        service,
        status: l.status,
        timestamp: new Date().toISOString(),
        version: l.version,
      })}\n`;
      if (buffer.length > FLUSH_BYTES) flush();
      else if (timer === undefined) {
        timer = setTimeout(flush, FLUSH_MS);
        // A pending access line must not keep a stopping process alive; shutdown flushes.
        timer.unref();
      }
    },
    flush,
  };
}
