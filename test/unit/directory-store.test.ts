import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteDirectory, type SqliteDirectory } from '../../src/directory/sqlite.js';
import { ConflictError } from '../../src/directory/store.js';
import { parseFilter } from '../../src/scim/filter-grammar.js';

const userFilter = (filter: string) => ({ filter: parseFilter(filter, 'User') });

let dir: string;
let store: SqliteDirectory;
const now = new Date('2025-10-05T12:00:00Z');
const entra = { mode: 'new-only' as const, now };
const sync = { mode: 'sync-existing' as const, now };
const page = { startIndex: 1, count: 100 };
async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dirsync-store-'));
  store = openSqliteDirectory(path.join(dir, 'directory.db'));
});
afterEach(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('directory write side', () => {
  it('finds users case-insensitively by userName and by work email, and refuses a second userName', async () => {
    const { record } = await store.createUser(
      { userName: 'Alice@Contoso.com', emails: [{ type: 'work', value: 'Alice@Mail.Contoso.com' }], externalId: 'e-1' },
      entra,
    );
    expect((await store.queryUsers(userFilter('userName eq "alice@contoso.COM"'), page, 'new-only')).items.map((u) => u.id)).toEqual([record.id]);
    expect((await store.queryUsers(userFilter('emails[type eq "work"].value eq "alice@mail.contoso.com"'), page, 'new-only')).total).toBe(1);
    expect((await store.queryUsers(userFilter('externalId eq "E-1"'), page, 'new-only')).total).toBe(0);
    await expect(store.createUser({ userName: 'ALICE@contoso.com' }, entra)).rejects.toBeInstanceOf(ConflictError);
  });

  it('keeps member counts right through add (idempotent), remove, and deleting a member', async () => {
    const a = (await store.createUser({ userName: 'a' }, entra)).record;
    const b = (await store.createUser({ userName: 'b' }, entra)).record;
    const g = (await store.createGroup({ displayName: 'G' }, [], entra)).record;
    await store.updateGroup(g.id, { addMembers: [a.id, b.id, 'no-such-id'] }, entra);
    const again = await store.updateGroup(g.id, { addMembers: [a.id] }, entra);
    expect(again?.memberCount).toBe(2);
    await store.updateGroup(g.id, { removeMembers: [b.id] }, entra);
    expect((await store.groupMembers(g.id)).map((m) => m.value)).toEqual([a.id]);
    await store.deleteUser(a.id, 'new-only');
    expect((await store.getGroup(g.id, 'new-only'))?.memberCount).toBe(0);
    expect(await store.groupMembers(g.id)).toEqual([]);
    const [summary] = await all(store.listGroups());
    expect(summary).toMatchObject({ name: 'G', members: 0, updatedBy: 'Microsoft Entra ID' });
  });

  it('imports admin objects, hides them in new-only, and lets sync-existing link them', async () => {
    const result = await store.importAdminObjects(
      [
        { line: 2, type: 'user', name: 'bob@contoso.com', displayName: 'Bob', email: 'bob@contoso.com' },
        { line: 3, type: 'group', name: 'Sales', members: ['bob@contoso.com', 'ghost@contoso.com'] },
      ],
      now,
    );
    expect(result).toMatchObject({ users: 1, groups: 1, memberships: 1 });
    expect(result.skipped).toEqual([{ line: 3, name: 'Sales', reason: expect.stringContaining('ghost@contoso.com') }]);

    expect((await store.queryUsers(userFilter('userName eq "bob@contoso.com"'), page, 'new-only')).total).toBe(0);
    const clash = await store.createUser({ userName: 'BOB@contoso.com' }, entra).catch((e) => e);
    expect(clash).toBeInstanceOf(ConflictError);
    expect(clash.message).toMatch(/administrator added.*new-only/);

    const linked = await store.createUser({ userName: 'bob@contoso.com', externalId: 'x' }, sync);
    expect(linked.linked).toBe(true);
    expect(linked.record.source).toBe('entra');
    const users = await all(store.listUsers());
    expect(users).toHaveLength(1);
    expect(users[0]!.updatedBy).toBe('Microsoft Entra ID');

    const group = await store.createGroup({ displayName: 'sales' }, [], sync);
    expect(group.linked).toBe(true);
    expect(group.record.memberCount).toBe(1);
  });

  it('survives reopening: every write is committed', async () => {
    const { record } = await store.createUser({ userName: 'persist' }, entra);
    store.close();
    store = openSqliteDirectory(path.join(dir, 'directory.db'));
    expect((await store.getUser(record.id, 'new-only'))?.userName).toBe('persist');
  });
});
