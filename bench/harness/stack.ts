/** Starts the modelgate stack a scenario measures: a registry on a temporary copy of the shipped
 * models (so policy writes and audit lines never touch the repository), one or more model-servers
 * per version, and optionally a gateway; then waits until the gateway really routes to every one. */
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inputWidth, type Metadata, type PolicyInput } from '../../common/wire';
import { type ProcessGroup, ROOT, type Service } from './processes';

export const MODELS_DIR = path.join(ROOT, 'models');

/** Versions shipped in models/, found by their metadata.json. */
export function shippedVersions(model: string, modelsDir = MODELS_DIR): string[] {
  const dir = path.join(modelsDir, model);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(dir, d.name, 'metadata.json')))
    .map((d) => d.name)
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

export function readShippedMetadata(model: string, version: string, modelsDir = MODELS_DIR): Metadata {
  return JSON.parse(readFileSync(path.join(modelsDir, model, version, 'metadata.json'), 'utf8')) as Metadata;
}

/** Sample rows from models/<m>/sample.json (a bare array of rows, or {instances|rows|inputs: rows}),
 * falling back to a mid-grey row of the right width so a missing sample never stops a benchmark. */
export function sampleRows(model: string, width: number, modelsDir = MODELS_DIR): number[][] {
  const file = path.join(modelsDir, model, 'sample.json');
  if (existsSync(file)) {
    const json = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    const candidates = Array.isArray(json)
      ? json
      : ['instances', 'rows', 'inputs', 'features']
          .map((k) => (json as Record<string, unknown>)[k])
          .find((v) => Array.isArray(v));
    const rows = (Array.isArray(candidates) ? candidates : [])
      .map((r: unknown) => (Array.isArray(r) ? r : (r as { features?: unknown } | null)?.features))
      .filter(
        (r): r is number[] => Array.isArray(r) && r.length === width && r.every((x) => typeof x === 'number'),
      );
    if (rows.length > 0) return rows;
  }
  return [Array.from({ length: width }, () => 0.5)];
}

export interface ModelInfo {
  model: string;
  versions: string[];
  width: number;
  inputName: string;
  rows: number[][];
}

export function modelInfo(model: string): ModelInfo {
  const versions = shippedVersions(model);
  const first = versions[0];
  if (!first) throw new Error(`no trained versions of "${model}" under ${MODELS_DIR} (run npm run train)`);
  const metadata = readShippedMetadata(model, first);
  const width = inputWidth(metadata);
  return { model, versions, width, inputName: metadata.inputs[0]!.name, rows: sampleRows(model, width) };
}

/** The OIP v2 request body for `count` rows cycled from the samples. */
export function oipBody(info: ModelInfo, count: number): string {
  const data: number[] = [];
  for (let i = 0; i < count; i++) data.push(...(info.rows[i % info.rows.length] as number[]));
  return JSON.stringify({
    inputs: [{ name: info.inputName, shape: [count, info.width], datatype: 'FP32', data }],
  });
}

export function predictBody(info: ModelInfo): string {
  return JSON.stringify({ model: info.model, features: info.rows[0] });
}

export interface StackOptions {
  models: string[];
  /** Versions to serve per model (default: every shipped version). */
  versions?: Record<string, string[]>;
  instancesPerVersion?: number;
  gateway?: boolean;
  modelServerEnv?: NodeJS.ProcessEnv;
  gatewayEnv?: NodeJS.ProcessEnv;
  registryEnv?: NodeJS.ProcessEnv;
}

export interface ModelServerHandle {
  model: string;
  version: string;
  service: Service;
}

export interface Stack {
  store: string;
  adminToken: string;
  registry: Service;
  modelServers: ModelServerHandle[];
  gateway?: Service;
  setPolicy(model: string, policy: PolicyInput): Promise<void>;
  close(): Promise<void>;
}

/** Copies the shipped version folders (and nothing else) into a fresh store. */
export function temporaryStore(models: string[]): string {
  const store = mkdtempSync(path.join(tmpdir(), 'modelgate-bench-store-'));
  for (const model of models) {
    for (const version of shippedVersions(model)) {
      cpSync(path.join(MODELS_DIR, model, version), path.join(store, model, version), { recursive: true });
    }
  }
  return store;
}

/** BENCH_GATEWAY_ENV / BENCH_MODEL_SERVER_ENV="K=V,K=V": extra settings for a before/after run
 * (e.g. BENCH_GATEWAY_ENV=LOG_LEVEL=warn) without editing a scenario. */
