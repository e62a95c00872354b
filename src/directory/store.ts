/**
 * The directory store interface. The embedded implementation is SQLite (./sqlite.ts); the
 * interface is async so that a PostgreSQL implementation can serve several `dirsync serve`
 * replicas later without changing its callers.
 */

export interface SecretCodeRecord {
  id: number;
  /** Safe to show: identifies the code without revealing it (see src/secrets/code.ts). */
  fingerprint: string;
  createdAt: string; // ISO-8601 UTC
  expiresAt: string;
  /** When a renewal replaced it (it then stays valid until graceUntil). */
  supersededAt: string | null;
  graceUntil: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

export interface NewSecretCode {
  hash: string;
  fingerprint: string;
  createdAt: Date;
  expiresAt: Date;
}

export interface RenewOptions {
  now: Date;
  /** How long the replaced code stays valid; 0 revokes every other code at once. */
  graceMs: number;
  /**
   * Decides, inside the same transaction, whether to renew given the current code. Two renewals
   * racing each other therefore see each other's result.
   */
  shouldRenew?: (current: SecretCodeRecord | undefined) => boolean;
  /** Makes the new code; called only when renewing. */
  generate: () => NewSecretCode;
}

export type RenewResult =
  | { renewed: true; code: SecretCodeRecord; replaced: SecretCodeRecord[] }
  | { renewed: false; code: SecretCodeRecord | undefined };

export interface SecretCodeStore {
  /** The newest code that no renewal or revocation has replaced. */
  currentSecretCode(): Promise<SecretCodeRecord | undefined>;
  renewSecretCode(options: RenewOptions): Promise<RenewResult>;
  /** Revokes every code; returns how many were still valid. */
  revokeSecretCodes(now: Date): Promise<number>;
  findSecretCodeByHash(hash: string): Promise<(SecretCodeRecord & { hash: string }) | undefined>;
  markSecretCodeUsed(id: number, at: Date): Promise<void>;
}

export interface AuditEntry {
  action: string;
  /** Free-form facts; never a secret. */
  detail?: Record<string, unknown>;
}

export interface AuditLog {
  audit(entry: AuditEntry, at: Date): Promise<void>;
}

export type UpdatedBy = 'Microsoft Entra ID' | 'Administrator';

export interface GroupSummary {
  /** The local resource id (the SCIM `id`). */
  id: string;
  name: string;
  /** The Entra object ID (arrives as SCIM `externalId`); null for groups an administrator added. */
  externalId: string | null;
  updatedBy: UpdatedBy;
  members: number;
  updatedAt: string;
}

export interface UserSummary {
  id: string;
  userName: string;
  displayName: string | null;
  externalId: string | null;
  active: boolean;
  updatedBy: UpdatedBy;
  updatedAt: string;
}

export interface DirectoryCounts {
  users: number;
  activeUsers: number;
  groups: number;
}

export interface DirectoryReader {
  counts(): Promise<DirectoryCounts>;
  /** Streams groups ordered by name; never loads the whole table. */
  listGroups(options?: { filter?: string }): AsyncIterable<GroupSummary>;
  listUsers(options?: { filter?: string }): AsyncIterable<UserSummary>;
}

export interface DirectoryStore extends SecretCodeStore, AuditLog, DirectoryReader {
  readonly path: string;
  close(): void;
}
