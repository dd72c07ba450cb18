/** A throwaway PostgreSQL cluster for tests and benchmarks: initdb in a temp dir owned by the `postgres` user (the
 * server refuses to run as root), started with pg_ctl on a free loopback port, removed afterwards.
 * `stop()`/`start()` take the server down and back up with its data, for outage tests. */
import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { freePort } from './free-port';

const run = promisify(execFile);

export interface PostgresCluster {
  url: string;
  port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and deletes the cluster. */
  destroy(): Promise<void>;
}

const OS_USER = 'postgres';

/** Runs a PostgreSQL binary as the postgres OS user (directly when we already are not root). */
function pg(bin: string, args: string[]) {
  const asRoot = userInfo().uid === 0;
  return asRoot ? run('runuser', ['-u', OS_USER, '--', bin, ...args]) : run(bin, args);
}

export async function startPostgres(): Promise<PostgresCluster> {
  const dir = mkdtempSync(path.join('/tmp', 'modelgate-pg-'));
  const data = path.join(dir, 'data');
  if (userInfo().uid === 0) {
    const { stdout } = await run('id', ['-u', OS_USER]);
    const { stdout: gid } = await run('id', ['-g', OS_USER]);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  await pg('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  const start = async () => {
    await pg('pg_ctl', ['-D', data, '-o', options, '-l', path.join(dir, 'log'), '-w', '-t', '60', 'start']);
  };
  const stop = async () => {
    await pg('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
  };
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start,
    stop,
    async destroy() {
      await stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh, empty database on the cluster; returns its URL. */
export async function createDatabase(cluster: PostgresCluster, name: string): Promise<string> {
  const client = new Client({ connectionString: cluster.url });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
  } finally {
    await client.end();
  }
  return cluster.url.replace(/\/postgres$/, `/${name}`);
}
