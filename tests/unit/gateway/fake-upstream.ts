/** A tiny stand-in for a model-server: answers OIP v2 infer and TF Serving predict for any version
 * with fixed probabilities, and can be told to fail, stall or go away. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeUpstream {
  url: string;
  /** Paths of every request received, in order. */
  paths: string[];
  /** Probabilities returned per row; the first label wins by default. */
  probabilities: number[];
  mode: 'ok' | 'fail' | 'stall';
  close(): Promise<void>;
}

export async function startFakeUpstream(
  labels = ['a', 'b', 'c'],
  probabilities = [0.7, 0.2, 0.1],
): Promise<FakeUpstream> {
  const fake: FakeUpstream = {
    url: '',
    paths: [],
    probabilities,
    mode: 'ok',
    close: async () => undefined,
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      fake.paths.push(req.url ?? '');
      if (fake.mode === 'stall') return; // never answers
      res.setHeader('content-type', 'application/json');
      if (fake.mode === 'fail') {
        res.statusCode = 500;
        res.end(JSON.stringify({ error: 'model exploded' }));
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      const best = fake.probabilities.indexOf(Math.max(...fake.probabilities));
      if (req.url?.endsWith(':predict')) {
        const rows = ((body.instances ?? body.inputs) as unknown[]).length;
        res.end(JSON.stringify({ predictions: Array.from({ length: rows }, () => fake.probabilities) }));
        return;
      }
      const rows = (body.inputs as { shape: number[] }[])[0]!.shape[0]!;
      const version = /versions\/([^/]+)\/infer/.exec(req.url ?? '')?.[1];
      res.end(
        JSON.stringify({
          model_name: 'm',
          model_version: version,
          outputs: [
            {
              name: 'probabilities',
              datatype: 'FP32',
              shape: [rows, labels.length],
              data: Array.from({ length: rows }, () => fake.probabilities).flat(),
            },
            {
              name: 'label',
              datatype: 'BYTES',
              shape: [rows],
              data: Array.from({ length: rows }, () => labels[best]),
            },
          ],
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fake;
}

/** A URL nothing listens on: connecting is refused at once. */
export async function deadUrl(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
