import type {
  AdminImportResult,
  AdminImportRow,
  AuditEntry,
  CreateResult,
  DirectoryCounts,
  DirectoryStore,
  GroupChange,
  GroupData,
  GroupMember,
  GroupRecord,
  GroupSummary,
  GroupWriteResult,
  ImportMode,
  ListQuery,
  Page,
  PageResult,
  RenewOptions,
  RenewResult,
  SecretCodeRecord,
  UserData,
  UserRecord,
  UserSummary,
  WriteOptions,
} from '../store.js';
import { SqliteAudit } from './audit.js';
import { SqliteSecretCodes } from './codes.js';
import { nativeBinding, openSqliteDb, SqliteCore, type Db } from './core.js';

export { sqliteSchemaVersion } from './core.js';
import { SqliteGroups } from './groups.js';
import { importAdminObjects } from './import.js';
import { SqliteUsers } from './users.js';

/**
 * Opens (creating on first use) the SQLite directory at `file`: WAL, foreign keys, a busy timeout
 * so that concurrent dirsync processes wait for each other instead of failing, and migrations.
 */
export function openSqliteDirectory(file: string): SqliteDirectory {
  return new SqliteDirectory(openSqliteDb(file), file);
}

/**
 * The SQLite directory store: one connection (./core.ts) shared by one part per concern —
 * Secret Codes (./codes.ts), the audit log (./audit.ts), users (./users.ts), groups and members
 * (./groups.ts), the administrator's import (./import.ts).
 */
export class SqliteDirectory implements DirectoryStore {
  readonly backend = 'sqlite' as const;
  private readonly core: SqliteCore;
  private readonly codes: SqliteSecretCodes;
  private readonly auditLog: SqliteAudit;
  private readonly users: SqliteUsers;
  private readonly groups: SqliteGroups;

  constructor(db: Db, readonly path: string) {
    this.core = new SqliteCore(db, path);
    this.codes = new SqliteSecretCodes(this.core);
    this.auditLog = new SqliteAudit(this.core);
    this.users = new SqliteUsers(this.core);
    this.groups = new SqliteGroups(this.core);
  }

  get db(): Db {
    return this.core.db;
  }

  async schemaVersion(): Promise<number> {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  /** Whether the database answers now (for /healthz). */
  async health(): Promise<{ ok: true } | { ok: false; error: string }> {
    try {
      this.core.sql('SELECT 1').get();
      return { ok: true };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  }

  close(): void {
    this.core.close();
    this.codes.close();
  }

  /** Runs `fn` in a write transaction taken up front, so racing writers queue instead of failing. */
  immediate<T>(fn: () => T): T {
    return this.core.immediate(fn);
  }

  /**
   * For `dirsync serve`: WAL checkpoints from now on run in a worker thread with its own connection,
   * not inside this connection's COMMITs (see ./checkpoint.ts). Stop it before close().
   */
  async checkpointInBackground(options: { intervalMs?: number; onError?: (message: string) => void } = {}) {
    const { startBackgroundCheckpoints } = await import('./checkpoint.js');
    return startBackgroundCheckpoints(this.db, this.path, { ...options, binding: nativeBinding() });
  }

  // --- Secret Codes (./codes.ts) -------------------------------------------------------------------
  currentSecretCode(): Promise<SecretCodeRecord | undefined> {
    return this.codes.currentSecretCode();
  }
  renewSecretCode(options: RenewOptions): Promise<RenewResult> {
    return this.codes.renewSecretCode(options);
  }
  revokeSecretCodes(now: Date): Promise<number> {
    return this.codes.revokeSecretCodes(now);
  }
  undoRenewal(renewal: { code: SecretCodeRecord; before: SecretCodeRecord[] }, now: Date): Promise<void> {
    return this.codes.undoRenewal(renewal, now);
  }
  findSecretCodeByHash(hash: string): Promise<(SecretCodeRecord & { hash: string }) | undefined> {
    return this.codes.findSecretCodeByHash(hash);
  }
  markSecretCodeUsed(id: number, at: Date): Promise<void> {
    return this.codes.markSecretCodeUsed(id, at);
  }

  // --- Audit (./audit.ts) -----------------------------------------------------------------------
  audit(entry: AuditEntry, at: Date): Promise<void> {
    return this.auditLog.audit(entry, at);
  }

  // --- Reading (`status`, `users list`, `groups list`) --------------------------------------------
  async counts(): Promise<DirectoryCounts> {
    const users = this.db
      .prepare('SELECT COUNT(*) AS n, COALESCE(SUM(active), 0) AS active FROM users')
      .get() as { n: number; active: number };
    const groups = this.db.prepare('SELECT COUNT(*) AS n FROM groups').get() as { n: number };
    return { users: users.n, activeUsers: users.active, groups: groups.n };
  }
  listGroups(options?: { filter?: string }): AsyncIterable<GroupSummary> {
    return this.groups.listGroups(options);
  }
  listUsers(options?: { filter?: string }): AsyncIterable<UserSummary> {
    return this.users.listUsers(options);
  }

  // --- Users (./users.ts) ------------------------------------------------------------------------
  getUser(id: string, mode: ImportMode): Promise<UserRecord | undefined> {
    return this.users.getUser(id, mode);
  }
  queryUsers(query: ListQuery, page: Page, mode: ImportMode): Promise<PageResult<UserRecord>> {
    return this.users.queryUsers(query, page, mode);
  }
  createUser(data: UserData, options: WriteOptions): Promise<CreateResult<UserRecord>> {
    return this.users.createUser(data, options);
  }
  updateUser(id: string, change: (current: UserData) => UserData, options: WriteOptions): Promise<UserRecord | undefined> {
    return this.users.updateUser(id, change, options);
  }
  deleteUser(id: string, mode: ImportMode): Promise<boolean> {
    return this.users.deleteUser(id, mode);
  }

  // --- Groups (./groups.ts) ------------------------------------------------------------------------
  getGroup(id: string, mode: ImportMode): Promise<GroupRecord | undefined> {
    return this.groups.getGroup(id, mode);
  }
  groupMembers(id: string): Promise<GroupMember[]> {
    return this.groups.groupMembers(id);
  }
  queryGroups(query: ListQuery, page: Page, mode: ImportMode): Promise<PageResult<GroupRecord>> {
    return this.groups.queryGroups(query, page, mode);
  }
  createGroup(data: GroupData, members: string[], options: WriteOptions): Promise<CreateResult<GroupWriteResult>> {
    return this.groups.createGroup(data, members, options);
  }
  updateGroup(id: string, change: GroupChange, options: WriteOptions): Promise<GroupWriteResult | undefined> {
    return this.groups.updateGroup(id, change, options);
  }
  deleteGroup(id: string, mode: ImportMode): Promise<boolean> {
    return this.groups.deleteGroup(id, mode);
  }

  // --- The administrator's import (./import.ts) ------------------------------------------------------
  async importAdminObjects(rows: AdminImportRow[], now: Date): Promise<AdminImportResult> {
    return importAdminObjects(this.core, rows, now);
  }
}
