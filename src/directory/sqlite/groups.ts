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
import type { SqliteCore } from './core.js';

/** Groups and their members: SCIM reads and writes (through the group commit), and `groups list`. */

export function groupByName(core: SqliteCore, displayName: string, exceptId?: string): { id: string; source: Source } | undefined {
  return core.sql('SELECT id, source FROM groups WHERE display_name_lc = ? AND id <> ?').get(
    displayName.toLowerCase(),
    exceptId ?? '',
  ) as { id: string; source: Source } | undefined;
}

export function writeGroup(core: SqliteCore, id: string, data: GroupData, source: Source, at: string, insert: boolean): void {
  const externalId = typeof data.externalId === 'string' ? data.externalId : null;
  if (insert) {
    core.sql(
      `INSERT INTO groups (id, display_name, display_name_lc, external_id, source, member_count, data, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)`,
    ).run(id, data.displayName, data.displayName.toLowerCase(), externalId, source, JSON.stringify(data), at, at);
  } else {
    core.sql(
      `UPDATE groups SET display_name = ?, display_name_lc = ?, external_id = ?, source = ?, data = ?, updated_at = ?
       WHERE id = ?`,
    ).run(data.displayName, data.displayName.toLowerCase(), externalId, source, JSON.stringify(data), at, id);
  }
}

/**
 * Adds the members that exist (idempotent: a member already in the group is left alone) in one
 * set-based statement whose cost follows the number of ids given, not the group's size.
 * Returns how many were new.
 */
export function addMembers(core: SqliteCore, groupId: string, memberIds: Iterable<string>, mode: ImportMode, unknown?: string[]): number {
  const ids = [...memberIds].filter((id) => typeof id === 'string' && id !== groupId);
  if (!ids.length) return 0;
  const v = core.visible(mode);
  const json = JSON.stringify(ids);
  const added = core.sql(
    `INSERT INTO group_members (group_id, member_id)
     SELECT ?, j.value FROM json_each(?) AS j
     WHERE EXISTS (SELECT 1 FROM users WHERE id = j.value${v})
        OR EXISTS (SELECT 1 FROM groups WHERE id = j.value${v})
     ON CONFLICT DO NOTHING`,
  ).run(groupId, json).changes;
  // Fewer added than given: some were members already (Entra re-sends them) or name nothing.
  if (unknown && added < ids.length) {
    const missing = core.sql(
      `SELECT j.value FROM json_each(?) AS j
       WHERE NOT EXISTS (SELECT 1 FROM users WHERE id = j.value${v})
         AND NOT EXISTS (SELECT 1 FROM groups WHERE id = j.value${v})`,
    ).pluck().all(json) as string[];
    unknown.push(...missing);
  }
  return added;
}

function removeMembers(core: SqliteCore, groupId: string, memberIds: Iterable<string>): number {
  const ids = [...memberIds];
  if (!ids.length) return 0;
  return core.sql('DELETE FROM group_members WHERE group_id = ? AND member_id IN (SELECT value FROM json_each(?))').run(
    groupId,
    JSON.stringify(ids),
  ).changes;
}

/** Takes `memberId` out of every group it is in, keeping the groups' member counts right. */
export function removeFromAllGroups(core: SqliteCore, memberId: string): void {
  core.sql(
    'UPDATE groups SET member_count = member_count - 1 WHERE id IN (SELECT group_id FROM group_members WHERE member_id = ?)',
  ).run(memberId);
  core.sql('DELETE FROM group_members WHERE member_id = ?').run(memberId);
}

export class SqliteGroups {
  constructor(private readonly core: SqliteCore) {}

