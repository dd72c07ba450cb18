/** Reads docker-compose.yml the way `docker compose` does (YAML merge keys, `${VAR:-default}`
 * interpolation from an env file) and turns each modelgate service into something a test can run as a
 * local process: its command, its environment, with every compose host name and container path
 * mapped onto loopback ports and temp directories. No Docker needed. */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export interface ComposeService {
  name: string;
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  volumes?: string[];
  ports?: string[];
  expose?: string[];
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test?: string[] | string };
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** KEY=VALUE lines; `#` starts a comment line; values may be quoted. */
export function parseEnvFile(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`env file line is not KEY=VALUE: ${raw}`);
    let value = line.slice(eq + 1).trim();
    if (/^(['"]).*\1$/.test(value)) value = value.slice(1, -1);
    vars[line.slice(0, eq).trim()] = value;
  }
  return vars;
}

const VARIABLE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/** Compose interpolation: ${V}, $V, ${V:-default} (unset or empty), ${V-default} (unset),
 * ${V:?message} / ${V?message} (error), and $$ for a literal dollar. */
export function interpolate(text: string, vars: Record<string, string | undefined>): string {
  return text.replace(VARIABLE, (match, braced?: string, op?: string, arg?: string, bare?: string) => {
    if (match === '$$') return '$';
    const name = (braced ?? bare)!;
    const value = vars[name];
    const missing = op?.startsWith(':') ? value === undefined || value === '' : value === undefined;
    if (op === ':-' || op === '-') return missing ? (arg ?? '') : value!;
    if (op === ':?' || op === '?') {
      if (missing) throw new Error(`required variable ${name} is missing a value: ${arg}`);
      return value!;
    }
    return value ?? '';
  });
}

function interpolateDeep(node: unknown, vars: Record<string, string | undefined>): unknown {
  if (typeof node === 'string') return interpolate(node, vars);
  if (Array.isArray(node)) return node.map((n) => interpolateDeep(n, vars));
  if (node && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateDeep(v, vars)]));
  }
  return node;
}

export function loadCompose(file: string, vars: Record<string, string | undefined>): ComposeFile {
  const doc = parse(readFileSync(file, 'utf8'), { merge: true }) as ComposeFile;
  const resolved = interpolateDeep(doc, vars) as ComposeFile;
  for (const [name, service] of Object.entries(resolved.services)) service.name = name;
  return resolved;
}

export function environmentOf(service: ComposeService): Record<string, string> {
  const env: Record<string, string> = {};
  if (Array.isArray(service.environment)) {
    for (const item of service.environment) {
      const eq = item.indexOf('=');
      if (eq > 0) env[item.slice(0, eq)] = item.slice(eq + 1);
    }
  } else {
    for (const [k, v] of Object.entries(service.environment ?? {})) {
      if (v !== null) env[k] = String(v);
    }
  }
  return env;
}

/** Compose accepts a list or a shell-like string; ours are lists, a string is split on spaces. */
export function commandOf(service: ComposeService): string[] {
  const command = service.command;
  if (command === undefined) throw new Error(`service ${service.name} has no command`);
  return Array.isArray(command) ? command.map(String) : command.trim().split(/\s+/);
}

export function dependenciesOf(service: ComposeService): { name: string; condition: string }[] {
  const deps = service.depends_on ?? [];
  if (Array.isArray(deps)) return deps.map((name) => ({ name, condition: 'service_started' }));
  return Object.entries(deps).map(([name, d]) => ({ name, condition: d.condition ?? 'service_started' }));
}

/** Named-volume mounts as {volume, target, readOnly}; bind mounts (./path) are left out. */
export function namedVolumesOf(
  service: ComposeService,
): { volume: string; target: string; readOnly: boolean }[] {
  return (service.volumes ?? [])
    .map((spec) => spec.split(':'))
    .filter(([source]) => source !== undefined && !source.startsWith('.') && !source.startsWith('/'))
    .map(([volume, target, mode]) => ({ volume: volume!, target: target!, readOnly: mode === 'ro' }));
}

/** Services in an order where each comes after everything it depends on. */
export function startOrder(services: ComposeService[]): ComposeService[] {
  const byName = new Map(services.map((s) => [s.name, s]));
  const ordered: ComposeService[] = [];
  const visiting = new Set<string>();
  const visit = (s: ComposeService) => {
    if (ordered.includes(s)) return;
    if (visiting.has(s.name)) throw new Error(`depends_on cycle through ${s.name}`);
    visiting.add(s.name);
    for (const dep of dependenciesOf(s)) {
      const target = byName.get(dep.name);
      if (target) visit(target);
    }
    ordered.push(s);
  };
  for (const s of services) visit(s);
  return ordered;
}

const URL_HOST_PORT = /\b(https?|postgres(?:ql)?):\/\/([^@/\s]*@)?([A-Za-z0-9.-]+)(?::(\d+))?/g;
const DEFAULT_PORT: Record<string, number> = { http: 80, https: 443, postgres: 5432, postgresql: 5432 };

/** Rewrites every http(s)://host[:port] and postgres://[user@]host[:port] in `text` through
 * `map(host, port)`; `map` returns the new host:port or throws when the pair names a service that
 * does not listen there. Credentials are kept. */
export function rewriteUrls(text: string, map: (host: string, port: number) => string | undefined): string {
  return text.replace(
    URL_HOST_PORT,
    (match, scheme: string, user: string | undefined, host: string, port?: string) => {
      const target = map(host, port ? Number(port) : DEFAULT_PORT[scheme]!);
      return target === undefined ? match : `${scheme}://${user ?? ''}${target}`;
    },
  );
}
