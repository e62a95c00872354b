import { likePattern, newId, requireText, userColumns, userConflict } from '../shared.js';
import { type UserRow, toUser, USER_COLUMNS } from '../rows.js';
import type {
  CreateResult,
  ImportMode,
  ListQuery,
  Page,
  PageResult,
  Source,
  UserData,
  UserRecord,
  UserSummary,
  WriteOptions,
} from '../store.js';
import type { SqliteCore } from './core.js';
import { removeFromAllGroups } from './groups.js';

/** Users: SCIM reads and writes (through the group commit), and `users list`. */

export function userByName(core: SqliteCore, userName: string, exceptId?: string): { id: string; source: Source } | undefined {
  return core.sql('SELECT id, source FROM users WHERE user_name_lc = ? AND id <> ?').get(
    userName.toLowerCase(),
    exceptId ?? '',
  ) as { id: string; source: Source } | undefined;
}

export function writeUser(core: SqliteCore, id: string, data: UserData, source: Source, at: string, insert: boolean): UserRecord {
  const c = userColumns(data);
  if (insert) {
    core.sql(
      `INSERT INTO users (id, user_name, user_name_lc, external_id, display_name, display_name_lc, work_email_lc,
         active, source, data, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(id, c.userName, c.userNameLc, c.externalId, c.displayName, c.displayNameLc, c.workEmailLc, c.active, source, JSON.stringify(data), at, at);
    return { id, userName: c.userName, externalId: c.externalId, active: c.active === 1, source, data, createdAt: at, updatedAt: at };
  } else {
    core.sql(
      `UPDATE users SET user_name = ?, user_name_lc = ?, external_id = ?, display_name = ?, display_name_lc = ?,
         work_email_lc = ?, active = ?, source = ?, data = ?, updated_at = ? WHERE id = ?`,
    ).run(c.userName, c.userNameLc, c.externalId, c.displayName, c.displayNameLc, c.workEmailLc, c.active, source, JSON.stringify(data), at, id);
  }
  return toUser(core.sql(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?`).get(id) as UserRow);
}

export class SqliteUsers {
  constructor(private readonly core: SqliteCore) {}

  async *listUsers(options: { filter?: string } = {}): AsyncIterable<UserSummary> {
    const where = options.filter ? `WHERE user_name_lc LIKE ? ESCAPE '\\'` : '';
    const args = options.filter ? [likePattern(options.filter)] : [];
    const stmt = this.core.db.prepare(
      `SELECT id, user_name, display_name, external_id, active, source, updated_at FROM users ${where}
       ORDER BY user_name_lc, id`,
    );
    for (const row of stmt.iterate(...args) as IterableIterator<{
      id: string;
      user_name: string;
      display_name: string | null;
      external_id: string | null;
      active: number;
      source: string;
      updated_at: string;
    }>) {
      yield {
        id: row.id,
        userName: row.user_name,
        displayName: row.display_name,
        externalId: row.external_id,
        active: row.active === 1,
        updatedBy: row.source === 'entra' ? 'Microsoft Entra ID' : 'Administrator',
        updatedAt: row.updated_at,
      };
    }
  }

  async getUser(id: string, mode: ImportMode): Promise<UserRecord | undefined> {
    await this.core.settled();
    const row = this.core.sql(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?${this.core.visible(mode)}`).get(id) as
      | UserRow
      | undefined;
    return row && toUser(row);
  }

  async queryUsers(query: ListQuery, page: Page, mode: ImportMode): Promise<PageResult<UserRecord>> {
    await this.core.settled();
    return this.core.page<UserRow, UserRecord>('users', USER_COLUMNS, query, mode, page, toUser);
  }

  async createUser(data: UserData, options: WriteOptions): Promise<CreateResult<UserRecord>> {
    requireText(data.userName, 'userName');
    const at = options.now.toISOString();
    const core = this.core;
    return core.write(() => {
      const clash = userByName(core, data.userName);
      if (clash) {
        if (clash.source === 'admin' && options.mode === 'sync-existing') {
          return { record: writeUser(core, clash.id, data, 'entra', at, false), linked: true };
        }
        throw userConflict(data.userName, clash, options.mode);
      }
      return { record: writeUser(core, newId(), data, 'entra', at, true), linked: false };
    }, true);
  }

  async updateUser(
    id: string,
    change: (current: UserData) => UserData,
    options: WriteOptions,
  ): Promise<UserRecord | undefined> {
    const at = options.now.toISOString();
    const core = this.core;
    return core.write(() => {
      const row = core.sql(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?${core.visible(options.mode)}`).get(id) as
        | UserRow
        | undefined;
      if (!row) return undefined;
      const next = change(JSON.parse(row.data) as UserData);
      requireText(next.userName, 'userName');
      if (next.userName.toLowerCase() !== row.user_name_lc) {
        const clash = userByName(core, next.userName, id);
        if (clash) throw userConflict(next.userName, clash, options.mode);
      }
      return writeUser(core, id, next, 'entra', at, false);
    }, true);
  }

  async deleteUser(id: string, mode: ImportMode): Promise<boolean> {
    const core = this.core;
    return core.write(() => {
      const { changes } = core.sql(`DELETE FROM users WHERE id = ?${core.visible(mode)}`).run(id);
      if (changes === 0) return false;
      removeFromAllGroups(core, id);
      return true;
    });
  }
}
