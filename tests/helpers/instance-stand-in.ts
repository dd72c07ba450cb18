/** A plain HTTP server that answers the OIP v2 per-version readiness route the way a model-server
 * does, for registry tests about the instance table that do not need a model loaded. The registry
 * verifies every new instance through that route before routing to it. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface InstanceStandIn {
  url: string;
  /** Paths asked so far, in order. */
  asked: string[];
  close(): Promise<void>;
}

export async function startInstanceStandIn(model: string): Promise<InstanceStandIn> {
  const asked: string[] = [];
  const server = createServer((req, res) => {
    asked.push(req.url ?? '');
    const ok = new RegExp(`^/v2/models/${model}/versions/[^/]+/ready$`).test(req.url ?? '');
    res.writeHead(ok ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(ok ? { name: model, ready: true } : { error: 'not found' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    asked,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
