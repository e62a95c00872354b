/**
 * The whole SCIM filter grammar, sorting, paging and attribute selection over HTTP against the
 * Tenant URL, as an administrator's SCIM tool or another identity provider would use them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EntraProvisioningClient, ENTERPRISE } from '../support/entra-provisioning-client.js';
import { startFixture, type ScimFixture } from '../support/scim-fixture.js';

let fx: ScimFixture;
let c: EntraProvisioningClient;
const ids: Record<string, string> = {};
const groupIds: Record<string, string> = {};

const USERS = [
  {
    userName: 'Alice@Contoso.com',
    externalId: 'EXT-a',
    displayName: 'Alice Ärger',
    title: 'Engineer',
    name: { givenName: 'Alice', familyName: 'Smith' },
    emails: [
      { value: 'alice@contoso.com', type: 'work', primary: true },
      { value: 'alice@home.example', type: 'home' },
    ],
    [ENTERPRISE]: { department: 'Sales', manager: { value: 'mgr-1' } },
  },
  {
    userName: 'bob@contoso.com',
    externalId: 'ext-b',
    displayName: 'Bob',
    active: false,
    emails: [{ value: 'bob@fabrikam.com', type: 'work' }],
    [ENTERPRISE]: { department: 'Engineering' },
  },
  { userName: 'carol@example.org', externalId: 'ext-c', title: 'Boss', name: { familyName: 'Jones' } },
];

beforeAll(async () => {
  fx = await startFixture();
  c = new EntraProvisioningClient(fx.server.tenantUrl, fx.code, 'legacy');
  for (const [i, user] of USERS.entries()) {
    fx.clock.now = new Date(Date.UTC(2025, i * 3, 1));
    const res = await c.request('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], ...user });
    expect(res.status, res.text).toBe(201);
    ids[user.userName] = res.body.id;
  }
  for (const [name, members] of [
    ['Sales', ['Alice@Contoso.com']],
    ['Engineering', ['bob@contoso.com', 'Alice@Contoso.com']],
    ['Empty', []],
  ] as const) {
    const res = await c.request('POST', '/Groups', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      displayName: name,
      externalId: `g-${name}`,
      members: members.map((m) => ({ value: ids[m] })),
    });
    expect(res.status, res.text).toBe(201);
    groupIds[name] = res.body.id;
  }
});
afterAll(async () => {
  await fx?.close();
});

async function users(filter: string, extra = ''): Promise<string[]> {
  const res = await c.request('GET', `/Users?filter=${encodeURIComponent(filter)}${extra}`);
  expect(res.status, `${filter}: ${res.text}`).toBe(200);
  expect(res.body.totalResults).toBe(res.body.Resources.length);
  return res.body.Resources.map((r: { userName: string }) => r.userName);
}

async function groups(filter: string): Promise<string[]> {
  const res = await c.request('GET', `/Groups?filter=${encodeURIComponent(filter)}`);
  expect(res.status, `${filter}: ${res.text}`).toBe(200);
  return res.body.Resources.map((r: { displayName: string }) => r.displayName);
}

const [A, B, C] = USERS.map((u) => u.userName);

describe('filters on /Users', () => {
  it.each([
    ['userName eq "ALICE@contoso.com"', [A]],
    ['userName ne "alice@contoso.com"', [B, C]],
    ['userName co "CONTOSO"', [A, B]],
    ['userName sw "b"', [B]],
    ['userName ew ".ORG"', [C]],
    ['userName gt "b"', [B, C]],
    ['userName ge "bob@contoso.com"', [B, C]],
    ['userName lt "b"', [A]],
    ['userName le "bob@contoso.com"', [A, B]],
    ['title pr', [A, C]],
    ['externalId eq "EXT-a"', [A]],
    ['externalId eq "ext-a"', []],
    ['externalId co "ext"', [B, C]],
    ['displayName eq "alice ärger"', [A]],
    ['name.familyName eq "SMITH"', [A]],
    ['emails[type eq "work" and value co "@contoso.com"]', [A]],
    ['emails[type eq "work"].value eq "BOB@fabrikam.com"', [B]],
    ['emails.type eq "home"', [A]],
    ['emails co "fabrikam"', [B]],
    ['emails pr', [A, B]],
    [`${ENTERPRISE}:department eq "sales"`, [A]],
    [`${ENTERPRISE}:department sw "eng"`, [B]],
    [`${ENTERPRISE}:manager.value eq "mgr-1"`, [A]],
    ['urn:ietf:params:scim:schemas:core:2.0:User:userName eq "carol@example.org"', [C]],
    ['active eq false', [B]],
    ['active eq true', [A, C]],
    ['meta.created gt "2025-02-01T00:00:00Z"', [B, C]],
    ['meta.lastModified le "2025-04-01"', [A, B]],
    ['not (title pr)', [B]],
    ['not (userName eq "alice@contoso.com") and title pr', [C]],
    ['userName eq "alice@contoso.com" or title eq "boss"', [A, C]],
    ['title eq "boss" or userName sw "a" and active eq false', [C]],
    ['(title eq "boss" or userName sw "a") and active eq true', [A, C]],
    ['USERNAME EQ "bob@contoso.com"', [B]],
    ['externalId eq null', []],
    ['nickName eq null', [A, B, C]],
  ])('%s', async (filter, expected) => {
    expect(await users(filter)).toEqual(expected);
  });

  it('answers an unreadable filter with 400 invalidFilter saying where', async () => {
    const res = await c.request('GET', `/Users?filter=${encodeURIComponent('userName eq "a" xor title pr')}`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ scimType: 'invalidFilter', status: '400' });
    expect(res.body.detail).toMatch(/position 17 .*"and" or "or" was expected/);
  });
});

describe('filters on /Groups', () => {
  it.each([
    ['displayName eq "sales"', ['Sales']],
    ['displayName ne "Sales"', ['Engineering', 'Empty']],
    ['displayName co "NG"', ['Engineering']],
    ['displayName sw "e"', ['Engineering', 'Empty']],
    ['displayName ew "ty"', ['Empty']],
    ['displayName gt "F"', ['Sales']],
    ['displayName ge "Empty"', ['Sales', 'Engineering', 'Empty']],
    ['displayName lt "F"', ['Engineering', 'Empty']],
    ['displayName le "Empty"', ['Empty']],
    ['externalId eq "g-Sales"', ['Sales']],
    ['members pr', ['Sales', 'Engineering']],
    ['not (members pr)', ['Empty']],
    ['members[value eq "BOB"]', []],
    ['members.display eq "bob"', ['Engineering']],
    ['members[type eq "User"] and displayName sw "s"', ['Sales']],
  ])('%s', async (filter, expected) => {
    expect(await groups(filter)).toEqual(expected);
  });

  it('finds the groups of a member by its id, as Entra does', async () => {
    expect(await groups(`members[value eq "${ids[A]}"]`)).toEqual(['Sales', 'Engineering']);
    expect(await groups(`members eq "${ids[B]}"`)).toEqual(['Engineering']);
    expect(await groups(`id eq "${groupIds.Sales}" and members[value eq "${ids[B]}"]`)).toEqual([]);
    expect(await groups(`id eq "${groupIds.Engineering}" and members.value eq "${ids[B]}"`)).toEqual(['Engineering']);
  });
});

describe('sorting, paging and attribute selection', () => {
  it('sorts by sortBy and sortOrder, resources without the attribute last', async () => {
    expect(await users('userName pr', '&sortBy=title')).toEqual([C, A, B]);
    expect(await users('userName pr', '&sortBy=title&sortOrder=descending')).toEqual([A, C, B]);
    expect(await users('userName pr', '&sortBy=meta.created&sortOrder=descending')).toEqual([C, B, A]);
    const bad = await c.request('GET', '/Users?sortBy=bogus');
    expect(bad.status).toBe(400);
  });

  it('pages with startIndex and count', async () => {
    const page = await c.request('GET', '/Users?sortBy=userName&startIndex=2&count=1');
    expect(page.body).toMatchObject({ totalResults: 3, startIndex: 2, itemsPerPage: 1 });
    expect(page.body.Resources.map((r: { userName: string }) => r.userName)).toEqual([B]);
    const none = await c.request('GET', '/Users?count=0');
    expect(none.body).toMatchObject({ totalResults: 3, itemsPerPage: 0, Resources: [] });
  });

  it('returns only the attributes asked for, on lists, single reads and writes', async () => {
    const list = await c.request('GET', `/Users?filter=${encodeURIComponent('userName eq "alice@contoso.com"')}&attributes=userName,name.familyName,emails.value,${ENTERPRISE}:department`);
    expect(list.body.Resources).toEqual([
      {
        schemas: expect.any(Array),
        id: ids[A],
        userName: A,
        name: { familyName: 'Smith' },
        emails: [{ value: 'alice@contoso.com' }, { value: 'alice@home.example' }],
        [ENTERPRISE]: { department: 'Sales' },
      },
    ]);
    const one = await c.request('GET', `/Users/${ids[A]}?excludedAttributes=emails,name.givenName,meta,${ENTERPRISE}:manager`);
    expect(one.body.emails).toBeUndefined();
    expect(one.body.meta).toBeUndefined();
    expect(one.body.name).toEqual({ familyName: 'Smith' });
    expect(one.body[ENTERPRISE]).toEqual({ department: 'Sales' });
    expect(one.body.id).toBe(ids[A]);

    const created = await c.request('POST', '/Users?attributes=userName', { userName: 'dave@example.org', title: 'x' });
    expect(created.status).toBe(201);
    expect(Object.keys(created.body).sort()).toEqual(['id', 'schemas', 'userName']);
    const put = await c.request('PUT', `/Users/${created.body.id}?excludedAttributes=title`, { userName: 'dave@example.org', title: 'y' });
    expect(put.status).toBe(200);
    expect(put.body.title).toBeUndefined();
    expect(put.body.userName).toBe('dave@example.org');
    expect((await c.request('DELETE', `/Users/${created.body.id}`)).status).toBe(204);

    const group = await c.request('GET', `/Groups/${groupIds.Engineering}?attributes=displayName`);
    expect(Object.keys(group.body).sort()).toEqual(['displayName', 'id', 'schemas']);
    const withMembers = await c.request('GET', `/Groups/${groupIds.Engineering}?attributes=members.value`);
    expect(withMembers.body.members).toEqual(expect.arrayContaining([{ value: ids[A] }, { value: ids[B] }]));
  });
});
