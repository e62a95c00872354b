import { createRequire } from 'node:module';
import type { Pool as PgPool, PoolClient, PoolConfig } from 'pg';
import { OperationError, StateError } from '../../errors.js';
import type { ImportMode, ListQuery, Page, PageResult } from '../store.js';
import { filterSql, orderSql, type FilterTable } from './filter.js';
import { pgMigrations } from './schema.js';

/**
 * The PostgreSQL connection pool every concern of the store shares (./codes.ts, ./audit.ts,
 * ./users.ts, ./groups.ts, ./import.ts): the URL and its redacted form, connecting with errors
 * that name the host, migrations under an advisory lock, and transactions that retry what a
 * concurrent replica made fail.
 */

// Required, not imported: pg is CommonJS, loaded only when a database URL is given.
const require = createRequire(import.meta.url);

/** Every dirsync replica takes this advisory lock to migrate, so that only one does. */
const MIGRATION_LOCK = 0x64697273; // "dirs"
const CONNECT_TIMEOUT_MS = 10_000;

export type Queryable = Pick<PoolClient, 'query'>;

/** The URL as it may be shown: postgres://USER@HOST:PORT/DB, never the password or the query. */
export function redactDatabaseUrl(url: string): string {
  const parsed = parseDatabaseUrl(url);
  const user = decodeURIComponent(parsed.username) || process.env.PGUSER || '';
  const host = hostOf(parsed);
  const port = parsed.port || process.env.PGPORT || '5432';
  const db = parsed.pathname.replace(/^\//, '') || process.env.PGDATABASE || user;
  return `postgres://${user ? `${encodeURIComponent(user)}@` : ''}${host}:${port}/${db}`;
}

function hostOf(parsed: URL): string {
  return decodeURIComponent(parsed.hostname) || process.env.PGHOST || 'localhost';
}

function parseDatabaseUrl(url: string): URL {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    /* reported below */
  }
  if (!parsed || (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:')) {
    // The value itself is not repeated: it may hold a password.
    throw new OperationError(
      'The database URL is not a PostgreSQL URL: expected a postgres:// (or postgresql://) URL with the user, host, port and database (DIRSYNC_DATABASE_URL or --database).',
    );
  }
  return parsed;
}

/** What failed, in words, from an error of pg or of the socket under it. */
function describeFailure(error: unknown, secret: string): string {
  const e = error as { code?: string; message?: string } | undefined;
  const code = e?.code;
  let what: string;
  if (code === 'ECONNREFUSED') what = 'connection refused (is PostgreSQL running and listening on that port?)';
  else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') what = 'host not found';
  else if (code === 'ETIMEDOUT' || /timeout/i.test(e?.message ?? '')) what = `no answer within ${CONNECT_TIMEOUT_MS / 1000} s`;
  else if (code === 'ECONNRESET') what = 'the connection was reset';
  else if (code === '28P01' || code === '28000') what = e?.message ?? 'authentication failed';
  else what = e?.message ?? String(error);
  return secret ? what.split(secret).join('***') : what;
}

export class PgCore {
  readonly pool: PgPool;
  /** The URL without its password: what status and errors show. */
  readonly location: string;
  private readonly host: string;
  private readonly password: string;

  constructor(url: string, options: { max?: number } = {}) {
    const parsed = parseDatabaseUrl(url);
    this.location = redactDatabaseUrl(url);
    this.host = `${hostOf(parsed)}:${parsed.port || process.env.PGPORT || '5432'}`;
    this.password = decodeURIComponent(parsed.password);
    const { Pool } = require('pg') as typeof import('pg');
    const config: PoolConfig = {
      connectionString: url,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      max: options.max ?? 10,
      idleTimeoutMillis: 30_000,
      application_name: 'dirsync',
    };
    this.pool = new Pool(config);
    // An idle connection that the server closes (restart, failover) must not end the process;
    // the next query opens a new one.
    this.pool.on('error', () => {});
  }

  /** A connection error as a one-line OperationError naming the host (never the password). */
  connectionError(error: unknown): OperationError {
    return new OperationError(`Cannot use the directory database on ${this.host} (${this.location}): ${describeFailure(error, this.password)}.`);
  }

  private async connect(): Promise<PoolClient> {
    try {
      return await this.pool.connect();
    } catch (error) {
      throw this.connectionError(error);
    }
  }

  async query<R extends object = Record<string, unknown>>(text: string, args: unknown[] = []): Promise<R[]> {
    let result;
    try {
      result = await this.pool.query(text, args);
    } catch (error) {
      if (isConnectionFailure(error)) throw this.connectionError(error);
      throw error;
    }
    return result.rows as R[];
  }

  /**
   * Runs `fn` in one transaction and resolves after its COMMIT. A unique violation, deadlock or
   * serialization failure (another replica's write raced this one) runs it again from the start:
   * the next attempt sees what the other committed (a name taken becomes a 409 there).
   */
  async tx<T>(fn: (client: Queryable) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const client = await this.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        try {
          await client.query('ROLLBACK');
        } catch (rollback) {
          broken = rollback as Error;
        }
        const code = (error as { code?: string }).code;
        if (attempt < 3 && (code === '23505' || code === '40P01' || code === '40001')) continue;
        if (isConnectionFailure(error)) throw this.connectionError(error);
        throw error;
      } finally {
        client.release(broken);
      }
    }
  }

  /** Creates or migrates the schema; replicas starting together wait for each other's lock. */
  async migrate(): Promise<{ from: number; to: number }> {
    return this.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await c.query('CREATE TABLE IF NOT EXISTS dirsync_schema (version INTEGER NOT NULL)');
      const rows = (await c.query('SELECT version FROM dirsync_schema')).rows as { version: number }[];
      const from = rows[0]?.version ?? 0;
      if (from > pgMigrations.length) {
        throw new StateError(
          `The directory database ${this.location} was written by a newer dirsync (schema ${from}; this one knows ${pgMigrations.length}).`,
          { hint: 'Upgrade dirsync (npm install -g dirsync@latest) on this host and run the command again.' },
        );
      }
      for (let i = from; i < pgMigrations.length; i++) await c.query(pgMigrations[i]!);
      if (rows.length === 0) await c.query('INSERT INTO dirsync_schema (version) VALUES ($1)', [pgMigrations.length]);
      else if (from !== pgMigrations.length) await c.query('UPDATE dirsync_schema SET version = $1', [pgMigrations.length]);
      return { from, to: pgMigrations.length };
    });
  }

  async schemaVersion(): Promise<number> {
    const rows = await this.query<{ version: number }>(
      "SELECT version FROM dirsync_schema WHERE to_regclass('dirsync_schema') IS NOT NULL",
    ).catch(async (error) => {
      if ((error as { code?: string }).code === '42P01') return [];
      throw error;
    });
    return rows[0]?.version ?? 0;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** In new-only mode an administrator's objects are invisible to SCIM. */
  visible(mode: ImportMode, table = ''): string {
    return mode === 'new-only' ? ` AND ${table}source = 'entra'` : '';
  }

  /** One page of a SCIM list GET. */
  async page<R, T>(
    table: FilterTable,
    columns: string,
    query: ListQuery,
    mode: ImportMode,
    page: Page,
    map: (row: R) => T,
  ): Promise<PageResult<T>> {
    const where = query.filter ? filterSql(query.filter, table) : { sql: 'TRUE', args: [] };
    const clause = where.sql + this.visible(mode, `${table}.`);
    const args = where.args;
    const order = orderSql(query.sort, table);
    const count = async () =>
      Number((await this.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${table} WHERE ${clause}`, args))[0]!.n);
    if (page.count <= 0) return { total: await count(), items: [] };
    const offset = Math.max(0, page.startIndex - 1);
    const limit = Number.isFinite(page.count) ? `LIMIT ${Math.max(1, Math.trunc(page.count))}` : '';
    const rows = await this.query<R & object>(
      `SELECT ${columns} FROM ${table} WHERE ${clause} ORDER BY ${order} ${limit} OFFSET $${args.length + 1}`,
      [...args, offset],
    );
    const total = offset === 0 && rows.length < page.count ? rows.length : await count();
    return { total, items: rows.map(map) };
  }
}

function isConnectionFailure(error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code ?? '';
  const message = (error as { message?: string } | undefined)?.message ?? '';
  return (
    /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EPIPE|EHOSTUNREACH|ENETUNREACH)$/.test(code) ||
    /^(08|28|3D|57P)/.test(code) ||
    /Connection terminated|timeout exceeded when trying to connect/i.test(message)
  );
}
