import type { AuditEntry, AuditLog } from '../store.js';
import type { SqliteCore } from './core.js';

/** The append-only audit log of administrators' actions. */
export class SqliteAudit implements AuditLog {
  constructor(private readonly core: SqliteCore) {}

  async audit(entry: AuditEntry, at: Date): Promise<void> {
    appendAudit(this.core, entry, at.toISOString());
  }
}

/** Appends one entry (inside the caller's transaction, if any). */
export function appendAudit(core: SqliteCore, entry: AuditEntry, at: string): void {
  core.db
    .prepare('INSERT INTO audit_log (at, action, detail) VALUES (?, ?, ?)')
    .run(at, entry.action, entry.detail ? JSON.stringify(entry.detail) : null);
}
