import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type DatabaseConstructor from 'better-sqlite3';
import { StateError } from '../../errors.js';
import { migrations } from '../migrations.js';
import { filterSql, orderSql, type FilterTable } from './filter.js';
import type { ImportMode, ListQuery, Page, PageResult } from '../store.js';

/**
 * The SQLite connection every concern of the store shares (./codes.ts, ./audit.ts, ./users.ts,
 * ./groups.ts, ./import.ts): opening and migrating the file, the statement cache, and the group
 * commit of SCIM writes.
 */

// Required, not imported: better-sqlite3 is CommonJS, and loading it through ESM costs start-up time
// (`token status` opens this store).
const require = createRequire(import.meta.url);
const Database = require('better-sqlite3') as typeof DatabaseConstructor;
export type Db = DatabaseConstructor.Database;

function unreadable(file: string, cause: unknown): StateError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new StateError(`The directory database ${file} cannot be read: ${reason}.`, {
    hint:
      `It has not been changed. Restore it from a backup, or move it aside (mv "${file}" "${file}.broken") ` +
      'to start an empty directory; Secret Codes would then have to be renewed and Entra updated.',
    cause,
  });
}

/**
 * Opens (creating on first use) the SQLite database at `file`: WAL, foreign keys, a busy timeout
 * so that concurrent dirsync processes wait for each other instead of failing, and migrations.
 */
export function openSqliteDb(file: string): Db {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // Create the file 0600 before SQLite does (SQLite gives -wal and -shm the same mode).
  fs.closeSync(fs.openSync(file, 'a', 0o600));
  let db: Db;
  try {
    db = new Database(file, { nativeBinding: nativeBinding() });
    db.pragma('busy_timeout = 10000');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    // 32 MiB of page cache (SQLite's default is 2 MiB): the indexes of a 100k-user directory stay in
    // memory instead of being re-read on every SCIM lookup. Allocated only as pages are read.
    db.pragma('cache_size = -32768');
    // Checkpoint the WAL every ~40 MiB instead of every ~4 MiB: a hot page (a table's last leaf, an
    // index's) is then copied back once per many commits, and the checkpoint's fsyncs are rarer.
    db.pragma('wal_autocheckpoint = 10000');
    // SCIM filters fold case as JavaScript does (the *_lc columns were folded with toLowerCase);
    // SQLite's own lower() folds ASCII only.
    db.function('scim_lower', { deterministic: true }, (text: unknown) => (typeof text === 'string' ? text.toLowerCase() : text));
    migrate(db, file);
  } catch (error) {
    if (error instanceof StateError) throw error;
    throw unreadable(file, error);
  }
  return db;
}

/**
 * The compiled addon, located directly: better-sqlite3 otherwise searches a dozen paths with the
 * `bindings` package on every start (measurable in `token status` start-up).
 */
export function nativeBinding(): string | undefined {
  try {
    const addon = require.resolve('better-sqlite3/build/Release/better_sqlite3.node');
    return fs.existsSync(addon) ? addon : undefined;
  } catch {
    return undefined;
  }
}

function migrate(db: Db, file: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > migrations.length) {
    throw new StateError(
      `The directory database ${file} was written by a newer dirsync (schema ${version}; this one knows ${migrations.length}).`,
      { hint: 'Upgrade dirsync (npm install -g dirsync@latest) and run the command again.' },
    );
  }
  if (version === migrations.length) return;
  // IMMEDIATE: two processes opening a new database at once must not both migrate.
  db.exec('BEGIN IMMEDIATE');
  try {
    const current = db.pragma('user_version', { simple: true }) as number;
    for (let i = current; i < migrations.length; i++) db.exec(migrations[i]!);
    db.pragma(`user_version = ${migrations.length}`);
    db.exec('COMMIT');
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
}

interface WriteBatch {
  done: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
  /** SQLite rolled the transaction back under it: its writers must fail. */
  broken: boolean;
}

export class SqliteCore {
  constructor(
    readonly db: Db,
    readonly path: string,
  ) {}

  private readonly statements = new Map<string, DatabaseConstructor.Statement>();
  /** Called when a write batch takes the write lock (the Secret Code cache checks its version then). */
  onBatchOpen: (() => void) | undefined;

  close(): void {
    if (this.batch && this.db.open) this.finishBatch(this.batch);
    this.statements.clear();
    if (this.db.open) this.db.close();
  }

  /** A prepared statement, compiled once per SQL text (the SCIM hot paths reuse a handful). */
  sql(text: string): DatabaseConstructor.Statement {
    let stmt = this.statements.get(text);
    if (!stmt) {
      // Filters of every shape a client may invent each get a statement: bounded, starting over when full.
      if (this.statements.size >= 1000) this.statements.clear();
      stmt = this.db.prepare(text);
      this.statements.set(text, stmt);
    }
    return stmt;
  }

