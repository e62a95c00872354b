import type { AuditEntry, AuditLog } from '../store.js';
import type { PgCore, Queryable } from './core.js';

/** The append-only audit log of administrators' actions. */
export class PgAudit implements AuditLog {
  constructor(private readonly core: PgCore) {}

  async audit(entry: AuditEntry, at: Date): Promise<void> {
    await this.core.tx((c) => appendAudit(c, entry, at.toISOString()));
  }
}

/** Appends one entry inside the caller's transaction. */
export async function appendAudit(c: Queryable, entry: AuditEntry, at: string): Promise<void> {
  await c.query('INSERT INTO audit_log (at, action, detail) VALUES ($1, $2, $3)', [
    at,
    entry.action,
    entry.detail ? JSON.stringify(entry.detail) : null,
  ]);
}
