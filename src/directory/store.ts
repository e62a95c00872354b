/**
 * The directory store interface. The embedded implementation is SQLite (./sqlite/, one file per concern); the
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
  | {
      renewed: true;
      code: SecretCodeRecord;
      replaced: SecretCodeRecord[];
      /** Every code that was not revoked, as it was before the renewal: what `undoRenewal` restores. */
      before: SecretCodeRecord[];
    }
  | { renewed: false; code: SecretCodeRecord | undefined };

export interface SecretCodeStore {
  /** The newest code that no renewal or revocation has replaced. */
  currentSecretCode(): Promise<SecretCodeRecord | undefined>;
  renewSecretCode(options: RenewOptions): Promise<RenewResult>;
  /** Revokes every code; returns how many were still valid. */
  revokeSecretCodes(now: Date): Promise<number>;
  /**
   * Takes a renewal back (a rotation that could not reach Entra): the new code is revoked, and the
   * codes it replaced are as they were before it — the old code current again, with no grace end.
   */
  undoRenewal(renewal: { code: SecretCodeRecord; before: SecretCodeRecord[] }, now: Date): Promise<void>;
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

// --- The write side (SCIM provisioning and the administrator's CSV import) -------------------

/**
 * Whether objects an administrator added (source 'admin') take part in provisioning:
 * `new-only` hides them from SCIM and never modifies them; `sync-existing` lets Entra find and link them.
 */
export type ImportMode = 'new-only' | 'sync-existing';
export type Source = 'entra' | 'admin';

/** A SCIM User's attributes as Entra sent them (without id, meta, schemas); `userName` is required. */
export type UserData = Record<string, unknown> & { userName: string };
/** A SCIM Group's attributes (without id, meta, schemas and members). */
export type GroupData = Record<string, unknown> & { displayName: string };

export interface UserRecord {
  id: string;
  userName: string;
  externalId: string | null;
  active: boolean;
  source: Source;
  data: UserData;
  createdAt: string;
  updatedAt: string;
}

export interface GroupRecord {
  id: string;
  displayName: string;
  externalId: string | null;
  source: Source;
  memberCount: number;
  data: GroupData;
  createdAt: string;
  updatedAt: string;
}

/** A group as written by createGroup / updateGroup. */
export interface GroupWriteResult extends GroupRecord {
  /**
   * Member ids of the request that name no user or group this import mode lets Entra see: they
   * were ignored (Entra may name a user it never provisioned here, or one deleted since).
   */
  unknownMembers: string[];
}

export interface GroupMember {
  value: string;
  type: 'User' | 'Group';
  display: string | null;
}

// --- Filters (RFC 7644 §3.4.2.2), resolved against the schema, independent of any database ----------

export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';
export type FilterValue = string | number | boolean | null;

/** An attribute a filter names, with what the schema says about it. */
export interface FilterAttribute {
  /**
   * Canonical names from the resource's root, e.g. ['userName'], ['name', 'familyName'],
   * ['meta', 'lastModified'], [ENTERPRISE_USER, 'department'], ['emails'] — or, inside an `any`,
   * from the element: ['type'], ['value'].
   */
  path: string[];
  type: 'string' | 'boolean' | 'dateTime' | 'complex';
  /** Strings compare exactly when true, case-insensitively when false. */
  caseExact: boolean;
  /** A multi-valued attribute (emails, members): compared through `any`, tested by `pr`. */
  multiValued?: boolean;
}

export type Filter =
  | { op: 'and' | 'or'; left: Filter; right: Filter }
  | { op: 'not'; filter: Filter }
  | { op: 'pr'; attr: FilterAttribute }
  | { op: CompareOp; attr: FilterAttribute; value: FilterValue }
  /** Some element of the multi-valued `attr` matches `filter` (whose attributes are the element's sub-attributes). */
  | { op: 'any'; attr: FilterAttribute; filter: Filter };

export interface SortSpec {
  attr: FilterAttribute;
  descending: boolean;
}

/** What a list GET asks for: which resources (all without a filter) and in which order (creation order without sortBy). */
export interface ListQuery {
  filter?: Filter;
  sort?: SortSpec;
}

export interface Page {
  /** 1-based, as in SCIM. */
  startIndex: number;
  count: number;
}

export interface PageResult<T> {
  total: number;
  items: T[];
}

export interface WriteOptions {
  mode: ImportMode;
  now: Date;
}

/** A change to a group's non-member attributes and its members, applied in one transaction. */
export interface GroupChange {
  displayName?: string;
  externalId?: string | null;
  /** Replaces the whole member list (then `add`/`remove` apply on top). */
  replaceMembers?: string[];
  addMembers?: string[];
  removeMembers?: string[];
}

export interface CreateResult<T> {
  record: T;
  /** True when an administrator's object was linked instead of a new one created (sync-existing). */
  linked: boolean;
}

export interface AdminImportRow {
  /** 1-based line of the CSV file, for messages. */
  line: number;
  type: 'user' | 'group';
  name: string;
  displayName?: string;
  email?: string;
  active?: boolean;
  /** userNames (of users in the file or the directory) for a group. */
  members?: string[];
}

export interface AdminImportResult {
  users: number;
  groups: number;
  memberships: number;
  skipped: { line: number; name: string; reason: string }[];
}

export interface DirectoryWriter {
  getUser(id: string, mode: ImportMode): Promise<UserRecord | undefined>;
  queryUsers(query: ListQuery, page: Page, mode: ImportMode): Promise<PageResult<UserRecord>>;
  /** Throws ConflictError on a userName clash (or links an admin's user in sync-existing). */
  createUser(data: UserData, options: WriteOptions): Promise<CreateResult<UserRecord>>;
  /**
   * Reads the user, lets `change` compute its new attributes and writes them, in one transaction.
   * Undefined when there is no such (visible) user. Links an admin's user (source becomes 'entra').
   */
  updateUser(id: string, change: (current: UserData) => UserData, options: WriteOptions): Promise<UserRecord | undefined>;
  deleteUser(id: string, mode: ImportMode): Promise<boolean>;

  getGroup(id: string, mode: ImportMode): Promise<GroupRecord | undefined>;
  groupMembers(id: string): Promise<GroupMember[]>;
  queryGroups(query: ListQuery, page: Page, mode: ImportMode): Promise<PageResult<GroupRecord>>;
  createGroup(data: GroupData, members: string[], options: WriteOptions): Promise<CreateResult<GroupWriteResult>>;
  /** Cost is proportional to the change, not to the group's size (except replaceMembers). */
  updateGroup(id: string, change: GroupChange, options: WriteOptions): Promise<GroupWriteResult | undefined>;
  deleteGroup(id: string, mode: ImportMode): Promise<boolean>;

  /** Adds an administrator's users and groups (source 'admin') in one transaction. */
  importAdminObjects(rows: AdminImportRow[], now: Date): Promise<AdminImportResult>;
}

/** A userName / group displayName that is already taken. SCIM answers 409 `uniqueness`. */
export class ConflictError extends Error {
  constructor(
    message: string,
    readonly existingId: string,
    readonly existingSource: Source,
  ) {
    super(message);
    this.name = 'ConflictError';
  }
}

export interface DirectoryStore extends SecretCodeStore, AuditLog, DirectoryReader, DirectoryWriter {
  /** Where it lives: the SQLite file, or the PostgreSQL URL without its password. */
  readonly path: string;
  /** Whether the database answers now (`/healthz`). */
  health?(): Promise<{ ok: true } | { ok: false; error: string }>;
  close(): void;
}