  async *listGroups(options: { filter?: string } = {}): AsyncIterable<GroupSummary> {
    const where = options.filter ? `WHERE display_name_lc LIKE ? ESCAPE '\\'` : '';
    const args = options.filter ? [likePattern(options.filter)] : [];
    const stmt = this.core.db.prepare(
      `SELECT id, display_name, external_id, source, member_count, updated_at FROM groups ${where}
       ORDER BY display_name_lc, id`,
    );
    for (const row of stmt.iterate(...args) as IterableIterator<{
      id: string;
      display_name: string;
      external_id: string | null;
      source: string;
      member_count: number;
      updated_at: string;
    }>) {
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
    await this.core.settled();
    const row = this.core.sql(`SELECT ${GROUP_COLUMNS} FROM groups WHERE id = ?${this.core.visible(mode)}`).get(id) as
      | GroupRow
      | undefined;
    return row && toGroup(row);
  }

  async groupMembers(id: string): Promise<GroupMember[]> {
    await this.core.settled();
    const rows = this.core.sql(
      `SELECT m.member_id, u.user_name, u.display_name AS user_display, g.display_name AS group_display
       FROM group_members m LEFT JOIN users u ON u.id = m.member_id LEFT JOIN groups g ON g.id = m.member_id
       WHERE m.group_id = ? ORDER BY m.member_id`,
    ).all(id) as { member_id: string; user_name: string | null; user_display: string | null; group_display: string | null }[];
    return rows.map((r) => ({
      value: r.member_id,
      type: r.user_name === null && r.group_display !== null ? 'Group' : 'User',
      display: r.user_display ?? r.user_name ?? r.group_display,
    }));
  }

  async queryGroups(query: ListQuery, page: Page, mode: ImportMode): Promise<PageResult<GroupRecord>> {
    await this.core.settled();
    return this.core.page<GroupRow, GroupRecord>('groups', GROUP_COLUMNS, query, mode, page, toGroup);
  }

  async createGroup(data: GroupData, members: string[], options: WriteOptions): Promise<CreateResult<GroupWriteResult>> {
    requireText(data.displayName, 'displayName');
    const at = options.now.toISOString();
    const core = this.core;
    return core.write(() => {
      const clash = groupByName(core, data.displayName);
      let id: string;
      let linked = false;
      if (clash) {
        if (clash.source !== 'admin' || options.mode !== 'sync-existing') {
          throw groupConflict(data.displayName, clash, options.mode);
        }
        // Linking keeps the members the administrator gave it; Entra adds its own.
        id = clash.id;
        linked = true;
        writeGroup(core, id, data, 'entra', at, false);
      } else {
        id = newId();
        writeGroup(core, id, data, 'entra', at, true);
      }
      const unknownMembers: string[] = [];
      const added = addMembers(core, id, new Set(members), options.mode, unknownMembers);
      if (added) core.sql('UPDATE groups SET member_count = member_count + ? WHERE id = ?').run(added, id);
      const record = toGroup(core.sql(`SELECT ${GROUP_COLUMNS} FROM groups WHERE id = ?`).get(id) as GroupRow);
      return { record: { ...record, unknownMembers }, linked };
    });
  }

  async updateGroup(id: string, change: GroupChange, options: WriteOptions): Promise<GroupWriteResult | undefined> {
    const at = options.now.toISOString();
    const core = this.core;
    return core.write(() => {
      const row = core.sql(`SELECT ${GROUP_COLUMNS} FROM groups WHERE id = ?${core.visible(options.mode)}`).get(id) as
        | GroupRow
        | undefined;
      if (!row) return undefined;
      const attributes = change.displayName !== undefined || change.externalId !== undefined;
      const data = JSON.parse(row.data) as GroupData;
      if (change.displayName !== undefined) {
        requireText(change.displayName, 'displayName');
        if (change.displayName.toLowerCase() !== row.display_name_lc) {
          const clash = groupByName(core, change.displayName, id);
          if (clash) throw groupConflict(change.displayName, clash, options.mode);
        }
        data.displayName = change.displayName;
      }
      if (change.externalId !== undefined) {
        if (change.externalId === null) delete data.externalId;
        else data.externalId = change.externalId;
      }
      // A member-only change (Entra's usual group PATCH) leaves the group's attributes as they are.
      if (attributes || row.source !== 'entra') writeGroup(core, id, data, 'entra', at, false);
      let delta = 0;
      const unknownMembers: string[] = [];
      if (change.replaceMembers) {
        delta -= core.sql('DELETE FROM group_members WHERE group_id = ?').run(id).changes;
        delta += addMembers(core, id, new Set(change.replaceMembers), options.mode, unknownMembers);
      }
      if (change.addMembers?.length) delta += addMembers(core, id, change.addMembers, options.mode, unknownMembers);
      if (change.removeMembers?.length) delta -= removeMembers(core, id, change.removeMembers);
      core.sql('UPDATE groups SET member_count = member_count + ?, updated_at = ? WHERE id = ?').run(delta, at, id);
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
    const core = this.core;
    return core.write(() => {
      const { changes } = core.sql(`DELETE FROM groups WHERE id = ?${core.visible(mode)}`).run(id);
      if (changes === 0) return false;
      // Its own member rows go by ON DELETE CASCADE; it may also be a member of other groups.
      removeFromAllGroups(core, id);
      return true;
    });
  }
}
