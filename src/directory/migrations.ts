/**
 * Schema migrations, applied in order; `PRAGMA user_version` records how many ran. Append only:
 * never edit a migration that has shipped. Plain SQL that PostgreSQL also accepts where that costs nothing.
 */
export const migrations: string[] = [
  // 1: secret codes (hash only), the audit log, and the directory itself.
  `
  CREATE TABLE secret_codes (
    id            INTEGER PRIMARY KEY,
    hash          TEXT NOT NULL UNIQUE,
    fingerprint   TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    superseded_at TEXT,
    grace_until   TEXT,
    revoked_at    TEXT,
    last_used_at  TEXT
  );
  CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY,
    at     TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT
  );
  -- seq orders pages (insertion order) and keys the table itself, so that a new row is appended
  -- to the table's last page; the SCIM id has its own unique index.
  CREATE TABLE users (
    seq             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    user_name       TEXT NOT NULL,
    user_name_lc    TEXT NOT NULL,
    external_id     TEXT,
    display_name    TEXT,
    display_name_lc TEXT,
    work_email_lc   TEXT,
    active          INTEGER NOT NULL DEFAULT 1,
    source          TEXT NOT NULL,
    data            TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
  );
  CREATE UNIQUE INDEX users_user_name_lc ON users (user_name_lc);
  CREATE INDEX users_external_id ON users (external_id);
  CREATE INDEX users_display_name_lc ON users (display_name_lc);
  CREATE INDEX users_work_email_lc ON users (work_email_lc);
  CREATE TABLE groups (
    seq             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    display_name    TEXT NOT NULL,
    display_name_lc TEXT NOT NULL,
    external_id     TEXT,
    source          TEXT NOT NULL,
    member_count    INTEGER NOT NULL DEFAULT 0,
    data            TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
  );
  CREATE UNIQUE INDEX groups_display_name_lc ON groups (display_name_lc);
  CREATE INDEX groups_external_id ON groups (external_id);
  -- member_id is a user's or a group's id (nested groups); no FK so either may be referenced.
  CREATE TABLE group_members (
    group_id  TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    member_id TEXT NOT NULL,
    PRIMARY KEY (group_id, member_id)
  );
  CREATE INDEX group_members_member ON group_members (member_id);
  `,
];
