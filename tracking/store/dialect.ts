/** Which engine a DATABASE_URL names. Code branches on this only where SQL differs (DDL types,
 * the migration lock); queries are written once in Kysely. */
export type Dialect = 'sqlite' | 'postgres';

export type DatabaseLocation = { dialect: 'sqlite'; path: string } | { dialect: 'postgres'; url: string };

/** `sqlite:PATH` (`sqlite::memory:` for tests) or `postgres://…` / `postgresql://…`. */
export function parseDatabaseUrl(url: string): DatabaseLocation {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '') throw new Error('DATABASE_URL "sqlite:" needs a path, e.g. sqlite:./data/modelgate.db');
    return { dialect: 'sqlite', path };
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    try {
      new URL(url);
    } catch {
      throw new Error(`DATABASE_URL is not a valid URL: ${redact(url)}`);
    }
    return { dialect: 'postgres', url };
  }
  throw new Error(
    `DATABASE_URL must start with sqlite: or postgres://, got ${JSON.stringify(redact(url).slice(0, 80))}`,
  );
}

/** The URL with its password replaced, for messages and logs. */
export function redact(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@]*@/i, '$1***@');
}
