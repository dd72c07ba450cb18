/** Compose and Kubernetes have no supervisor to start a model-server per version, so their
 * per-version parts are generated from the store: `modelgate deploy compose` rewrites the marked
 * regions of docker-compose.yml (the services and the gateway's dependencies on them), and
 * `modelgate deploy k8s` writes deploy/k8s/model-<m>-v<v>.yaml from model-server.yaml.template and
 * the marked list in kustomization.yaml. Everything outside the markers (postgres, Prometheus, your
 * own edits) is left as it is. The generators are pure text in, text out; the command does the file I/O. */

import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { NAME_PATTERN } from '../../common/wire';

export interface StoreVersion {
  model: string;
  version: string;
}

/** `model/version` folders holding a metadata.json, in name order (versions numerically). */
export function storeVersions(store: string): StoreVersion[] {
  const found: StoreVersion[] = [];
  const dirs = (dir: string) =>
    readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && NAME_PATTERN.test(d.name))
      .map((d) => d.name)
      .sort(new Intl.Collator('en', { numeric: true }).compare);
  for (const model of dirs(store)) {
    for (const version of dirs(path.join(store, model))) {
      if (existsSync(path.join(store, model, version, 'metadata.json'))) found.push({ model, version });
    }
  }
  return found;
}

/** docker-compose service and k8s object name of a version. */
export const serviceName = (v: StoreVersion): string => `model-${v.model}-v${v.version}`;

/** First model-server port in compose; each version takes the next one, in store order. */
const FIRST_PORT = 8501;

function replaceRegion(text: string, start: string, end: string, body: string, file: string): string {
  const a = text.indexOf(start);
  const b = text.indexOf(end, a);
  if (a < 0 || b < 0)
    throw new Error(`${file} has no region "${start.trim()}" … "${end.trim()}" to generate into`);
  const lineStart = text.indexOf('\n', a) + 1;
  const endLine = text.lastIndexOf('\n', b) + 1;
  return text.slice(0, lineStart) + body + text.slice(endLine);
}

/** A compose healthcheck: node's fetch of the service's own URL, over https when the service serves
 * TLS. It checks its own process on loopback, by a name its certificate need not carry, so it does
 * not verify the certificate. Used for the generated model-servers; the hand-written services in
 * docker-compose.yml carry the same line. */
function healthcheck(url: string): string {
  return `const tls=!!process.env.TLS_CERT_FILE;if(tls)process.env.NODE_TLS_REJECT_UNAUTHORIZED='0';fetch('${url}'.replace(/^http:/,tls?'https:':'http:')).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`;
}

function composeService(v: StoreVersion, port: number): string {
  return `  ${serviceName(v)}:
    <<: *model-server
    command: ["model-server", "--model", "${v.model}", "--version", "${v.version}"]
    environment:
      <<: *model-server-env
      PORT: ${port}
      PUBLIC_URL: \${MODELGATE_SCHEME:-http}://${serviceName(v)}:${port}
    expose: ["${port}"]
    healthcheck:
      test: ["CMD", "node", "-e", "${healthcheck(`http://127.0.0.1:${port}/v2/health/ready`)}"]
      interval: 10s
      timeout: 5s
      retries: 3
      start_period: 60s
`;
}

export function generateCompose(current: string, versions: readonly StoreVersion[]): string {
  const services = versions.map((v, i) => composeService(v, FIRST_PORT + i)).join('\n');
  const deps = versions.map((v) => `      ${serviceName(v)}:\n        condition: service_healthy\n`).join('');
  let text = replaceRegion(
    current,
    '  # --- model-servers:',
    '  # --- end model-servers ---',
    services,
    'docker-compose.yml',
  );
  text = replaceRegion(
    text,
    '      # --- model-server dependencies:',
    '      # --- end model-server dependencies ---',
    deps,
    'docker-compose.yml',
  );
  return text;
}

/** deploy/k8s file name → content for every version, plus the updated kustomization.yaml. */
export function generateK8s(options: {
  template: string;
  kustomization: string;
  versions: readonly StoreVersion[];
}): { files: Map<string, string>; kustomization: string } {
  const body = options.template.replace(/^# Template of one model version.*\n/, '');
  const files = new Map(
    options.versions.map((v) => [
      `${serviceName(v)}.yaml`,
      body.replaceAll('${MODEL}', v.model).replaceAll('${VERSION}', v.version),
    ]),
  );
  const list = [...files.keys()].map((f) => `  - ${f}\n`).join('');
  const kustomization = replaceRegion(
    options.kustomization,
    '  # --- model versions:',
    '  # --- end model versions ---',
    list,
    'kustomization.yaml',
  );
  return { files, kustomization };
}
