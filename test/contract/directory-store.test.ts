// One store contract, run against every backend: what SCIM, the CLI and the import see of the
// directory must not depend on where it lives.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, type DirectoryStore } from '../../src/directory/store.js';
import { parseFilter, parseSort } from '../../src/scim/filter-grammar.js';
import { fingerprintSecretCode, generateSecretCode, hashSecretCode } from '../../src/secrets/code.js';
import { backends, closeStore } from './backends.js';

const userFilter = (filter: string) => ({ filter: parseFilter(filter, 'User') });
const groupFilter = (filter: string) => ({ filter: parseFilter(filter, 'Group') });
const now = new Date('2025-10-05T12:00:00Z');
const entra = { mode: 'new-only' as const, now };
const sync = { mode: 'sync-existing' as const, now };
const page = { startIndex: 1, count: 100 };
async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
const newCode = (at: Date) => {
  const code = generateSecretCode();
  const expiresAt = new Date(at);
  expiresAt.setMonth(expiresAt.getMonth() + 6);
  return { code, make: () => ({ hash: hashSecretCode(code), fingerprint: fingerprintSecretCode(code), createdAt: at, expiresAt }) };
};

for (const backend of backends) {
  describe(`directory store contract: ${backend.name}`, () => {
    let db: Awaited<ReturnType<typeof backend.fresh>>;
    let store: DirectoryStore;
    const others: DirectoryStore[] = [];

    beforeAll(() => backend.setup(), 120_000);
    afterAll(() => backend.teardown(), 60_000);
    beforeEach(async () => {
      db = await backend.fresh();
      store = await db.open();
    });
    afterEach(async () => {
      await closeStore(store);
      for (const o of others.splice(0)) await closeStore(o);
      await db.cleanup();
    });

    it('finds users case-insensitively by userName and by work email, and refuses a second userName', async () => {
      const { record } = await store.createUser(
        { userName: 'Alice@Contoso.com', emails: [{ type: 'work', value: 'Alice@Mail.Contoso.com' }], externalId: 'e-1' },
        entra,
      );
      expect((await store.queryUsers(userFilter('userName eq "alice@contoso.COM"'), page, 'new-only')).items.map((u) => u.id)).toEqual([record.id]);
      expect((await store.queryUsers(userFilter('emails[type eq "work"].value eq "alice@mail.contoso.com"'), page, 'new-only')).total).toBe(1);
      expect((await store.queryUsers(userFilter('externalId eq "E-1"'), page, 'new-only')).total).toBe(0);
      const clash = await store.createUser({ userName: 'ALICE@contoso.com' }, entra).catch((e) => e);
      expect(clash).toBeInstanceOf(ConflictError);
      expect(clash.existingId).toBe(record.id);
    });

    it('answers the SCIM filter grammar the same way: co/sw/ew, not, or, pr, booleans, nested JSON, value paths', async () => {
      const mk = (userName: string, extra: Record<string, unknown> = {}) => store.createUser({ userName, ...extra }, entra);
      await mk('ann@x.com', { name: { familyName: 'Smith', givenName: 'Ann' }, active: true, title: 'Engineer',
        emails: [{ type: 'home', value: 'ann@home.org' }], 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'Sales' } });
      await mk('bob@y.com', { name: { familyName: 'Jones' }, active: false, emails: [{ type: 'work', value: 'bob@y.com' }] });
      await mk('carl@x.com', { displayName: 'Carl Ü', active: true });
      const names = async (f: string) =>
        (await store.queryUsers({ ...userFilter(f), sort: parseSort('userName', 'ascending', 'User') }, page, 'new-only')).items.map((u) => u.userName);
      expect(await names('userName co "@X."')).toEqual(['ann@x.com', 'carl@x.com']);
      expect(await names('userName sw "B"')).toEqual(['bob@y.com']);
      expect(await names('userName ew ".COM"')).toEqual(['ann@x.com', 'bob@y.com', 'carl@x.com']);
      expect(await names('not (userName ew "x.com")')).toEqual(['bob@y.com']);
      expect(await names('active eq false')).toEqual(['bob@y.com']);
      expect(await names('active eq true or title eq "nobody"')).toEqual(['ann@x.com', 'carl@x.com']);
      expect(await names('name.familyName eq "SMITH"')).toEqual(['ann@x.com']);
      expect(await names('name.familyName pr')).toEqual(['ann@x.com', 'bob@y.com']);
      expect(await names('title pr')).toEqual(['ann@x.com']);
      expect(await names('title ne "Engineer"')).toEqual(['bob@y.com', 'carl@x.com']);
      expect(await names('displayName eq "carl ü"')).toEqual(['carl@x.com']);
      expect(await names('emails[type eq "home" and value co "HOME"]')).toEqual(['ann@x.com']);
      expect(await names('emails pr')).toEqual(['ann@x.com', 'bob@y.com']);
      expect(await names('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "sales"')).toEqual(['ann@x.com']);
      expect(await names('meta.created ge "2025-10-05T00:00:00Z"')).toEqual(['ann@x.com', 'bob@y.com', 'carl@x.com']);
      expect(await names('meta.created lt "2025-10-05T00:00:00Z"')).toEqual([]);
      const desc = await store.queryUsers({ sort: parseSort('name.familyName', 'descending', 'User') }, page, 'new-only');
      expect(desc.items.map((u) => u.userName)).toEqual(['ann@x.com', 'bob@y.com', 'carl@x.com']);
      const second = await store.queryUsers({ sort: parseSort('userName', 'ascending', 'User') }, { startIndex: 2, count: 1 }, 'new-only');
      expect(second).toMatchObject({ total: 3, items: [{ userName: 'bob@y.com' }] });
    });

    it('keeps member counts right through add (idempotent), remove, and deleting a member', async () => {
      const a = (await store.createUser({ userName: 'a' }, entra)).record;
      const b = (await store.createUser({ userName: 'b' }, entra)).record;
      const g = (await store.createGroup({ displayName: 'G' }, [], entra)).record;
      const first = await store.updateGroup(g.id, { addMembers: [a.id, b.id, 'no-such-id'] }, entra);
      expect(first?.unknownMembers).toEqual(['no-such-id']);
      const again = await store.updateGroup(g.id, { addMembers: [a.id] }, entra);
      expect(again?.memberCount).toBe(2);
      expect((await store.queryGroups(groupFilter(`members[value eq "${b.id}"]`), page, 'new-only')).items.map((x) => x.id)).toEqual([g.id]);
      await store.updateGroup(g.id, { removeMembers: [b.id] }, entra);
      expect((await store.groupMembers(g.id)).map((m) => m.value)).toEqual([a.id]);
      await store.deleteUser(a.id, 'new-only');
      expect((await store.getGroup(g.id, 'new-only'))?.memberCount).toBe(0);
      expect(await store.groupMembers(g.id)).toEqual([]);
      const [summary] = await all(store.listGroups());
      expect(summary).toMatchObject({ name: 'G', members: 0, updatedBy: 'Microsoft Entra ID' });
    });

    it('nests groups, replaces members, renames with a uniqueness check, and deletes a nested group from its parent', async () => {
      const u = (await store.createUser({ userName: 'u', displayName: 'You' }, entra)).record;
      const inner = (await store.createGroup({ displayName: 'Inner' }, [u.id], entra)).record;
      const outer = (await store.createGroup({ displayName: 'Outer', externalId: 'ext-o' }, [inner.id, u.id], entra)).record;
      expect(outer.memberCount).toBe(2);
      const members = await store.groupMembers(outer.id);
      expect(members.map((m) => [m.type, m.display]).sort()).toEqual([['Group', 'Inner'], ['User', 'You']]);
      await expect(store.updateGroup(outer.id, { displayName: 'INNER' }, entra)).rejects.toBeInstanceOf(ConflictError);
      const renamed = await store.updateGroup(outer.id, { displayName: 'Outer 2', replaceMembers: [u.id] }, entra);
      expect(renamed).toMatchObject({ displayName: 'Outer 2', memberCount: 1, externalId: 'ext-o' });
      await store.updateGroup(outer.id, { addMembers: [inner.id] }, entra);
      expect(await store.deleteGroup(inner.id, 'new-only')).toBe(true);
      expect((await store.getGroup(outer.id, 'new-only'))?.memberCount).toBe(1);
      expect(await store.deleteGroup(inner.id, 'new-only')).toBe(false);
      expect((await all(store.listGroups({ filter: 'outer' }))).map((g) => g.name)).toEqual(['Outer 2']);
      expect(await store.counts()).toEqual({ users: 1, activeUsers: 1, groups: 1 });
    });

    it('updates a user through a change function, refusing a rename onto a taken userName', async () => {
      const a = (await store.createUser({ userName: 'a@x.com', active: true }, entra)).record;
      await store.createUser({ userName: 'b@x.com' }, entra);
      const updated = await store.updateUser(a.id, (d) => ({ ...d, active: false, displayName: 'A' }), entra);
      expect(updated).toMatchObject({ active: false, data: { userName: 'a@x.com', displayName: 'A', active: false } });
      await expect(store.updateUser(a.id, (d) => ({ ...d, userName: 'B@X.COM' }), entra)).rejects.toBeInstanceOf(ConflictError);
      expect(await store.updateUser('missing', (d) => d, entra)).toBeUndefined();
      expect(await store.counts()).toEqual({ users: 2, activeUsers: 1, groups: 0 });
      expect((await all(store.listUsers({ filter: 'A@' }))).map((u) => [u.userName, u.active])).toEqual([['a@x.com', false]]);
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

    it('renews Secret Codes with a grace period, revokes them, and undoes a renewal', async () => {
      const first = newCode(now);
      const r1 = await store.renewSecretCode({ now, graceMs: 3600_000, generate: first.make });
      expect(r1.renewed).toBe(true);
      const later = new Date(now.getTime() + 1000);
      const second = newCode(later);
      const r2 = await store.renewSecretCode({ now: later, graceMs: 3600_000, generate: second.make });
      if (!r2.renewed) throw new Error('not renewed');
      expect(r2.replaced.map((c) => c.fingerprint)).toEqual([fingerprintSecretCode(first.code)]);
      const old = await store.findSecretCodeByHash(hashSecretCode(first.code));
      expect(old).toMatchObject({ supersededAt: later.toISOString(), graceUntil: new Date(later.getTime() + 3600_000).toISOString() });
      expect((await store.currentSecretCode())?.fingerprint).toBe(fingerprintSecretCode(second.code));

      // shouldRenew sees the current code inside the transaction
      const skipped = await store.renewSecretCode({ now: later, graceMs: 0, shouldRenew: (c) => c === undefined, generate: newCode(later).make });
      expect(skipped.renewed).toBe(false);

      await store.undoRenewal(r2, later);
      expect((await store.currentSecretCode())?.fingerprint).toBe(fingerprintSecretCode(first.code));
      expect(await store.findSecretCodeByHash(hashSecretCode(second.code))).toMatchObject({ revokedAt: later.toISOString() });

      await store.markSecretCodeUsed(r1.renewed ? r1.code.id : 0, later);
      expect((await store.currentSecretCode())?.lastUsedAt).toBe(later.toISOString());
      expect(await store.revokeSecretCodes(later)).toBe(1);
      expect(await store.findSecretCodeByHash(hashSecretCode(first.code))).toMatchObject({ revokedAt: later.toISOString() });
      expect(await store.findSecretCodeByHash('no-such-hash')).toBeUndefined();
      await store.audit({ action: 'token.revoke', detail: { revoked: 1 } }, later);
    });

    it('survives reopening: every write is committed', async () => {
      const { record } = await store.createUser({ userName: 'persist' }, entra);
      await closeStore(store);
      store = await db.open();
      expect((await store.getUser(record.id, 'new-only'))?.userName).toBe('persist');
    });

    it('two connections racing for one userName and one displayName: one wins, the other gets a conflict', async () => {
      const other = await db.open();
      others.push(other);
      // Two PostgreSQL connections race for real; two SQLite connections in one thread cannot (the
      // first holds the write lock until its batch commits at the end of the turn), so there they
      // take turns — SQLite serves one host, where `dirsync serve` is one process.
      // (A write that fails answers at once; its batch still ends at the end of the turn.)
      const turn = async <T,>(f: () => Promise<T>) => {
        const [r] = await Promise.allSettled([f()]);
        await new Promise((resolve) => setImmediate(resolve));
        return r!;
      };
      const both = async <T,>(a: () => Promise<T>, b: () => Promise<T>) =>
        backend.name === 'postgres' ? Promise.allSettled([a(), b()]) : [await turn(a), await turn(b)];
      for (let round = 0; round < 5; round++) {
        const users = await both(
          () => store.createUser({ userName: `race-${round}@x.com` }, entra),
          () => other.createUser({ userName: `RACE-${round}@x.com` }, entra),
        );
        expect(users.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        const lost = users.find((r) => r.status === 'rejected') as PromiseRejectedResult;
        expect(lost.reason).toBeInstanceOf(ConflictError);
        const groups = await both(
          () => other.createGroup({ displayName: `Team ${round}` }, [], entra),
          () => store.createGroup({ displayName: `team ${round}` }, [], entra),
        );
        expect(groups.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        expect((groups.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError);
      }
      expect(await other.counts()).toEqual({ users: 5, activeUsers: 5, groups: 5 });
      // a renewal on one connection is what the other finds (within the 1 s a replica may cache it)
      const code = newCode(now);
      await other.renewSecretCode({ now, graceMs: 0, generate: code.make });
      expect((await store.findSecretCodeByHash(hashSecretCode(code.code)))?.fingerprint).toBe(fingerprintSecretCode(code.code));
      await other.revokeSecretCodes(now);
      await new Promise((r) => setTimeout(r, 1100));
      expect((await store.findSecretCodeByHash(hashSecretCode(code.code)))?.revokedAt).toBe(now.toISOString());
    });
  });
}
