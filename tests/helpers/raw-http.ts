/** HTTP/1.1 over a bare TCP socket, for tests that must send what fetch never would: a Content-Length
 * whose body never comes, a chunked body that never ends, headers that never finish. The answer is
 * read as it arrives, so a test sees when a server answers (or closes) while the client still sends. */
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export interface RawAnswer {
  /** 0 when the server closed the connection without sending a status line. */
  status: number;
  headers: Record<string, string>;
  body: string;
  /** ms from connecting until the status line arrived (or the socket closed). */
  answeredMs: number;
  /** ms from connecting until the server closed the connection; undefined if still open at the end. */
  closedMs: number | undefined;
  /** Body bytes the client had written when the answer arrived. */
  bytesSentBeforeAnswer: number;
}

export interface RawRequestOptions {
  port: number;
  /** The request line and headers, without the blank line that ends them. */
  head: string;
  /** Sent right after the head (ignored when `headComplete` is false). */
  body?: Buffer | string;
  /** Writes this chunk every `intervalMs` after the head and body until the answer arrives. */
  keepSending?: { chunk: Buffer | string; intervalMs: number };
  /** False sends the head without its terminating blank line (headers that never finish). */
  headComplete?: boolean;
  /** Gives up (and reports what it saw) after this long. */
  timeoutMs: number;
  /** Wait for the close this long after the answer, so `closedMs` says whether the server hung up. */
  closeWaitMs?: number;
  tls?: { ca: string };
}

export function rawRequest(options: RawRequestOptions): Promise<RawAnswer> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    const socket: Socket = options.tls
      ? tlsConnect({ host: '127.0.0.1', port: options.port, ca: options.tls.ca, servername: 'localhost' })
      : connect({ host: '127.0.0.1', port: options.port });
    let received = '';
    let sent = 0;
    let answeredMs: number | undefined;
    let sentAtAnswer = 0;
    let closedMs: number | undefined;
    let timer: NodeJS.Timeout | undefined;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearInterval(timer);
      clearTimeout(giveUp);
      socket.destroy();
      const [head = '', ...rest] = received.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = head.split('\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const at = line.indexOf(':');
        if (at > 0) headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
      }
      resolve({
        status,
        headers,
        body: rest.join('\r\n\r\n'),
        answeredMs: answeredMs ?? elapsed(),
        closedMs,
        bytesSentBeforeAnswer: sentAtAnswer,
      });
    };
    const giveUp = setTimeout(finish, options.timeoutMs);
    const write = (data: Buffer | string) => {
      if (socket.destroyed || !socket.writable) return;
      socket.write(data, () => undefined);
      sent += Buffer.byteLength(data);
    };
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => {
      received += d.toString('latin1');
      if (answeredMs === undefined && /^HTTP\/1\.[01] \d{3}/.test(received)) {
        answeredMs = elapsed();
        sentAtAnswer = sent;
        clearInterval(timer);
        setTimeout(finish, options.closeWaitMs ?? 1000);
      }
    });
    socket.on('close', () => {
      closedMs = elapsed();
      answeredMs ??= closedMs;
      finish();
    });
    socket.once(options.tls ? 'secureConnect' : 'connect', () => {
      const complete = options.headComplete !== false;
      write(complete ? `${options.head}\r\n\r\n` : `${options.head}\r\n`);
      if (!complete) return;
      if (options.body !== undefined) write(options.body);
      const keep = options.keepSending;
      if (keep) timer = setInterval(() => write(keep.chunk), keep.intervalMs);
    });
  });
}

/** One HTTP/1.1 chunk of `size` bytes of `fill`. */
export function chunk(size: number, fill = ' '): string {
  return `${size.toString(16)}\r\n${fill.repeat(size)}\r\n`;
}
