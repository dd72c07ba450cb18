/** An HTTP proxy for tests that holds every request for `delayMs` before forwarding it: a slow
 * model-server without touching the model-server. The target is set after the proxy listens, so the
 * model-server can advertise the proxy's URL (PUBLIC_URL) in its heartbeats. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DelayProxy {
  url: string;
  delayMs: number;
  target: number | undefined;
  close(): Promise<void>;
}

export async function startDelayProxy(): Promise<DelayProxy> {
  const agent = new http.Agent({ keepAlive: true });
  const timers = new Set<NodeJS.Timeout>();
  const proxy = { delayMs: 0, target: undefined as number | undefined };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const forward = () => {
        const upstream = http.request(
          {
            host: '127.0.0.1',
            port: proxy.target,
            method: req.method,
            path: req.url,
            headers: req.headers,
            agent,
          },
          (up) => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
          },
        );
        upstream.on('error', () => {
          if (!res.headersSent) res.writeHead(502);
          res.end();
        });
        upstream.end(Buffer.concat(chunks));
      };
      if (proxy.delayMs <= 0) return forward();
      const timer = setTimeout(() => {
        timers.delete(timer);
        forward();
      }, proxy.delayMs);
      timers.add(timer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(proxy, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
