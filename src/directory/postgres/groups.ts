import { groupConflict, likePattern, newId, requireText } from '../shared.js';
import { type GroupRow, toGroup, GROUP_COLUMNS } from '../rows.js';
import type {
  CreateResult,
  GroupChange,
  GroupData,
  GroupMember,
  GroupRecord,
  GroupSummary,
  GroupWriteResult,
  ImportMode,
  ListQuery,
  Page,
  PageResult,
  Source,
  WriteOptions,
} from '../store.js';
import type { PgCore, Queryable } from './core.js';
import { keysetPages } from './stream.js';

/** Groups and their members in PostgreSQL: SCIM reads and writes, and `groups list`. */

const visible = (mode: ImportMode) => (mode === 'new-only' ? " AND source = 'entra'" : '');

export async function groupByName(c: Queryable, displayName: string, exceptId?: string): Promise<{ id: string; source: Source } | undefined> {
  const { rows } = await c.query('SELECT id, source FROM groups WHERE display_name_lc = $1 AND id <> $2', [
    displayName.toLowerCase(),
    exceptId ?? '',
  ]);
  return rows[0] as { id: string; source: Source } | undefined;
}

export async function writeGroup(c: Queryable, id: string, data: GroupData, source: Source, at: string, insert: boolean): Promise<void> {
  const externalId = typeof data.externalId === 'string' ? data.externalId : null;
  if (insert) {
    await c.query(
      `INSERT INTO groups (id, display_name, display_name_lc, external_id, source, member_count, data, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $7)`,
      [id, data.displayName, data.displayName.toLowerCase(), externalId, source, JSON.stringify(data), at],
    );
  } else {
    await c.query(
      `UPDATE groups SET display_name = $1, display_name_lc = $2, external_id = $3, source = $4, data = $5, updated_at = $6
       WHERE id = $7`,
      [data.displayName, data.displayName.toLowerCase(), externalId, source, JSON.stringify(data), at, id],
    );
  }
}

/**
 * Adds the members that exist (idempotent: a member already in the group is left alone) in one
 * set-based statement. Returns how many were new.
 */
export async function addMembers(c: Queryable, groupId: string, memberIds: Iterable<string>, mode: ImportMode, unknown?: string[]): Promise<number> {
  const ids = [...new Set([...memberIds].filter((id) => typeof id === 'string' && id !== groupId))];
  if (!ids.length) return 0;
  const v = visible(mode);
  const { rowCount } = await c.query(
    `INSERT INTO group_members (group_id, member_id)
     SELECT $1, j.value FROM unnest($2::text[]) AS j(value)
     WHERE EXISTS (SELECT 1 FROM users WHERE id = j.value${v})
        OR EXISTS (SELECT 1 FROM groups WHERE id = j.value${v})
     ON CONFLICT DO NOTHING`,
    [groupId, ids],
  );
  const added = rowCount ?? 0;
  if (unknown && added < ids.length) {
    const { rows } = await c.query(
      `SELECT j.value FROM unnest($1::text[]) WITH ORDINALITY AS j(value, n)
       WHERE NOT EXISTS (SELECT 1 FROM users WHERE id = j.value${v})
         AND NOT EXISTS (SELECT 1 FROM groups WHERE id = j.value${v})
       ORDER BY j.n`,
      [ids],
    );
    unknown.push(...rows.map((r) => (r as { value: string }).value));
  }
  return added;
}

async function removeMembers(c: Queryable, groupId: string, memberIds: Iterable<string>): Promise<number> {
  const ids = [...memberIds];
  if (!ids.length) return 0;
  const { rowCount } = await c.query('DELETE FROM group_members WHERE group_id = $1 AND member_id = ANY($2::text[])', [groupId, ids]);
  return rowCount ?? 0;
}

/** Takes `memberId` out of every group it is in, keeping the groups' member counts right. */
export async function removeFromAllGroups(c: Queryable, memberId: string): Promise<void> {
  await c.query(
    `WITH gone AS (DELETE FROM group_members WHERE member_id = $1 RETURNING group_id)
     UPDATE groups SET member_count = member_count - 1 WHERE id IN (SELECT group_id FROM gone)`,
    [memberId],
  );
}

export class PgGroups {
  constructor(private readonly core: PgCore) {}

  async *listGroups(options: { filter?: string } = {}): AsyncIterable<GroupSummary> {
    const rows = keysetPages<{
      id: string;
      display_name: string;
      display_name_lc: string;
      external_id: string | null;
      source: string;
      member_count: number;
      updated_at: string;
    }>(this.core, 'groups', 'id, display_name, display_name_lc, external_id, source, member_count, updated_at', 'display_name_lc', options.filter ? likePattern(options.filter) : undefined);
    for await (const row of rows) {
      yield {
        id: row.id,
        name: row.display_name,
        externalId: row.external_id,
        updatedBy: row.source === 'entra' ? 'Microsoft Entra ID' : 'Administrator',
        members: row.member_count,
        updatedAt: row.updated_at,
      };
    }
  }

