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
import type { PgCore, Queryable } from './core.js';
import { keysetPages } from './stream.js';
import { removeFromAllGroups } from './groups.js';

/** Users in PostgreSQL: SCIM reads and writes (each write answered after its COMMIT), and `users list`. */

export async function userByName(c: Queryable, userName: string, exceptId?: string): Promise<{ id: string; source: Source } | undefined> {
  const { rows } = await c.query('SELECT id, source FROM users WHERE user_name_lc = $1 AND id <> $2', [userName.toLowerCase(), exceptId ?? '']);
  return rows[0] as { id: string; source: Source } | undefined;
}

export async function writeUser(c: Queryable, id: string, data: UserData, source: Source, at: string, insert: boolean): Promise<UserRecord> {
  const u = userColumns(data);
  const json = JSON.stringify(data);
  if (insert) {
    await c.query(
      `INSERT INTO users (id, user_name, user_name_lc, external_id, display_name, display_name_lc, work_email_lc,
         active, source, data, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)`,
      [id, u.userName, u.userNameLc, u.externalId, u.displayName, u.displayNameLc, u.workEmailLc, u.active, source, json, at],
    );
    return { id, userName: u.userName, externalId: u.externalId, active: u.active === 1, source, data, createdAt: at, updatedAt: at };
  }
  const { rows } = await c.query(
    `UPDATE users SET user_name = $1, user_name_lc = $2, external_id = $3, display_name = $4, display_name_lc = $5,
       work_email_lc = $6, active = $7, source = $8, data = $9, updated_at = $10 WHERE id = $11 RETURNING ${USER_COLUMNS}`,
    [u.userName, u.userNameLc, u.externalId, u.displayName, u.displayNameLc, u.workEmailLc, u.active, source, json, at, id],
  );
  return toUser(rows[0] as UserRow);
}

export class PgUsers {
  constructor(private readonly core: PgCore) {}

  async *listUsers(options: { filter?: string } = {}): AsyncIterable<UserSummary> {
    const rows = keysetPages<{
      id: string;
      user_name: string;
      user_name_lc: string;
      display_name: string | null;
      external_id: string | null;
      active: number;
      source: string;
      updated_at: string;
    }>(this.core, 'users', 'id, user_name, user_name_lc, display_name, external_id, active, source, updated_at', 'user_name_lc', options.filter ? likePattern(options.filter) : undefined);
    for await (const row of rows) {
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
    const rows = await this.core.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1${this.core.visible(mode)}`, [id]);
    return rows[0] && toUser(rows[0]);
  }

  async queryUsers(query: ListQuery, page: Page, mode: ImportMode): Promise<PageResult<UserRecord>> {
    return this.core.page<UserRow, UserRecord>('users', USER_COLUMNS, query, mode, page, toUser);
  }

  async createUser(data: UserData, options: WriteOptions): Promise<CreateResult<UserRecord>> {
    requireText(data.userName, 'userName');
    const at = options.now.toISOString();
    // A replica that inserts the same userName at the same moment makes this INSERT fail on the
    // unique index; the transaction then runs again and finds that user: a 409 (or a link).
    return this.core.tx(async (c) => {
      const clash = await userByName(c, data.userName);
      if (clash) {
        if (clash.source === 'admin' && options.mode === 'sync-existing') {
          return { record: await writeUser(c, clash.id, data, 'entra', at, false), linked: true };
        }
        throw userConflict(data.userName, clash, options.mode);
      }
      return { record: await writeUser(c, newId(), data, 'entra', at, true), linked: false };
    });
  }

  async updateUser(id: string, change: (current: UserData) => UserData, options: WriteOptions): Promise<UserRecord | undefined> {
    const at = options.now.toISOString();
    return this.core.tx(async (c) => {
      // FOR UPDATE: two PATCHes of one user (on any replica) apply one after the other.
      const { rows } = await c.query(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1${this.core.visible(options.mode)} FOR UPDATE`, [id]);
      const row = rows[0] as UserRow | undefined;
      if (!row) return undefined;
      const next = change(JSON.parse(row.data) as UserData);
      requireText(next.userName, 'userName');
      if (next.userName.toLowerCase() !== row.user_name_lc) {
        const clash = await userByName(c, next.userName, id);
        if (clash) throw userConflict(next.userName, clash, options.mode);
      }
      return writeUser(c, id, next, 'entra', at, false);
    });
  }

  async deleteUser(id: string, mode: ImportMode): Promise<boolean> {
    return this.core.tx(async (c) => {
      const { rowCount } = await c.query(`DELETE FROM users WHERE id = $1${this.core.visible(mode)}`, [id]);
      if (!rowCount) return false;
      await removeFromAllGroups(c, id);
      return true;
    });
  }
}
