/**
 * Which PostgreSQL a store talks to, for error messages: host, port, database and user, read from the
 * connection URL the way node-postgres reads it (then the PG* variables, then its defaults). Never the
 * password: a message that names the fix must not hand out the credentials with it.
 */

export interface PgTarget {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string | undefined;
}

export function pgTarget(connectionString: string, env: NodeJS.ProcessEnv = process.env): PgTarget | undefined {
  let url: URL;
  try {
    url = new URL(connectionString);
  } catch {
    return undefined;
  }
  const user = decodeURIComponent(url.username) || env['PGUSER'] || env['USER'] || undefined;
  // ?host=/run/postgresql (a socket folder) wins over the URL's host, as in libpq.
  const host = url.searchParams.get('host') || url.hostname.replace(/^\[(.*)\]$/, '$1') || env['PGHOST'] || 'localhost';
  const port = Number(url.port || env['PGPORT'] || 5432);
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || env['PGDATABASE'] || user || 'postgres';
  return { host, port, database, user };
}

/** "127.0.0.1:5432", or "[::1]:5432" for an IPv6 address. */
export function hostPort(t: PgTarget): string {
  return `${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`;
}