  async getGroup(id: string, mode: ImportMode): Promise<GroupRecord | undefined> {
    const rows = await this.core.query<GroupRow>(`SELECT ${GROUP_COLUMNS} FROM groups WHERE id = $1${visible(mode)}`, [id]);
    return rows[0] && toGroup(rows[0]);
  }

  async groupMembers(id: string): Promise<GroupMember[]> {
    const rows = await this.core.query<{ member_id: string; user_name: string | null; user_display: string | null; group_display: string | null }>(
      `SELECT m.member_id, u.user_name, u.display_name AS user_display, g.display_name AS group_display
       FROM group_members m LEFT JOIN users u ON u.id = m.member_id LEFT JOIN groups g ON g.id = m.member_id
       WHERE m.group_id = $1 ORDER BY m.member_id COLLATE "C"`,
      [id],
    );
    return rows.map((r) => ({
      value: r.member_id,
      type: r.user_name === null && r.group_display !== null ? 'Group' : 'User',
      display: r.user_display ?? r.user_name ?? r.group_display,
    }));
  }

  async queryGroups(query: ListQuery, page: Page, mode: ImportMode): Promise<PageResult<GroupRecord>> {
    return this.core.page<GroupRow, GroupRecord>('groups', GROUP_COLUMNS, query, mode, page, toGroup);
  }

  async createGroup(data: GroupData, members: string[], options: WriteOptions): Promise<CreateResult<GroupWriteResult>> {
    requireText(data.displayName, 'displayName');
    const at = options.now.toISOString();
    return this.core.tx(async (c) => {
      const clash = await groupByName(c, data.displayName);
      let id: string;
      let linked = false;
      if (clash) {
        if (clash.source !== 'admin' || options.mode !== 'sync-existing') {
          throw groupConflict(data.displayName, clash, options.mode);
        }
        // Linking keeps the members the administrator gave it; Entra adds its own.
        id = clash.id;
        linked = true;
        await writeGroup(c, id, data, 'entra', at, false);
      } else {
        id = newId();
        await writeGroup(c, id, data, 'entra', at, true);
      }
      const unknownMembers: string[] = [];
      const added = await addMembers(c, id, new Set(members), options.mode, unknownMembers);
      if (added) await c.query('UPDATE groups SET member_count = member_count + $1 WHERE id = $2', [added, id]);
      const { rows } = await c.query(`SELECT ${GROUP_COLUMNS} FROM groups WHERE id = $1`, [id]);
      return { record: { ...toGroup(rows[0] as GroupRow), unknownMembers }, linked };
    });
  }

  async updateGroup(id: string, change: GroupChange, options: WriteOptions): Promise<GroupWriteResult | undefined> {
    const at = options.now.toISOString();
    return this.core.tx(async (c) => {
      // FOR UPDATE: changes to one group (from any replica) apply one after the other.
      const { rows } = await c.query(`SELECT ${GROUP_COLUMNS} FROM groups WHERE id = $1${visible(options.mode)} FOR UPDATE`, [id]);
      const row = rows[0] as GroupRow | undefined;
      if (!row) return undefined;
      const attributes = change.displayName !== undefined || change.externalId !== undefined;
      const data = JSON.parse(row.data) as GroupData;
      if (change.displayName !== undefined) {
        requireText(change.displayName, 'displayName');
        if (change.displayName.toLowerCase() !== row.display_name_lc) {
          const clash = await groupByName(c, change.displayName, id);
          if (clash) throw groupConflict(change.displayName, clash, options.mode);
        }
        data.displayName = change.displayName;
      }
      if (change.externalId !== undefined) {
        if (change.externalId === null) delete data.externalId;
        else data.externalId = change.externalId;
      }
      if (attributes || row.source !== 'entra') await writeGroup(c, id, data, 'entra', at, false);
      let delta = 0;
      const unknownMembers: string[] = [];
      if (change.replaceMembers) {
        delta -= (await c.query('DELETE FROM group_members WHERE group_id = $1', [id])).rowCount ?? 0;
        delta += await addMembers(c, id, new Set(change.replaceMembers), options.mode, unknownMembers);
      }
      if (change.addMembers?.length) delta += await addMembers(c, id, change.addMembers, options.mode, unknownMembers);
      if (change.removeMembers?.length) delta -= await removeMembers(c, id, change.removeMembers);
      await c.query('UPDATE groups SET member_count = member_count + $1, updated_at = $2 WHERE id = $3', [delta, at, id]);
      return {
        id,
        displayName: data.displayName,
        externalId: typeof data.externalId === 'string' ? data.externalId : null,
        source: 'entra' as const,
        memberCount: row.member_count + delta,
        data,
        createdAt: row.created_at,
        updatedAt: at,
        unknownMembers,
      };
    });
  }

  async deleteGroup(id: string, mode: ImportMode): Promise<boolean> {
    return this.core.tx(async (c) => {
      const { rowCount } = await c.query(`DELETE FROM groups WHERE id = $1${visible(mode)}`, [id]);
      if (!rowCount) return false;
      // Its own member rows go by ON DELETE CASCADE; it may also be a member of other groups.
      await removeFromAllGroups(c, id);
      return true;
    });
  }
}
