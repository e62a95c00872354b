import { describeSource, newId } from '../shared.js';
import type { AdminImportResult, AdminImportRow, UserData } from '../store.js';
import { appendAudit } from './audit.js';
import type { SqliteCore } from './core.js';
import { addMembers, groupByName, writeGroup } from './groups.js';
import { userByName, writeUser } from './users.js';

/** `dirsync directory import`: an administrator's users and groups (source 'admin') in one transaction. */
export function importAdminObjects(core: SqliteCore, rows: AdminImportRow[], now: Date): AdminImportResult {
  const at = now.toISOString();
  return core.immediate(() => {
    const result: AdminImportResult = { users: 0, groups: 0, memberships: 0, skipped: [] };
    for (const row of rows.filter((r) => r.type === 'user')) {
      const clash = userByName(core, row.name);
      if (clash) {
        result.skipped.push({ line: row.line, name: row.name, reason: `a user with this userName already exists (${describeSource(clash.source)})` });
        continue;
      }
      const data: UserData = { userName: row.name, active: row.active ?? true };
      if (row.displayName) data.displayName = row.displayName;
      if (row.email) data.emails = [{ value: row.email, type: 'work', primary: true }];
      writeUser(core, newId(), data, 'admin', at, true);
      result.users++;
    }
    for (const row of rows.filter((r) => r.type === 'group')) {
      const clash = groupByName(core, row.name);
      if (clash) {
        result.skipped.push({ line: row.line, name: row.name, reason: `a group with this name already exists (${describeSource(clash.source)})` });
        continue;
      }
      const id = newId();
      writeGroup(core, id, { displayName: row.name }, 'admin', at, true);
      const ids: string[] = [];
      for (const member of row.members ?? []) {
        const user = userByName(core, member);
        if (user) ids.push(user.id);
        else result.skipped.push({ line: row.line, name: row.name, reason: `member "${member}" is not a user in the file or the directory` });
      }
      const added = addMembers(core, id, ids, 'sync-existing');
      if (added) core.sql('UPDATE groups SET member_count = ? WHERE id = ?').run(added, id);
      result.groups++;
      result.memberships += added;
    }
    appendAudit(
      core,
      { action: 'directory.import', detail: { users: result.users, groups: result.groups, memberships: result.memberships, skipped: result.skipped.length } },
      at,
    );
    return result;
  });
}
