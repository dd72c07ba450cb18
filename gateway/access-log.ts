/** The per-request access line. With the JSON log format at `info`, lines are built with one
 * JSON.stringify in winston's key order (sorted, as logform's json format writes them) and written
 * to stdout in one write per event-loop turn: stdout to a pipe is a synchronous syscall per write,
 * and winston's format pipeline cost more than the request it logged. Otherwise (pretty format,
 * another level, a silent test logger) the line goes through the logger as before. */
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
  let scheduled = false;
  const flush = () => {
    scheduled = false;
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
      if (buffer.length > 65_536) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}
