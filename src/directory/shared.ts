import { ConflictError, type ImportMode, type Source, type UserData } from './store.js';

/**
 * What every backend of the directory store does the same way: ids of new resources, the indexed
 * columns taken from a user's attributes, and the messages of a uniqueness clash.
 */

// The global crypto.randomUUID loads node:crypto only when a resource is created.
const randomUUID = () => globalThis.crypto.randomUUID();

/**
 * The id of a new user or group: a UUID whose first 48 bits are the time in milliseconds (the
 * UUIDv7 layout, RFC 9562) and the rest random. Ids made one after another sort together, so the
 * id index grows at its end instead of dirtying a random page of a 100k-user index per insert.
 */
export function newId(): string {
  const random = randomUUID();
  const time = Date.now().toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${random.slice(15)}`;
}

/** A LIKE pattern (ESCAPE '\') matching names that contain `text`, case-insensitively. */
export function likePattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export function requireText(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string' || value.trim() === '') throw new TypeError(`${name} must be a non-empty string`);
}

/** The indexed columns of a user, taken from its SCIM attributes. */
export function userColumns(data: UserData) {
  const text = (v: unknown) => (typeof v === 'string' ? v : null);
  const displayName = text(data.displayName);
  let workEmail: string | null = null;
  if (Array.isArray(data.emails)) {
    for (const e of data.emails as unknown[]) {
      if (e && typeof e === 'object' && String((e as Record<string, unknown>).type ?? '').toLowerCase() === 'work') {
        workEmail = text((e as Record<string, unknown>).value);
        break;
      }
    }
  }
  return {
    userName: data.userName,
    userNameLc: data.userName.toLowerCase(),
    externalId: text(data.externalId),
    displayName,
    displayNameLc: displayName?.toLowerCase() ?? null,
    workEmailLc: workEmail?.toLowerCase() ?? null,
    active: data.active === false ? 0 : 1,
  };
}

export const describeSource = (source: Source) =>
  source === 'admin' ? 'added by an administrator' : 'provisioned by Microsoft Entra ID';

export function userConflict(userName: string, clash: { id: string; source: Source }, mode: ImportMode): ConflictError {
  const message =
    clash.source === 'admin' && mode === 'new-only'
      ? `userName "${userName}" clashes with user ${clash.id}, which an administrator added; ` +
        'the import mode new-only leaves it unmodified (switch to sync-existing to let Entra link it, or rename one of them).'
      : `userName "${userName}" is already taken by user ${clash.id} (${describeSource(clash.source)}).`;
  return new ConflictError(message, clash.id, clash.source);
}

export function groupConflict(displayName: string, clash: { id: string; source: Source }, mode: ImportMode): ConflictError {
  const message =
    clash.source === 'admin' && mode === 'new-only'
      ? `displayName "${displayName}" clashes with group ${clash.id}, which an administrator added; ` +
        'the import mode new-only leaves it unmodified (switch to sync-existing to let Entra link it, or rename one of them).'
      : `displayName "${displayName}" is already taken by group ${clash.id} (${describeSource(clash.source)}).`;
  return new ConflictError(message, clash.id, clash.source);
}
