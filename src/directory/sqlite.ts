import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { StateError } from '../errors.js';
import { migrations } from './migrations.js';
import type {
  AuditEntry,
  DirectoryCounts,
  DirectoryStore,
  GroupSummary,
  RenewOptions,
  RenewResult,
  SecretCodeRecord,
  UserSummary,
} from './store.js';

type Db = Database.Database;

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
    db = new Database(file);
    db.pragma('busy_timeout = 10000');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db, file);
  } catch (error) {
    if (error instanceof StateError) throw error;
    throw unreadable(file, error);
  }
  return new SqliteDirectory(db, file);
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

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Runs `fn` in a write transaction taken up front, so racing writers queue instead of failing. */
  immediate<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  // --- Secret codes ---------------------------------------------------------------------------

  private currentSync(): SecretCodeRecord | undefined {
    const row = this.db
      .prepare(
        `SELECT ${CODE_COLUMNS} FROM secret_codes
         WHERE superseded_at IS NULL AND revoked_at IS NULL ORDER BY id DESC LIMIT 1`,
      )
      .get() as SecretCodeRow | undefined;
    return row && toRecord(row);
  }

  async currentSecretCode(): Promise<SecretCodeRecord | undefined> {
    return this.currentSync();
  }

  async renewSecretCode(options: RenewOptions): Promise<RenewResult> {
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
        this.db.prepare('UPDATE secret_codes SET revoked_at = ? WHERE revoked_at IS NULL').run(now);
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
      return { renewed: true, code: toRecord(row), replaced: replaced.filter((r) => r.supersededAt === null) };
    });
  }

  async revokeSecretCodes(now: Date): Promise<number> {
    const at = now.toISOString();
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

  async findSecretCodeByHash(hash: string): Promise<(SecretCodeRecord & { hash: string }) | undefined> {
    const row = this.db.prepare(`SELECT ${CODE_COLUMNS}, hash FROM secret_codes WHERE hash = ?`).get(hash) as
      | (SecretCodeRow & { hash: string })
      | undefined;
    return row && { ...toRecord(row), hash: row.hash };
  }

  async markSecretCodeUsed(id: number, at: Date): Promise<void> {
    this.db.prepare('UPDATE secret_codes SET last_used_at = ? WHERE id = ?').run(at.toISOString(), id);
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
}

function likePattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
