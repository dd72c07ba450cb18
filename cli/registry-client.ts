/** The CLI's client for the registry API: JSON calls with the admin token, and the multipart upload
 * of a version folder streamed in chunks so a progress bar can follow it. */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { Metadata, Policy } from '../common/wire';
import type { DriftAnswer } from '../registry/drift/readings';
import type { RolloutView } from '../registry/rollouts/view';
import type { experimentView } from '../tracking/experiments/experiment';
import type { ExperimentReport } from '../tracking/experiments/report';
import { CliError } from './output';

export interface ModelSummary {
  name: string;
  versions: string[];
  weights: Record<string, number>;
  aliases: Record<string, string>;
  revision: number;
  live_instances: number;
}

export interface VersionSummary {
  version: string;
  created: string;
  description: string;
  format: string;
  input_width: number;
  labels: string[];
  metrics: Record<string, number>;
  weight: number;
  aliases: string[];
  instances: { url: string; backend: string | null; last_seen: string }[];
}

export interface ModelDetail {
  name: string;
  policy: Policy;
  versions: VersionSummary[];
}

export interface PushResult {
  model: string;
  version: string;
  created_model: boolean;
  metadata: Metadata;
  policy: Policy;
}

export type ExperimentView = ReturnType<typeof experimentView>;

export interface UploadFile {
  name: string;
  data: Buffer;
}

interface ErrorBody {
  error?: { code?: string; message?: string };
}

/** What to do about each kind of refusal, added after the registry's own message. */
const HINTS: Record<number, string> = {
  401: 'set ADMIN_TOKEN to the registry admin token',
  403: 'check that ADMIN_TOKEN matches the registry',
  412: 'someone changed it since it was read; run the command again',
};

export class RegistryClient {
  private readonly base: string;

  constructor(
    baseUrl: string,
    private readonly token: string | undefined,
  ) {
    this.base = baseUrl.replace(/\/+$/, '');
  }

  listModels(): Promise<{ models: ModelSummary[] }> {
    return this.json('GET', '/models');
  }

  getModel(model: string): Promise<ModelDetail> {
    return this.json('GET', `/models/${encodeURIComponent(model)}`);
  }

  getVersion(model: string, version: string): Promise<{ metadata: Metadata }> {
    return this.json('GET', `/models/${encodeURIComponent(model)}/versions/${encodeURIComponent(version)}`);
  }

  async getPolicy(model: string): Promise<{ policy: Policy; etag: string }> {
    const { body, headers } = await this.request('GET', `/models/${encodeURIComponent(model)}/policy`);
    return { policy: body as Policy, etag: headers.get('etag') ?? `"${(body as Policy).revision}"` };
  }

  putPolicy(model: string, policy: Omit<Policy, 'revision'>, etag: string): Promise<Policy> {
    return this.json('PUT', `/models/${encodeURIComponent(model)}/policy`, policy, { 'If-Match': etag });
  }

  setAlias(model: string, alias: string, version: string): Promise<Policy> {
    return this.json('PUT', `/models/${encodeURIComponent(model)}/aliases/${encodeURIComponent(alias)}`, {
      version,
    });
  }

  deleteAlias(model: string, alias: string): Promise<Policy> {
    return this.json('DELETE', `/models/${encodeURIComponent(model)}/aliases/${encodeURIComponent(alias)}`);
  }

  getDrift(model: string): Promise<DriftAnswer> {
    return this.json('GET', `/models/${encodeURIComponent(model)}/drift`);
  }

  startRollout(model: string, body: Record<string, unknown>): Promise<RolloutView> {
    return this.json('POST', `/models/${encodeURIComponent(model)}/rollouts`, body);
  }

  getRollout(model: string): Promise<RolloutView> {
    return this.json('GET', `/models/${encodeURIComponent(model)}/rollouts/current`);
  }

  rolloutAction(model: string, verb: 'pause' | 'resume' | 'abort'): Promise<RolloutView> {
    return this.json('POST', `/models/${encodeURIComponent(model)}/rollouts/current/${verb}`);
  }

