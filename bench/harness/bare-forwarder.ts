/** The floor for a Node.js hop: a bare node:http server that forwards each POST to one of two
 * upstreams (50/50 by Math.random) over undici keep-alive pools, path rewritten to the version's OIP
 * route, and relays status, content-type and body. No routing table, breaker, limits, metrics or
 * logs: what the gateway costs above this is what its features cost.
 * `node dist/bench/harness/bare-forwarder.js PORT MODEL VERSION=HOST:PORT VERSION=HOST:PORT` */
import { createServer } from 'node:http';
import { Pool } from 'undici';

function main(): void {
  const [port, model, ...targets] = process.argv.slice(2);
  const upstreams = targets.map((t) => {
    const [version, hostPort] = t.split('=');
    return {
      path: `/v2/models/${model}/versions/${version}/infer`,
      pool: new Pool(`http://${hostPort}`, { connections: 64, pipelining: 1 }),
    };
  });
  if (!port || !model || upstreams.length === 0) throw new Error('usage: PORT MODEL VERSION=HOST:PORT...');
  createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = upstreams[Math.floor(Math.random() * upstreams.length)]!;
      u.pool
        .request({
          method: 'POST',
          path: u.path,
          headers: { 'content-type': 'application/json' },
          body: Buffer.concat(chunks),
        })
        .then(async (answer) => {
          const body = Buffer.from(await answer.body.arrayBuffer());
          res.writeHead(answer.statusCode, {
            'content-type': 'application/json',
            'content-length': body.length,
          });
          res.end(body);
        })
        .catch(() => {
          res.writeHead(502).end();
        });
    });
  }).listen(Number(port), '127.0.0.1');
}

main();
