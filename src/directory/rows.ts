import type { GroupData, GroupRecord, SecretCodeRecord, Source, UserData, UserRecord } from './store.js';

/**
 * The rows of the directory's tables as both backends read them (SQLite and PostgreSQL store the
 * same columns and types), and how a row becomes a record of the store interface.
 */

export interface SecretCodeRow {
  id: number;
  fingerprint: string;
  created_at: string;
  expires_at: string;
  superseded_at: string | null;
  grace_until: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

export const toRecord = (row: SecretCodeRow): SecretCodeRecord => ({
  id: row.id,
  fingerprint: row.fingerprint,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  supersededAt: row.superseded_at,
  graceUntil: row.grace_until,
  revokedAt: row.revoked_at,
  lastUsedAt: row.last_used_at,
});

export const CODE_COLUMNS =
  'id, fingerprint, created_at, expires_at, superseded_at, grace_until, revoked_at, last_used_at';

export interface UserRow {
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

export const USER_COLUMNS = 'id, user_name, user_name_lc, external_id, active, source, data, created_at, updated_at';

export const toUser = (row: UserRow): UserRecord => ({
  id: row.id,
  userName: row.user_name,
  externalId: row.external_id,
  active: row.active === 1,
  source: row.source,
  data: JSON.parse(row.data) as UserData,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export interface GroupRow {
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

export const GROUP_COLUMNS =
  'id, display_name, display_name_lc, external_id, source, member_count, data, created_at, updated_at';

export const toGroup = (row: GroupRow): GroupRecord => ({
  id: row.id,
  displayName: row.display_name,
  externalId: row.external_id,
  source: row.source,
  memberCount: row.member_count,
  data: JSON.parse(row.data) as GroupData,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});