  startExperiment(
    model: string,
    body: { control?: string; candidates: string[]; unit?: 'request' | 'user' },
  ): Promise<ExperimentView> {
    return this.json('POST', `/models/${encodeURIComponent(model)}/experiments`, body);
  }

  listExperiments(model: string): Promise<{ experiments: ExperimentView[] }> {
    return this.json('GET', `/models/${encodeURIComponent(model)}/experiments`);
  }

  stopExperiment(model: string, id: string): Promise<ExperimentView> {
    return this.json(
      'POST',
      `/models/${encodeURIComponent(model)}/experiments/${encodeURIComponent(id)}/stop`,
      {},
    );
  }

  experimentReport(model: string, id: string): Promise<ExperimentReport> {
    return this.json(
      'GET',
      `/models/${encodeURIComponent(model)}/experiments/${encodeURIComponent(id)}/report`,
    );
  }

  /** Streams the multipart body in 64 KiB chunks, reporting bytes sent. */
  pushVersion(
    model: string,
    files: readonly UploadFile[],
    options: { version?: string; onProgress?: (sent: number, total: number) => void } = {},
  ): Promise<PushResult> {
    const boundary = `modelgate-${randomBytes(12).toString('hex')}`;
    const parts: Buffer[] = [];
    if (options.version) {
      parts.push(
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="version"\r\n\r\n${options.version}\r\n`,
        ),
      );
    }
    for (const f of files) {
      parts.push(
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${f.name}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
        ),
        f.data,
        Buffer.from('\r\n'),
      );
    }
    parts.push(Buffer.from(`--${boundary}--\r\n`));
    const body = Buffer.concat(parts);
    const url = new URL(`${this.base}/models/${encodeURIComponent(model)}/versions`);
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request(
        url,
        {
          method: 'POST',
          headers: {
            'Content-Type': `multipart/form-data; boundary=${boundary}`,
            'Content-Length': String(body.length),
            ...this.authHeader(),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            try {
              resolve(this.decode(res.statusCode ?? 0, text) as PushResult);
            } catch (err) {
              reject(err);
            }
          });
        },
      );
      req.on('error', (err) => reject(this.unreachable(err)));
      const CHUNK = 64 * 1024;
      let sent = 0;
      const writeMore = () => {
        while (sent < body.length) {
          const end = Math.min(sent + CHUNK, body.length);
          const ok = req.write(body.subarray(sent, end));
          sent = end;
          options.onProgress?.(sent, body.length);
          if (!ok) return void req.once('drain', writeMore);
        }
        req.end();
      };
      writeMore();
    });
  }

  private authHeader(): Record<string, string> {
    return this.token ? { Authorization: `Bearer ${this.token}` } : {};
  }

  private async json<T>(
    method: string,
    route: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<T> {
    return (await this.request(method, route, body, headers)).body as T;
  }

  private async request(
    method: string,
    route: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ body: unknown; headers: Headers }> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${route}`, {
        method,
        headers: {
          ...this.authHeader(),
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw this.unreachable(err);
    }
    return { body: this.decode(res.status, await res.text()), headers: res.headers };
  }

  private decode(status: number, text: string): unknown {
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (status >= 200 && status < 300) return parsed;
    const message =
      (parsed as ErrorBody | undefined)?.error?.message ?? `HTTP ${status} ${text.slice(0, 200)}`;
    const hint = HINTS[status];
    throw new CliError(`${message}${hint && !message.includes('ADMIN_TOKEN') ? ` (${hint})` : ''}`);
  }

  private unreachable(err: unknown): CliError {
    const cause =
      (err as { cause?: { code?: string } }).cause?.code ?? (err as { code?: string }).code ?? String(err);
    return new CliError(
      `cannot reach the registry at ${this.base} (${cause}); start it with \`modelgate registry\` or set REGISTRY_URL`,
    );
  }
}
