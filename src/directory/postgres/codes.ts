import type { RenewOptions, RenewResult, SecretCodeRecord, SecretCodeStore } from '../store.js';
import { type SecretCodeRow, toRecord, CODE_COLUMNS } from '../rows.js';
import type { PgCore, Queryable } from './core.js';

/** Secret Codes (hash only) in PostgreSQL: issue, renew with a grace period, revoke, undo, look up by hash. */

/**
 * How long a looked-up code row is reused. Another replica's renewal or revocation reaches this
 * one within this time (plus a request): every replica honours a change within about a second.
 */
export const CODE_CACHE_MS = 1000;

export class PgSecretCodes implements SecretCodeStore {
  constructor(private readonly core: PgCore) {}

  private readonly cache = new Map<string, { record: SecretCodeRecord & { hash: string }; until: number }>();

  close(): void {
    this.cache.clear();
  }

  private async current(c: Queryable): Promise<SecretCodeRecord | undefined> {
    const { rows } = await c.query(
      `SELECT ${CODE_COLUMNS} FROM secret_codes WHERE superseded_at IS NULL ORDER BY id DESC LIMIT 1`,
    );
    const row = rows[0] as SecretCodeRow | undefined;
    return row && toRecord(row);
  }

  async currentSecretCode(): Promise<SecretCodeRecord | undefined> {
    const rows = await this.core.query<SecretCodeRow>(
      `SELECT ${CODE_COLUMNS} FROM secret_codes WHERE superseded_at IS NULL ORDER BY id DESC LIMIT 1`,
    );
    return rows[0] && toRecord(rows[0]);
  }

  /** Code changes run one at a time across every replica and command: they lock the table first. */
  private exclusive<T>(fn: (c: Queryable) => Promise<T>): Promise<T> {
    this.cache.clear();
    return this.core.tx(async (c) => {
      await c.query('LOCK TABLE secret_codes IN SHARE ROW EXCLUSIVE MODE');
      return fn(c);
    }).finally(() => this.cache.clear());
  }

  async renewSecretCode(options: RenewOptions): Promise<RenewResult> {
    return this.exclusive(async (c): Promise<RenewResult> => {
      const current = await this.current(c);
      if (options.shouldRenew && !options.shouldRenew(current)) return { renewed: false, code: current };
      const now = options.now.toISOString();
      const replaced = ((await c.query(`SELECT ${CODE_COLUMNS} FROM secret_codes WHERE revoked_at IS NULL ORDER BY id`)).rows as SecretCodeRow[]).map(toRecord);
      if (options.graceMs === 0) {
        await c.query(
          'UPDATE secret_codes SET revoked_at = $1, superseded_at = COALESCE(superseded_at, $1) WHERE revoked_at IS NULL',
          [now],
        );
      } else {
        const graceUntil = new Date(options.now.getTime() + options.graceMs).toISOString();
        await c.query(
          'UPDATE secret_codes SET superseded_at = $1, grace_until = $2 WHERE superseded_at IS NULL AND revoked_at IS NULL',
          [now, graceUntil],
        );
      }
      const fresh = options.generate();
      const { rows } = await c.query(
        `INSERT INTO secret_codes (hash, fingerprint, created_at, expires_at) VALUES ($1, $2, $3, $4) RETURNING ${CODE_COLUMNS}`,
        [fresh.hash, fresh.fingerprint, fresh.createdAt.toISOString(), fresh.expiresAt.toISOString()],
      );
      return { renewed: true, code: toRecord(rows[0] as SecretCodeRow), replaced: replaced.filter((r) => r.supersededAt === null), before: replaced };
    });
  }

  async undoRenewal(renewal: { code: SecretCodeRecord; before: SecretCodeRecord[] }, now: Date): Promise<void> {
    const at = now.toISOString();
    await this.exclusive(async (c) => {
      await c.query(
        'UPDATE secret_codes SET revoked_at = COALESCE(revoked_at, $1), superseded_at = COALESCE(superseded_at, $1) WHERE id = $2',
        [at, renewal.code.id],
      );
      for (const r of renewal.before) {
        await c.query('UPDATE secret_codes SET superseded_at = $1, grace_until = $2, revoked_at = $3 WHERE id = $4', [
          r.supersededAt,
          r.graceUntil,
          r.revokedAt,
          r.id,
        ]);
      }
    });
  }

  async revokeSecretCodes(now: Date): Promise<number> {
    const at = now.toISOString();
    return this.exclusive(async (c) => {
      const { rows } = await c.query(
        `SELECT COUNT(*) AS n FROM secret_codes
         WHERE revoked_at IS NULL AND expires_at > $1 AND (grace_until IS NULL OR grace_until > $1)`,
        [at],
      );
      await c.query('UPDATE secret_codes SET revoked_at = $1 WHERE revoked_at IS NULL', [at]);
      return Number((rows[0] as { n: string }).n);
    });
  }

  // Every SCIM request looks its bearer code up; the row found is reused for CODE_CACHE_MS, and
  // this process's own code writes drop it at once.
  async findSecretCodeByHash(hash: string): Promise<(SecretCodeRecord & { hash: string }) | undefined> {
    const now = Date.now();
    const cached = this.cache.get(hash);
    if (cached && cached.until > now) return { ...cached.record };
    const rows = await this.core.query<SecretCodeRow & { hash: string }>(
      `SELECT ${CODE_COLUMNS}, hash FROM secret_codes WHERE hash = $1`,
      [hash],
    );
    const row = rows[0];
    if (!row) return undefined;
    const record = { ...toRecord(row), hash: row.hash };
    if (this.cache.size >= 16) this.cache.clear();
    this.cache.set(hash, { record, until: now + CODE_CACHE_MS });
    return { ...record };
  }

  async markSecretCodeUsed(id: number, at: Date): Promise<void> {
    this.cache.clear();
    await this.core.query('UPDATE secret_codes SET last_used_at = $1 WHERE id = $2', [at.toISOString(), id]);
  }
}
