import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type DatabaseConstructor from 'better-sqlite3';
import { StateError } from '../errors.js';
import { migrations } from './migrations.js';
import { filterSql, orderSql, type FilterTable } from './sqlite-filter.js';
import {
  ConflictError,
  type AdminImportResult,
  type AdminImportRow,
  type AuditEntry,
  type CreateResult,
  type DirectoryCounts,
  type DirectoryStore,
  type GroupChange,
  type GroupData,
  type GroupMember,
  type GroupRecord,
  type GroupWriteResult,
  type GroupSummary,
  type ImportMode,
  type ListQuery,
  type Page,
  type PageResult,
  type RenewOptions,
  type RenewResult,
  type SecretCodeRecord,
  type Source,
  type UserData,
  type UserRecord,
  type UserSummary,
  type WriteOptions,
} from './store.js';

// Required, not imported: better-sqlite3 is CommonJS, and loading it through ESM costs start-up time
// (`token status` opens this store). Likewise the global crypto.randomUUID, which loads node:crypto
// only when a resource is created.
const require = createRequire(import.meta.url);
const Database = require('better-sqlite3') as typeof DatabaseConstructor;
const randomUUID = () => globalThis.crypto.randomUUID();
/**
 * The id of a new user or group: a UUID whose first 48 bits are the time in milliseconds (the
 * UUIDv7 layout, RFC 9562) and the rest random. Ids made one after another sort together, so the
 * id index grows at its end instead of dirtying a random page of a 100k-user index per insert.
 */
