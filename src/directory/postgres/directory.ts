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
import { PgAudit } from './audit.js';
import { PgSecretCodes } from './codes.js';
import { PgCore } from './core.js';

export { redactDatabaseUrl } from './core.js';
import { PgGroups } from './groups.js';
import { importAdminObjects } from './import.js';
import { PgUsers } from './users.js';

/**
 * Opens the PostgreSQL directory at `url`, creating or migrating its schema on first use (under an
 * advisory lock, so replicas starting together are safe). Connection failures are one-line
 * OperationErrors naming the host; the password is never part of a message.
 */
export async function openPostgresDirectory(url: string, options: { max?: number } = {}): Promise<PostgresDirectory> {
  const core = new PgCore(url, options);
  try {
    await core.migrate();
  } catch (error) {
    await core.close().catch(() => {});
    throw error;
  }
  return new PostgresDirectory(core);
}

/**
 * The PostgreSQL directory store: one pool (./core.ts) shared by one part per concern — Secret
 * Codes (./codes.ts), the audit log (./audit.ts), users (./users.ts), groups and members
 * (./groups.ts), the administrator's import (./import.ts). Every write is its own transaction and
 * is answered after its COMMIT; several `dirsync serve` replicas can share one database.
 */
export class PostgresDirectory implements DirectoryStore {
  readonly backend = 'postgres' as const;
  private readonly codes: PgSecretCodes;
  private readonly auditLog: PgAudit;
  private readonly users: PgUsers;
  private readonly groups: PgGroups;
  private closing: Promise<void> | undefined;

  constructor(readonly core: PgCore) {
    this.codes = new PgSecretCodes(core);
    this.auditLog = new PgAudit(core);
    this.users = new PgUsers(core);
    this.groups = new PgGroups(core);
  }

  /** The database URL without its password. */
  get path(): string {
    return this.core.location;
  }

  schemaVersion(): Promise<number> {
    return this.core.schemaVersion();
  }

  /** Whether the database answers now (for /healthz). */
  async health(): Promise<{ ok: true } | { ok: false; error: string }> {
    try {
      await this.core.query('SELECT 1');
      return { ok: true };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  }

  /** Ends the pool; `closed()` resolves when its connections are gone. */
  close(): void {
    this.codes.close();
    this.closing ??= this.core.close().catch(() => {});
  }

  closed(): Promise<void> {
    this.close();
    return this.closing!;
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
    const [row] = await this.core.query<{ users: string; active: string; groups: string }>(
      `SELECT (SELECT COUNT(*) FROM users) AS users, (SELECT COALESCE(SUM(active), 0) FROM users) AS active,
              (SELECT COUNT(*) FROM groups) AS groups`,
    );
    return { users: Number(row!.users), activeUsers: Number(row!.active), groups: Number(row!.groups) };
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
  importAdminObjects(rows: AdminImportRow[], now: Date): Promise<AdminImportResult> {
    return importAdminObjects(this.core, rows, now);
  }
}
