import type { RenewOptions, RenewResult, SecretCodeRecord, SecretCodeStore } from '../store.js';
import { type SecretCodeRow, toRecord, CODE_COLUMNS } from '../rows.js';
import type { SqliteCore } from './core.js';

/** Secret Codes (hash only): issue, renew with a grace period, revoke, undo a renewal, look up by hash. */

export class SqliteSecretCodes implements SecretCodeStore {
  constructor(private readonly core: SqliteCore) {
    // A write batch holds the write lock: the version read when it begins stays true until it ends.
    core.onBatchOpen = () => this.readCodeVersion();
  }

  close(): void {
    this.codeCache.clear();
  }

  private get db() {
    return this.core.db;
  }

  private currentSync(): SecretCodeRecord | undefined {
    const row = this.core
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
    return this.core.immediate((): RenewResult => {
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
    return this.core.immediate(() => {
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
    return this.core.immediate(() => {
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
    const version = this.core.sql('PRAGMA data_version').pluck().get();
    if (version !== this.codeCacheVersion) {
      this.codeCache.clear();
      this.codeCacheVersion = version;
    }
  }

  async findSecretCodeByHash(hash: string): Promise<(SecretCodeRecord & { hash: string }) | undefined> {
    // While this connection's write batch is open it holds the database's write lock, and the
    // version was checked when the batch began: no other connection can have committed since. The
    // PRAGMA (a call into SQLite) is then needed only for requests outside a batch.
    if (!this.core.inWriteBatch()) this.checkCodeVersion();
    const cached = this.codeCache.get(hash);
    if (cached) return { ...cached };
    const row = this.core.sql(`SELECT ${CODE_COLUMNS}, hash FROM secret_codes WHERE hash = ?`).get(hash) as
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
    this.core.sql('UPDATE secret_codes SET last_used_at = ? WHERE id = ?').run(at.toISOString(), id);
  }
}