function newId(): string {
  const random = randomUUID();
  const time = Date.now().toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${random.slice(15)}`;
}
type Db = DatabaseConstructor.Database;

interface SecretCodeRow {
  id: number;
  fingerprint: string;
  created_at: string;
  expires_at: string;
  superseded_at: string | null;
  grace_until: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

const toRecord = (row: SecretCodeRow): SecretCodeRecord => ({
  id: row.id,
  fingerprint: row.fingerprint,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  supersededAt: row.superseded_at,
  graceUntil: row.grace_until,
  revokedAt: row.revoked_at,
  lastUsedAt: row.last_used_at,
});

const CODE_COLUMNS =
  'id, fingerprint, created_at, expires_at, superseded_at, grace_until, revoked_at, last_used_at';

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
 * Opens (creating on first use) the SQLite directory at `file`: WAL, foreign keys, a busy timeout
 * so that concurrent dirsync processes wait for each other instead of failing, and migrations.
 */
export function openSqliteDirectory(file: string): SqliteDirectory {
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
  return new SqliteDirectory(db, file);
}

/**
 * The compiled addon, located directly: better-sqlite3 otherwise searches a dozen paths with the
 * `bindings` package on every start (measurable in `token status` start-up).
 */
function nativeBinding(): string | undefined {
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

export class SqliteDirectory implements DirectoryStore {
  constructor(
    readonly db: Db,
    readonly path: string,
  ) {}

  private readonly statements = new Map<string, DatabaseConstructor.Statement>();

  close(): void {
    if (this.batch && this.db.open) this.finishBatch(this.batch);
    this.statements.clear();
    this.codeCache.clear();
    if (this.db.open) this.db.close();
  }

  /**
   * For `dirsync serve`: WAL checkpoints from now on run in a worker thread with its own connection,
   * not inside this connection's COMMITs (see ./sqlite-checkpoint.ts). Stop it before close().
   */
  async checkpointInBackground(options: { intervalMs?: number; onError?: (message: string) => void } = {}) {
    const { startBackgroundCheckpoints } = await import('./sqlite-checkpoint.js');
    return startBackgroundCheckpoints(this.db, this.path, { ...options, binding: nativeBinding() });
  }

  /** A prepared statement, compiled once per SQL text (the SCIM hot paths reuse a handful). */
  private sql(text: string): DatabaseConstructor.Statement {
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

  private openBatch(): WriteBatch {
    this.sql('BEGIN IMMEDIATE').run();
    this.readCodeVersion(); // see findSecretCodeByHash
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
  private async write<T>(fn: () => T, oneStatement = false): Promise<T> {
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
  private async settled(): Promise<void> {
    const batch = this.batch;
    if (batch) await batch.done.catch(() => {});
  }

  // --- Secret codes ---------------------------------------------------------------------------

  private currentSync(): SecretCodeRecord | undefined {
    const row = this
      .sql(
        `SELECT ${CODE_COLUMNS} FROM secret_codes
         WHERE superseded_at IS NULL ORDER BY id DESC LIMIT 1`,
      )
      .get() as SecretCodeRow | undefined;
    return row && toRecord(row);
  }

  async currentSecretCode(): Promise<SecretCodeRecord | undefined> {
    return this.currentSync();
  }

  async renewSecretCode(options: RenewOptions): Promise<RenewResult> {
    this.codeCache.clear();
    return this.immediate((): RenewResult => {
      const current = this.currentSync();
      if (options.shouldRenew && !options.shouldRenew(current)) return { renewed: false, code: current };
      const now = options.now.toISOString();
      const replaced = (
        this.db
          .prepare(`SELECT ${CODE_COLUMNS} FROM secret_codes WHERE revoked_at IS NULL`)
          .all() as SecretCodeRow[]
      ).map(toRecord);
      if (options.graceMs === 0) {
        this.db
          .prepare('UPDATE secret_codes SET revoked_at = ?, superseded_at = COALESCE(superseded_at, ?) WHERE revoked_at IS NULL')
          .run(now, now);
      } else {
        const graceUntil = new Date(options.now.getTime() + options.graceMs).toISOString();
        this.db
          .prepare(
            `UPDATE secret_codes SET superseded_at = ?, grace_until = ?
             WHERE superseded_at IS NULL AND revoked_at IS NULL`,
          )
          .run(now, graceUntil);
      }
      const fresh = options.generate();
      const { lastInsertRowid } = this.db
        .prepare('INSERT INTO secret_codes (hash, fingerprint, created_at, expires_at) VALUES (?, ?, ?, ?)')
        .run(fresh.hash, fresh.fingerprint, fresh.createdAt.toISOString(), fresh.expiresAt.toISOString());
      const row = this.db
        .prepare(`SELECT ${CODE_COLUMNS} FROM secret_codes WHERE id = ?`)
        .get(lastInsertRowid) as SecretCodeRow;
      return { renewed: true, code: toRecord(row), replaced: replaced.filter((r) => r.supersededAt === null), before: replaced };
    });
  }

  async undoRenewal(renewal: { code: SecretCodeRecord; before: SecretCodeRecord[] }, now: Date): Promise<void> {
    this.codeCache.clear();
    const at = now.toISOString();
    return this.immediate(() => {
      this.db
        .prepare('UPDATE secret_codes SET revoked_at = COALESCE(revoked_at, ?), superseded_at = COALESCE(superseded_at, ?) WHERE id = ?')
        .run(at, at, renewal.code.id);
      const restore = this.db.prepare('UPDATE secret_codes SET superseded_at = ?, grace_until = ?, revoked_at = ? WHERE id = ?');
      for (const r of renewal.before) restore.run(r.supersededAt, r.graceUntil, r.revokedAt, r.id);
    });
  }

  async revokeSecretCodes(now: Date): Promise<number> {
    const at = now.toISOString();
    this.codeCache.clear();
    return this.immediate(() => {
      const { n } = this.db
        .prepare(
          `SELECT COUNT(*) AS n FROM secret_codes
           WHERE revoked_at IS NULL AND expires_at > ? AND (grace_until IS NULL OR grace_until > ?)`,
        )
        .get(at, at) as { n: number };
      this.db.prepare('UPDATE secret_codes SET revoked_at = ? WHERE revoked_at IS NULL').run(at);
      return n;
    });
  }

  // Every SCIM request looks its bearer code up. The rows found are kept, and dropped as soon as
  // anything else may have changed them: `PRAGMA data_version` changes whenever another connection
  // (`dirsync token renew|revoke` in another process) commits, and this connection's own code
  // writes clear the cache. A renewal or revocation therefore takes effect on the next request.
  private readonly codeCache = new Map<string, SecretCodeRecord & { hash: string }>();
  private codeCacheVersion: unknown;

  // Checked once per turn of the event loop: the requests handled in one turn (a burst that
  // arrived together) see the codes as they were when the turn began; the next turn sees any change.
  private codeVersionChecked = false;

  private checkCodeVersion(): void {
    if (this.codeVersionChecked) return;
    this.codeVersionChecked = true;
    setImmediate(() => {
      this.codeVersionChecked = false;
    });
    this.readCodeVersion();
  }

  /** Drops the cached code rows if another connection has committed since the last read. */
  private readCodeVersion(): void {
    const version = this.sql('PRAGMA data_version').pluck().get();
    if (version !== this.codeCacheVersion) {
      this.codeCache.clear();
      this.codeCacheVersion = version;
    }
  }

  async findSecretCodeByHash(hash: string): Promise<(SecretCodeRecord & { hash: string }) | undefined> {
    // While this connection's write batch is open it holds the database's write lock, and the
    // version was checked when the batch began: no other connection can have committed since. The
    // PRAGMA (a call into SQLite) is then needed only for requests outside a batch.
    if (!(this.batch && this.db.inTransaction)) this.checkCodeVersion();
    const cached = this.codeCache.get(hash);
    if (cached) return { ...cached };
    const row = this.sql(`SELECT ${CODE_COLUMNS}, hash FROM secret_codes WHERE hash = ?`).get(hash) as
      | (SecretCodeRow & { hash: string })
      | undefined;
    if (!row) return undefined;
    const record = { ...toRecord(row), hash: row.hash };
    if (this.codeCache.size >= 16) this.codeCache.clear();
    this.codeCache.set(hash, record);
    return { ...record };
  }

  async markSecretCodeUsed(id: number, at: Date): Promise<void> {
    this.codeCache.clear();
    this.sql('UPDATE secret_codes SET last_used_at = ? WHERE id = ?').run(at.toISOString(), id);
  }

  // --- Audit ---------------------------------------------------------------------------------

  async audit(entry: AuditEntry, at: Date): Promise<void> {
    this.db
      .prepare('INSERT INTO audit_log (at, action, detail) VALUES (?, ?, ?)')
      .run(at.toISOString(), entry.action, entry.detail ? JSON.stringify(entry.detail) : null);
  }

  // --- Directory (read side) -----------------------------------------------------------------

  async counts(): Promise<DirectoryCounts> {
    const users = this.db
      .prepare('SELECT COUNT(*) AS n, COALESCE(SUM(active), 0) AS active FROM users')
      .get() as { n: number; active: number };
    const groups = this.db.prepare('SELECT COUNT(*) AS n FROM groups').get() as { n: number };
    return { users: users.n, activeUsers: users.active, groups: groups.n };
  }

  async *listGroups(options: { filter?: string } = {}): AsyncIterable<GroupSummary> {
    const where = options.filter ? `WHERE display_name_lc LIKE ? ESCAPE '\\'` : '';
    const args = options.filter ? [likePattern(options.filter)] : [];
    const stmt = this.db.prepare(
      `SELECT id, display_name, external_id, source, member_count, updated_at FROM groups ${where}
       ORDER BY display_name_lc, id`,
    );
    for (const row of stmt.iterate(...args) as IterableIterator<{
      id: string;
      display_name: string;
      external_id: string | null;
      source: string;
      member_count: number;
      updated_at: string;
    }>) {
      yield {
        id: row.id,
        name: row.display_name,
        externalId: row.external_id,
        updatedBy: row.source === 'entra' ? 'Microsoft Entra ID' : 'Administrator',
        members: row.member_count,
        updatedAt: row.updated_at,
      };
    }
  }

  async *listUsers(options: { filter?: string } = {}): AsyncIterable<UserSummary> {
    const where = options.filter ? `WHERE user_name_lc LIKE ? ESCAPE '\\'` : '';
    const args = options.filter ? [likePattern(options.filter)] : [];
    const stmt = this.db.prepare(
      `SELECT id, user_name, display_name, external_id, active, source, updated_at FROM users ${where}
       ORDER BY user_name_lc, id`,
    );
    for (const row of stmt.iterate(...args) as IterableIterator<{
      id: string;
      user_name: string;
      display_name: string | null;
      external_id: string | null;
      active: number;
      source: string;
      updated_at: string;
    }>) {
      yield {
        id: row.id,
        userName: row.user_name,
        displayName: row.display_name,
        externalId: row.external_id,
        active: row.active === 1,
        updatedBy: row.source === 'entra' ? 'Microsoft Entra ID' : 'Administrator',
        updatedAt: row.updated_at,
      };
    }
  }

  // --- Directory (write side: SCIM provisioning, admin import) ---------------------------------

  private visible(mode: ImportMode, table = ''): string {
    return mode === 'new-only' ? ` AND ${table}source = 'entra'` : '';
  }

  async getUser(id: string, mode: ImportMode): Promise<UserRecord | undefined> {
    await this.settled();
    const row = this.sql(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?${this.visible(mode)}`).get(id) as
      | UserRow
      | undefined;
    return row && toUser(row);
  }

  async queryUsers(query: ListQuery, page: Page, mode: ImportMode): Promise<PageResult<UserRecord>> {
    await this.settled();
    return this.page<UserRow, UserRecord>('users', USER_COLUMNS, query, mode, page, toUser);
  }

  private page<R, T>(
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

  private userByName(userName: string, exceptId?: string): { id: string; source: Source } | undefined {
    return this.sql('SELECT id, source FROM users WHERE user_name_lc = ? AND id <> ?').get(
      userName.toLowerCase(),
      exceptId ?? '',
    ) as { id: string; source: Source } | undefined;
  }

  private groupByName(displayName: string, exceptId?: string): { id: string; source: Source } | undefined {
    return this.sql('SELECT id, source FROM groups WHERE display_name_lc = ? AND id <> ?').get(
      displayName.toLowerCase(),
      exceptId ?? '',
    ) as { id: string; source: Source } | undefined;
  }

  private writeUser(id: string, data: UserData, source: Source, at: string, insert: boolean): UserRecord {
    const c = userColumns(data);
    if (insert) {
      this.sql(
        `INSERT INTO users (id, user_name, user_name_lc, external_id, display_name, display_name_lc, work_email_lc,
           active, source, data, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(id, c.userName, c.userNameLc, c.externalId, c.displayName, c.displayNameLc, c.workEmailLc, c.active, source, JSON.stringify(data), at, at);
      return { id, userName: c.userName, externalId: c.externalId, active: c.active === 1, source, data, createdAt: at, updatedAt: at };
    } else {
      this.sql(
        `UPDATE users SET user_name = ?, user_name_lc = ?, external_id = ?, display_name = ?, display_name_lc = ?,
           work_email_lc = ?, active = ?, source = ?, data = ?, updated_at = ? WHERE id = ?`,
      ).run(c.userName, c.userNameLc, c.externalId, c.displayName, c.displayNameLc, c.workEmailLc, c.active, source, JSON.stringify(data), at, id);
    }
    return toUser(this.sql(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?`).get(id) as UserRow);
  }

  async createUser(data: UserData, options: WriteOptions): Promise<CreateResult<UserRecord>> {
    requireText(data.userName, 'userName');
    const at = options.now.toISOString();
    return this.write(() => {
      const clash = this.userByName(data.userName);
      if (clash) {
        if (clash.source === 'admin' && options.mode === 'sync-existing') {
          return { record: this.writeUser(clash.id, data, 'entra', at, false), linked: true };
        }
        throw userConflict(data.userName, clash, options.mode);
      }
      return { record: this.writeUser(newId(), data, 'entra', at, true), linked: false };
    }, true);
  }

  async updateUser(
    id: string,
    change: (current: UserData) => UserData,
    options: WriteOptions,
  ): Promise<UserRecord | undefined> {
    const at = options.now.toISOString();
    return this.write(() => {
      const row = this.sql(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?${this.visible(options.mode)}`).get(id) as
        | UserRow
        | undefined;
      if (!row) return undefined;
      const next = change(JSON.parse(row.data) as UserData);
      requireText(next.userName, 'userName');
      if (next.userName.toLowerCase() !== row.user_name_lc) {
        const clash = this.userByName(next.userName, id);
        if (clash) throw userConflict(next.userName, clash, options.mode);
      }
      return this.writeUser(id, next, 'entra', at, false);
    }, true);
  }

  /** Takes `memberId` out of every group it is in, keeping the groups' member counts right. */
  private removeFromAllGroups(memberId: string): void {
    this.sql(
      'UPDATE groups SET member_count = member_count - 1 WHERE id IN (SELECT group_id FROM group_members WHERE member_id = ?)',
    ).run(memberId);
    this.sql('DELETE FROM group_members WHERE member_id = ?').run(memberId);
  }

  async deleteUser(id: string, mode: ImportMode): Promise<boolean> {
    return this.write(() => {
      const { changes } = this.sql(`DELETE FROM users WHERE id = ?${this.visible(mode)}`).run(id);
      if (changes === 0) return false;
      this.removeFromAllGroups(id);
      return true;
    });
  }

  async getGroup(id: string, mode: ImportMode): Promise<GroupRecord | undefined> {
    await this.settled();
    const row = this.sql(`SELECT ${GROUP_COLUMNS} FROM groups WHERE id = ?${this.visible(mode)}`).get(id) as
      | GroupRow
      | undefined;
    return row && toGroup(row);
  }

  async groupMembers(id: string): Promise<GroupMember[]> {
    await this.settled();
    const rows = this.sql(
      `SELECT m.member_id, u.user_name, u.display_name AS user_display, g.display_name AS group_display
       FROM group_members m LEFT JOIN users u ON u.id = m.member_id LEFT JOIN groups g ON g.id = m.member_id
       WHERE m.group_id = ? ORDER BY m.member_id`,
    ).all(id) as { member_id: string; user_name: string | null; user_display: string | null; group_display: string | null }[];
    return rows.map((r) => ({
      value: r.member_id,
      type: r.user_name === null && r.group_display !== null ? 'Group' : 'User',
      display: r.user_display ?? r.user_name ?? r.group_display,
    }));
  }

  async queryGroups(query: ListQuery, page: Page, mode: ImportMode): Promise<PageResult<GroupRecord>> {
    await this.settled();
    return this.page<GroupRow, GroupRecord>('groups', GROUP_COLUMNS, query, mode, page, toGroup);
  }

  private writeGroup(id: string, data: GroupData, source: Source, at: string, insert: boolean): void {
    const externalId = typeof data.externalId === 'string' ? data.externalId : null;
    if (insert) {
      this.sql(
        `INSERT INTO groups (id, display_name, display_name_lc, external_id, source, member_count, data, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)`,
      ).run(id, data.displayName, data.displayName.toLowerCase(), externalId, source, JSON.stringify(data), at, at);
    } else {
      this.sql(
        `UPDATE groups SET display_name = ?, display_name_lc = ?, external_id = ?, source = ?, data = ?, updated_at = ?
         WHERE id = ?`,
      ).run(data.displayName, data.displayName.toLowerCase(), externalId, source, JSON.stringify(data), at, id);
    }
  }

  /**
   * Adds the members that exist (idempotent: a member already in the group is left alone) in one
   * set-based statement whose cost follows the number of ids given, not the group's size.
   * Returns how many were new.
   */
  private addMembers(groupId: string, memberIds: Iterable<string>, mode: ImportMode, unknown?: string[]): number {
    const ids = [...memberIds].filter((id) => typeof id === 'string' && id !== groupId);
    if (!ids.length) return 0;
    const v = this.visible(mode);
    const json = JSON.stringify(ids);
    const added = this.sql(
      `INSERT INTO group_members (group_id, member_id)
       SELECT ?, j.value FROM json_each(?) AS j
       WHERE EXISTS (SELECT 1 FROM users WHERE id = j.value${v})
          OR EXISTS (SELECT 1 FROM groups WHERE id = j.value${v})
       ON CONFLICT DO NOTHING`,
    ).run(groupId, json).changes;
    // Fewer added than given: some were members already (Entra re-sends them) or name nothing.
    if (unknown && added < ids.length) {
      const missing = this.sql(
        `SELECT j.value FROM json_each(?) AS j
         WHERE NOT EXISTS (SELECT 1 FROM users WHERE id = j.value${v})
           AND NOT EXISTS (SELECT 1 FROM groups WHERE id = j.value${v})`,
      ).pluck().all(json) as string[];
      unknown.push(...missing);
    }
    return added;
  }

  private removeMembers(groupId: string, memberIds: Iterable<string>): number {
    const ids = [...memberIds];
    if (!ids.length) return 0;
    return this.sql('DELETE FROM group_members WHERE group_id = ? AND member_id IN (SELECT value FROM json_each(?))').run(
      groupId,
      JSON.stringify(ids),
    ).changes;
  }

  async createGroup(data: GroupData, members: string[], options: WriteOptions): Promise<CreateResult<GroupWriteResult>> {
    requireText(data.displayName, 'displayName');
    const at = options.now.toISOString();
    return this.write(() => {
      const clash = this.groupByName(data.displayName);
      let id: string;
      let linked = false;
      if (clash) {
        if (clash.source !== 'admin' || options.mode !== 'sync-existing') {
          throw groupConflict(data.displayName, clash, options.mode);
        }
        // Linking keeps the members the administrator gave it; Entra adds its own.
        id = clash.id;
        linked = true;
        this.writeGroup(id, data, 'entra', at, false);
      } else {
        id = newId();
        this.writeGroup(id, data, 'entra', at, true);
      }
      const unknownMembers: string[] = [];
      const added = this.addMembers(id, new Set(members), options.mode, unknownMembers);
      if (added) this.sql('UPDATE groups SET member_count = member_count + ? WHERE id = ?').run(added, id);
      const record = toGroup(this.sql(`SELECT ${GROUP_COLUMNS} FROM groups WHERE id = ?`).get(id) as GroupRow);
      return { record: { ...record, unknownMembers }, linked };
    });
  }

  async updateGroup(id: string, change: GroupChange, options: WriteOptions): Promise<GroupWriteResult | undefined> {
    const at = options.now.toISOString();
    return this.write(() => {
      const row = this.sql(`SELECT ${GROUP_COLUMNS} FROM groups WHERE id = ?${this.visible(options.mode)}`).get(id) as
        | GroupRow
        | undefined;
      if (!row) return undefined;
      const attributes = change.displayName !== undefined || change.externalId !== undefined;
      const data = JSON.parse(row.data) as GroupData;
      if (change.displayName !== undefined) {
        requireText(change.displayName, 'displayName');
        if (change.displayName.toLowerCase() !== row.display_name_lc) {
          const clash = this.groupByName(change.displayName, id);
          if (clash) throw groupConflict(change.displayName, clash, options.mode);
        }
        data.displayName = change.displayName;
      }
      if (change.externalId !== undefined) {
        if (change.externalId === null) delete data.externalId;
        else data.externalId = change.externalId;
      }
      // A member-only change (Entra's usual group PATCH) leaves the group's attributes as they are.
      if (attributes || row.source !== 'entra') this.writeGroup(id, data, 'entra', at, false);
      let delta = 0;
      const unknownMembers: string[] = [];
      if (change.replaceMembers) {
        delta -= this.sql('DELETE FROM group_members WHERE group_id = ?').run(id).changes;
        delta += this.addMembers(id, new Set(change.replaceMembers), options.mode, unknownMembers);
      }
      if (change.addMembers?.length) delta += this.addMembers(id, change.addMembers, options.mode, unknownMembers);
      if (change.removeMembers?.length) delta -= this.removeMembers(id, change.removeMembers);
      this.sql('UPDATE groups SET member_count = member_count + ?, updated_at = ? WHERE id = ?').run(delta, at, id);
      return {
        id,
        displayName: data.displayName,
        externalId: typeof data.externalId === 'string' ? data.externalId : null,
        source: 'entra' as const,
        memberCount: row.member_count + delta,
        data,
        createdAt: row.created_at,
        updatedAt: at,
        unknownMembers,
      };
    });
  }

  async deleteGroup(id: string, mode: ImportMode): Promise<boolean> {
    return this.write(() => {
      const { changes } = this.sql(`DELETE FROM groups WHERE id = ?${this.visible(mode)}`).run(id);
      if (changes === 0) return false;
      // Its own member rows go by ON DELETE CASCADE; it may also be a member of other groups.
      this.removeFromAllGroups(id);
      return true;
    });
  }

  async importAdminObjects(rows: AdminImportRow[], now: Date): Promise<AdminImportResult> {
    const at = now.toISOString();
    return this.immediate(() => {
      const result: AdminImportResult = { users: 0, groups: 0, memberships: 0, skipped: [] };
      for (const row of rows.filter((r) => r.type === 'user')) {
        const clash = this.userByName(row.name);
        if (clash) {
          result.skipped.push({ line: row.line, name: row.name, reason: `a user with this userName already exists (${describeSource(clash.source)})` });
          continue;
        }
        const data: UserData = { userName: row.name, active: row.active ?? true };
        if (row.displayName) data.displayName = row.displayName;
        if (row.email) data.emails = [{ value: row.email, type: 'work', primary: true }];
        this.writeUser(newId(), data, 'admin', at, true);
        result.users++;
      }
      for (const row of rows.filter((r) => r.type === 'group')) {
        const clash = this.groupByName(row.name);
        if (clash) {
          result.skipped.push({ line: row.line, name: row.name, reason: `a group with this name already exists (${describeSource(clash.source)})` });
          continue;
        }
        const id = newId();
        this.writeGroup(id, { displayName: row.name }, 'admin', at, true);
        const ids: string[] = [];
        for (const member of row.members ?? []) {
          const user = this.userByName(member);
          if (user) ids.push(user.id);
          else result.skipped.push({ line: row.line, name: row.name, reason: `member "${member}" is not a user in the file or the directory` });
        }
        const added = this.addMembers(id, ids, 'sync-existing');
        if (added) this.sql('UPDATE groups SET member_count = ? WHERE id = ?').run(added, id);
        result.groups++;
        result.memberships += added;
      }
      this.db
        .prepare('INSERT INTO audit_log (at, action, detail) VALUES (?, ?, ?)')
        .run(at, 'directory.import', JSON.stringify({ users: result.users, groups: result.groups, memberships: result.memberships, skipped: result.skipped.length }));
      return result;
    });
  }
}

function likePattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

interface UserRow {
  id: string;
  user_name: string;
  user_name_lc: string;
  external_id: string | null;
  active: number;
  source: Source;
  data: string;
  created_at: string;
  updated_at: string;
}

interface WriteBatch {
  done: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
  /** SQLite rolled the transaction back under it: its writers must fail. */
  broken: boolean;
}

interface GroupRow {
  id: string;
  display_name: string;
  display_name_lc: string;
  external_id: string | null;
  source: Source;
  member_count: number;
  data: string;
  created_at: string;
  updated_at: string;
}

const USER_COLUMNS = 'id, user_name, user_name_lc, external_id, active, source, data, created_at, updated_at';
const GROUP_COLUMNS =
  'id, display_name, display_name_lc, external_id, source, member_count, data, created_at, updated_at';

const toUser = (row: UserRow): UserRecord => ({
  id: row.id,
  userName: row.user_name,
  externalId: row.external_id,
  active: row.active === 1,
  source: row.source,
  data: JSON.parse(row.data) as UserData,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

const toGroup = (row: GroupRow): GroupRecord => ({
  id: row.id,
  displayName: row.display_name,
  externalId: row.external_id,
  source: row.source,
  memberCount: row.member_count,
  data: JSON.parse(row.data) as GroupData,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

function requireText(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string' || value.trim() === '') throw new TypeError(`${name} must be a non-empty string`);
}

/** The indexed columns of a user, taken from its SCIM attributes. */
function userColumns(data: UserData) {
  const text = (v: unknown) => (typeof v === 'string' ? v : null);
  const displayName = text(data.displayName);
  let workEmail: string | null = null;
  if (Array.isArray(data.emails)) {
    for (const e of data.emails as unknown[]) {
      if (e && typeof e === 'object' && String((e as Record<string, unknown>).type ?? '').toLowerCase() === 'work') {
        workEmail = text((e as Record<string, unknown>).value);
        break;
      }
    }
  }
  return {
    userName: data.userName,
    userNameLc: data.userName.toLowerCase(),
    externalId: text(data.externalId),
    displayName,
    displayNameLc: displayName?.toLowerCase() ?? null,
    workEmailLc: workEmail?.toLowerCase() ?? null,
    active: data.active === false ? 0 : 1,
  };
}

const describeSource = (source: Source) =>
  source === 'admin' ? 'added by an administrator' : 'provisioned by Microsoft Entra ID';

function userConflict(userName: string, clash: { id: string; source: Source }, mode: ImportMode): ConflictError {
  const message =
    clash.source === 'admin' && mode === 'new-only'
      ? `userName "${userName}" clashes with user ${clash.id}, which an administrator added; ` +
        'the import mode new-only leaves it unmodified (switch to sync-existing to let Entra link it, or rename one of them).'
      : `userName "${userName}" is already taken by user ${clash.id} (${describeSource(clash.source)}).`;
  return new ConflictError(message, clash.id, clash.source);
}

function groupConflict(displayName: string, clash: { id: string; source: Source }, mode: ImportMode): ConflictError {
  const message =
    clash.source === 'admin' && mode === 'new-only'
      ? `displayName "${displayName}" clashes with group ${clash.id}, which an administrator added; ` +
        'the import mode new-only leaves it unmodified (switch to sync-existing to let Entra link it, or rename one of them).'
      : `displayName "${displayName}" is already taken by group ${clash.id} (${describeSource(clash.source)}).`;
  return new ConflictError(message, clash.id, clash.source);
}