  /** Runs `fn` in a write transaction taken up front, so racing writers queue instead of failing. */
  immediate<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  // --- Group commit for the SCIM writes --------------------------------------------------------
  // Each SCIM write runs atomically in its own SAVEPOINT; the writes that arrive in the same turn of
  // the event loop share one BEGIN IMMEDIATE … COMMIT, taken at the end of that turn. A write's
  // promise resolves only after that COMMIT, so a response is never sent for data that is not yet
  // committed (kill -9 loses nothing that was answered), while the cost of a commit (WAL frames of
  // the shared pages, the commit record, the occasional checkpoint) is paid once per batch instead
  // of once per request. A write that fails rolls back to its savepoint and leaves the others alone.

  private batch: WriteBatch | undefined;

  /** This connection holds the write lock in an open batch: no other connection can commit now. */
  inWriteBatch(): boolean {
    return this.batch !== undefined && this.db.inTransaction;
  }

  private openBatch(): WriteBatch {
    this.sql('BEGIN IMMEDIATE').run();
    this.onBatchOpen?.();
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    done.catch(() => {}); // every writer awaits it; this only keeps an unobserved failure quiet
    const batch: WriteBatch = { done, resolve, reject, broken: false };
    this.batch = batch;
    setImmediate(() => this.finishBatch(batch));
    return batch;
  }

  private finishBatch(batch: WriteBatch): void {
    if (this.batch !== batch) return;
    this.batch = undefined;
    try {
      if (batch.broken || !this.db.inTransaction) throw new Error('The write transaction was rolled back by SQLite.');
      this.sql('COMMIT').run();
      batch.resolve();
    } catch (error) {
      if (!batch.broken && this.db.inTransaction) {
        try {
          this.sql('ROLLBACK').run();
        } catch {
          /* nothing more to undo */
        }
      }
      batch.reject(error);
    }
  }

  /**
   * Runs `fn` atomically (a savepoint inside the current batch) and resolves once it is committed.
   * `oneStatement`: `fn` modifies the database with at most one statement, and throws (if it does)
   * only before that statement. SQLite makes a single statement atomic by itself (a failed one is
   * undone, the transaction goes on), so the savepoint, two more calls into SQLite, is skipped.
   */
  async write<T>(fn: () => T, oneStatement = false): Promise<T> {
    let batch = this.batch;
    if (batch && !this.db.inTransaction) {
      // SQLite rolled the whole transaction back (e.g. disk full): its writers fail, start afresh.
      batch.broken = true;
      this.finishBatch(batch);
      batch = undefined;
    }
    batch ??= this.openBatch();
    if (oneStatement) {
      const result = fn();
      await batch.done;
      return result;
    }
    this.sql('SAVEPOINT scim_write').run();
    let result: T;
    try {
      result = fn();
      this.sql('RELEASE scim_write').run();
    } catch (error) {
      if (this.db.inTransaction) {
        this.sql('ROLLBACK TO scim_write').run();
        this.sql('RELEASE scim_write').run();
      }
      throw error;
    }
    await batch.done;
    return result;
  }

  /** Reads wait for a batch in flight, so that they answer with committed data only. */
  async settled(): Promise<void> {
    const batch = this.batch;
    if (batch) await batch.done.catch(() => {});
  }

  // --- Shared by users and groups -----------------------------------------------------------------

  /** In new-only mode an administrator's objects are invisible to SCIM. */
  visible(mode: ImportMode, table = ''): string {
    return mode === 'new-only' ? ` AND ${table}source = 'entra'` : '';
  }

  /** One page of a SCIM list GET. */
  page<R, T>(
    table: FilterTable,
    columns: string,
    query: ListQuery,
    mode: ImportMode,
    page: Page,
    map: (row: R) => T,
  ): PageResult<T> {
    const where = query.filter ? filterSql(query.filter, table) : { sql: '1 = 1', args: [] };
    const clause = where.sql + this.visible(mode, `${table}.`);
    const args = where.args;
    const order = orderSql(query.sort, table);
    const count = () => (this.sql(`SELECT COUNT(*) AS n FROM ${table} WHERE ${clause}`).get(...args) as { n: number }).n;
    if (page.count <= 0) return { total: count(), items: [] };
    const offset = Math.max(0, page.startIndex - 1);
    // LIMIT goes into the SQL text (an integer; at most 1000 from SCIM, so a handful of statements):
    // SQLite re-plans a statement on every run whose LIMIT is a bound parameter, ~10 µs, more than
    // the index lookup itself.
    const limit = Number.isFinite(page.count) ? Math.max(1, Math.trunc(page.count)) : -1;
    const rows = this.sql(
      `SELECT ${columns} FROM ${table} WHERE ${clause} ORDER BY ${order} LIMIT ${limit} OFFSET ?`,
    ).all(...args, offset) as R[];
    // A first page that is not full holds every match (the usual filter on a unique attribute):
    // the total is known without a COUNT(*) over the matches.
    const total = offset === 0 && rows.length < page.count ? rows.length : count();
    return { total, items: rows.map(map) };
  }
}

/** The schema version of the SQLite file at `file` (0 when there is none yet), read without changing it. */
export function sqliteSchemaVersion(file: string): number {
  if (!fs.existsSync(file)) return 0;
  let db: Db | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true, nativeBinding: nativeBinding() });
    return db.pragma('user_version', { simple: true }) as number;
  } catch (error) {
    throw unreadable(file, error);
  } finally {
    db?.close();
  }
}