export function envOverrides(name: 'BENCH_GATEWAY_ENV' | 'BENCH_MODEL_SERVER_ENV'): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const pair of (process.env[name] ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at > 0) out[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  return out;
}

export async function startStack(group: ProcessGroup, options: StackOptions): Promise<Stack> {
  const store = temporaryStore(options.models);
  const adminToken = randomBytes(16).toString('hex');
  const registry = await group.modelgate('registry', ['registry'], {
    MODEL_STORE: store,
    ADMIN_TOKEN: adminToken,
    ...options.registryEnv,
  });
  const perVersion = options.instancesPerVersion ?? 1;
  const wanted = options.models.flatMap((model) =>
    (options.versions?.[model] ?? shippedVersions(model)).map((version) => ({ model, version })),
  );
  const modelServers: ModelServerHandle[] = [];
  // Started one at a time: each warms TF.js up, and two cores warming four models at once only
  // makes every start-up slower.
  for (const { model, version } of wanted) {
    for (let i = 0; i < perVersion; i++) {
      const service = await group.modelgate(
        `model-server ${model}/${version}#${i + 1}`,
        ['model-server', '--model', model, '--version', version],
        {
          MODEL_STORE: store,
          REGISTRY_URL: registry.url,
          INSTANCE_TOKEN: adminToken,
          ...options.modelServerEnv,
          ...envOverrides('BENCH_MODEL_SERVER_ENV'),
        },
      );
      modelServers.push({ model, version, service });
    }
  }
  // The gateway's evidence store goes beside the model store, never into the working tree.
  const gateway = options.gateway
    ? await group.modelgate('gateway', ['gateway'], {
        REGISTRY_URL: registry.url,
        DATABASE_URL: `sqlite:${path.join(store, '.gateway-data', 'modelgate.db')}`,
        ...options.gatewayEnv,
        ...envOverrides('BENCH_GATEWAY_ENV'),
      })
    : undefined;

  const stack: Stack = {
    store,
    adminToken,
    registry,
    modelServers,
    gateway,
    setPolicy: (model, policy) => putPolicy(registry.url, adminToken, model, policy),
    close: async () => {
      await Promise.all([gateway?.stop(), ...modelServers.map((m) => m.service.stop())]);
      await registry.stop();
      rmSync(store, { recursive: true, force: true });
    },
  };
  if (gateway) await waitForGatewayInstances(gateway.url, wanted, perVersion);
  return stack;
}

/** GET the policy for its ETag, then PUT with If-Match, as every admin client must. */
export async function putPolicy(
  registryUrl: string,
  adminToken: string,
  model: string,
  policy: PolicyInput,
): Promise<void> {
  const current = await fetch(`${registryUrl}/models/${model}/policy`, {
    headers: { authorization: `Bearer ${adminToken}` },
  });
  await current.arrayBuffer();
  const etag = current.headers.get('etag');
  const res = await fetch(`${registryUrl}/models/${model}/policy`, {
    method: 'PUT',
    headers: {
      authorization: `Bearer ${adminToken}`,
      'content-type': 'application/json',
      ...(etag ? { 'if-match': etag } : {}),
    },
    body: JSON.stringify(policy),
  });
  if (!res.ok) throw new Error(`PUT policy for ${model} answered ${res.status}: ${await res.text()}`);
  await res.arrayBuffer();
}

/** Reads one gauge family from Prometheus text: labels → value. */
export function metricValues(
  text: string,
  name: string,
): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const pair of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

/** Waits until the gateway's routing table lists every version with the expected instance count
 * (its `modelgate_gateway_live_instances` gauge), so a measurement never starts half-wired. */
export async function waitForGatewayInstances(
  gatewayUrl: string,
  wanted: { model: string; version: string }[],
  perVersion: number,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const text = await (await fetch(`${gatewayUrl}/metrics`)).text();
      const live = metricValues(text, 'modelgate_gateway_live_instances');
      const missing = wanted.filter(
        (w) =>
          (live.find((l) => l.labels.model === w.model && l.labels.version === w.version)?.value ?? 0) <
          perVersion,
      );
      if (missing.length === 0) return;
      last = `waiting for ${missing.map((m) => `${m.model}/${m.version}`).join(', ')}`;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `gateway did not list ${perVersion} live instance(s) per version in ${timeoutMs} ms: ${last}`,
  );
}
