/** Optional TLS for every service: TLS_CERT_FILE + TLS_KEY_FILE make `listen` serve HTTPS, and
 * TLS_CA_FILE adds a CA (e.g. a private or self-signed one) to the roots this process trusts for
 * its own outgoing calls: the gateway's upstreams and route polls, heartbeats, the registry's
 * instance checks. Files are read once at start-up; a missing or unreadable one stops the service
 * with the variable named. */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { Agent, setGlobalDispatcher } from 'undici';
import { ConfigError } from './config';

export interface TlsEnv {
  TLS_CERT_FILE?: string | undefined;
  TLS_KEY_FILE?: string | undefined;
  TLS_CA_FILE?: string | undefined;
}

export interface TlsSettings {
  /** Certificate and key to serve HTTPS with; undefined serves plain HTTP. */
  server: { cert: Buffer; key: Buffer } | undefined;
  /** Roots for outgoing HTTPS (the system's plus TLS_CA_FILE); undefined keeps Node's defaults. */
  ca: string[] | undefined;
}

function readNamed(variable: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError([`${variable}: cannot read ${JSON.stringify(file)}: ${(err as Error).message}`]);
  }
}

export function loadTls(env: TlsEnv): TlsSettings {
  const { TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile, TLS_CA_FILE: caFile } = env;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new ConfigError([
      `${certFile === undefined ? 'TLS_CERT_FILE' : 'TLS_KEY_FILE'}: required when ${certFile === undefined ? 'TLS_KEY_FILE' : 'TLS_CERT_FILE'} is set (HTTPS needs both)`,
    ]);
  }
  const server =
    certFile !== undefined && keyFile !== undefined
      ? { cert: readNamed('TLS_CERT_FILE', certFile), key: readNamed('TLS_KEY_FILE', keyFile) }
      : undefined;
  const ca =
    caFile === undefined
      ? undefined
      : [...rootCertificates, readNamed('TLS_CA_FILE', caFile).toString('utf8')];
  return { server, ca };
}

/** Makes fetch() and undici's request() of this process trust `ca`. Called by main.ts only: the
 * dispatcher is process-wide by nature (Node's fetch reads undici's global dispatcher). */
export function trustForOutgoingCalls(ca: string[] | undefined): void {
  if (ca !== undefined) setGlobalDispatcher(new Agent({ connect: { ca } }));
}
