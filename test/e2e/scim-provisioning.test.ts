/**
 * The SCIM endpoint in-process on 127.0.0.1 against a temp SQLite directory, driven over HTTP by a
 * client that plays Entra's provisioning cycle, in both of Entra's PATCH dialects.
 */
import http from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EntraProvisioningClient, ENTERPRISE, entraUser, type Dialect } from '../support/entra-provisioning-client.js';
import { issueCode, startFixture, type ScimFixture } from '../support/scim-fixture.js';
import { generateSecretCode } from '../../src/secrets/code.js';

let fx: ScimFixture;
afterEach(async () => {
  await fx?.close();
});

/** `token` null sends no Authorization header. */
const client = (dialect: Dialect = 'aadOptscim062020', token: string | null = fx.code) =>
  new EntraProvisioningClient(fx.server.tenantUrl, token ?? undefined, dialect);

describe.each<Dialect>(['legacy', 'aadOptscim062020'])('Entra provisioning cycle (%s)', (dialect) => {
  beforeEach(async () => {
    fx = await startFixture();
  });

  it('passes Test Connection: a random userName filter without User-Agent is 200 with an empty list', async () => {
    const res = await client(dialect).testConnection();
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
    expect(res.body).toMatchObject({ totalResults: 0, Resources: [], startIndex: 1 });
    expect(res.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:ListResponse']);
  });

  it('creates, refuses the retry with 409, updates, disables, enables and deletes a user', async () => {
    const c = client(dialect);
    const alice = { ...entraUser('alice'), department: 'Sales', employeeNumber: '100' };
    const created = await c.createUser(alice);
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect(created.headers.location).toBe(`${fx.server.tenantUrl}/Users/${id}`);
    expect(created.body).toMatchObject({ userName: alice.userName, externalId: alice.externalId, active: true });
    expect(created.body[ENTERPRISE]).toEqual({ department: 'Sales', employeeNumber: '100' });

    const retry = await c.createUser({ ...alice, userName: alice.userName.toUpperCase() });
    expect(retry.status).toBe(409);
    expect(retry.body).toMatchObject({ scimType: 'uniqueness', status: '409' });
    // ...and the filter then finds it, which is how Entra recovers.
    const found = await c.findUser(alice.userName.toUpperCase());
    expect(found.body.totalResults).toBe(1);
    expect(found.body.Resources[0].id).toBe(id);

    const updated = await c.updateUser(id, {
      displayName: 'Alice Renamed',
      email: 'alice.new@contoso.com',
      givenName: 'Alicia',
      employeeNumber: '200',
    });
    expect(updated.status).toBe(200);
    const after = (await c.getUser(id)).body;
    expect(after.displayName).toBe('Alice Renamed');
    expect(after.emails).toEqual([{ primary: true, type: 'work', value: 'alice.new@contoso.com' }]);
    expect(after.name).toMatchObject({ givenName: 'Alicia', familyName: alice.familyName });
    expect(after[ENTERPRISE]).toEqual({ department: 'Sales', employeeNumber: '200' });
    const byEmail = await c.request('GET', `/Users?filter=${encodeURIComponent('emails[type eq "work"].value eq "ALICE.NEW@contoso.com"')}`);
    expect(byEmail.body.totalResults).toBe(1);

    const boss = await c.createUser(entraUser('boss'));
    expect((await c.setManager(id, boss.body.id)).status).toBe(200);
    expect((await c.getUser(id)).body[ENTERPRISE].manager).toEqual({ value: boss.body.id });

    expect((await c.setActive(id, false)).status).toBe(200);
    expect((await c.getUser(id)).body.active).toBe(false);
    expect((await c.findUser(alice.userName)).body.Resources[0].active).toBe(false);
    const [summary] = await all(fx.store.listUsers({ filter: 'alice' }));
    expect(summary).toMatchObject({ active: false, updatedBy: 'Microsoft Entra ID' });
    expect((await c.setActive(id, true)).status).toBe(200);
    expect((await c.getUser(id)).body.active).toBe(true);

    expect((await c.deleteUser(id)).status).toBe(204);
    expect((await c.getUser(id)).status).toBe(404);
    expect((await c.deleteUser(id)).status).toBe(404);
    expect((await c.updateUser(id, { displayName: 'x' })).status).toBe(404);
    const gone = await c.findUser(alice.userName);
    expect(gone.status).toBe(200);
    expect(gone.body.totalResults).toBe(0);
  });

  it('provisions groups: create, 409 on retry, idempotent member add, targeted remove, rename, delete', async () => {
    const c = client(dialect);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await c.createUser(entraUser(i))).body.id);
    const created = await c.createGroup('Engineering');
    expect(created.status).toBe(201);
    const gid = created.body.id as string;
    expect(created.body).toMatchObject({ displayName: 'Engineering', members: [] });
    expect((await c.createGroup('engineering')).status).toBe(409);

    const found = await c.findGroup('Engineering');
    expect(found.body.totalResults).toBe(1);
    expect(found.body.Resources[0]).not.toHaveProperty('members');

    const add = await c.addMembers(gid, ids);
    expect(add.status).toBe(204);
    expect(add.text).toBe('');
    // Entra re-sends members it has already added: nothing changes, nothing fails, nothing is noted.
    expect((await c.addMembers(gid, ids.slice(0, 2))).status).toBe(204);
    // An id that names nothing here is ignored (the others are added); the log line says which.
    expect((await c.addMembers(gid, [ids[0]!, 'no-such-user-1'])).status).toBe(204);
    const withMembers = (await c.getGroup(gid, true)).body;
    expect(withMembers.members.map((m: { value: string }) => m.value).sort()).toEqual([...ids].sort());
    await new Promise((r) => setTimeout(r, 20)); // log lines are written when a response has gone
    const ignored = fx.logs.filter((l) => l.includes('members-ignored'));
    expect(ignored).toHaveLength(1);
    expect(ignored[0]).toMatch(/^PATCH \/scim\/v2\/Groups\/\S+ 204 .*members-ignored=1 \(unknown ids: no-such-user-1\)$/);
    expect((await c.getGroup(gid)).body).not.toHaveProperty('members');

    expect((await c.removeMembers(gid, [ids[1]!, ids[3]!])).status).toBe(204);
    const left = (await c.getGroup(gid, true)).body.members.map((m: { value: string }) => m.value).sort();
    expect(left).toEqual([ids[0], ids[2]].sort());
    const isMember = await c.request('GET', `/Groups?excludedAttributes=members&filter=${encodeURIComponent(`id eq "${gid}" and members eq "${ids[0]}"`)}`);
    expect(isMember.body.totalResults).toBe(1);
    const notMember = await c.request('GET', `/Groups?excludedAttributes=members&filter=${encodeURIComponent(`id eq "${gid}" and members eq "${ids[1]}"`)}`);
    expect(notMember.body.totalResults).toBe(0);

    expect((await c.renameGroup(gid, 'Platform Engineering')).status).toBe(204);
    expect((await c.findGroup('Engineering')).body.totalResults).toBe(0);
    expect((await c.findGroup('platform engineering')).body.Resources[0].id).toBe(gid);
    const [summary] = await all(fx.store.listGroups());
    expect(summary).toMatchObject({ name: 'Platform Engineering', members: 2, updatedBy: 'Microsoft Entra ID' });
    expect(summary!.externalId).toBe(created.body.externalId);

    // Deleting a member user keeps the group and its count right.
    expect((await c.deleteUser(ids[0]!)).status).toBe(204);
    expect((await all(fx.store.listGroups()))[0]!.members).toBe(1);

    expect((await c.deleteGroup(gid)).status).toBe(204);
    expect((await c.getGroup(gid)).status).toBe(404);
    expect((await c.deleteGroup(gid)).status).toBe(404);
  });
});

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('authentication with the Secret Code', () => {
  beforeEach(async () => {
    fx = await startFixture();
  });

  it('answers 401 with a detail that says which: missing, malformed, unknown, expired', async () => {
    const missing = await client('aadOptscim062020', null).testConnection();
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(missing.body.detail).toMatch(/No Secret Code/);

    const malformed = await client('aadOptscim062020', 'not-a-code').testConnection();
    expect(malformed.status).toBe(401);
    expect(malformed.body.detail).toMatch(/not a dirsync Secret Code/);

    const unknown = await client('aadOptscim062020', generateSecretCode()).testConnection();
    expect(unknown.status).toBe(401);
    expect(unknown.body.detail).toMatch(/unknown/);

    fx.clock.now = new Date(fx.clock.now.getTime() + 200 * 86_400_000);
    const expired = await client().testConnection();
    expect(expired.status).toBe(401);
    expect(expired.body.detail).toMatch(/expired/);
    expect(expired.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
  });

  it('sees a revocation and a renewal made while it runs, on the next request', async () => {
    expect((await client().testConnection()).status).toBe(200);
    const fresh = await issueCode(fx.store, fx.clock.now, 3600_000);
    // The old code stays valid through the grace period; the new one works at once.
    expect((await client().testConnection()).status).toBe(200);
    expect((await client('aadOptscim062020', fresh).testConnection()).status).toBe(200);
    fx.clock.now = new Date(fx.clock.now.getTime() + 2 * 3600_000);
    const replaced = await client().testConnection();
    expect(replaced.status).toBe(401);
    expect(replaced.body.detail).toMatch(/replaced by a renewal/);
    expect((await client('aadOptscim062020', fresh).testConnection()).status).toBe(200);

    await fx.store.revokeSecretCodes(fx.clock.now);
    const revoked = await client('aadOptscim062020', fresh).testConnection();
    expect(revoked.status).toBe(401);
    expect(revoked.body.detail).toMatch(/revoked/);
  });

  it('records when the code was last used, at most once a minute', async () => {
    expect((await fx.store.currentSecretCode())?.lastUsedAt).toBeNull();
    const first = fx.clock.now;
    await client().testConnection();
    expect((await fx.store.currentSecretCode())?.lastUsedAt).toBe(first.toISOString());
    fx.clock.now = new Date(first.getTime() + 30_000);
    await client().testConnection();
    expect((await fx.store.currentSecretCode())?.lastUsedAt).toBe(first.toISOString());
    fx.clock.now = new Date(first.getTime() + 61_000);
    await client().testConnection();
    expect((await fx.store.currentSecretCode())?.lastUsedAt).toBe(fx.clock.now.toISOString());
  });

  it('logs one line per request, never the Authorization header or the code', async () => {
    await client().testConnection();
    await client('aadOptscim062020', generateSecretCode()).testConnection();
    await client().request('GET', '/healthz'.replace('/healthz', '/ServiceProviderConfig'));
    await new Promise((r) => setTimeout(r, 20));
    expect(fx.logs).toHaveLength(3);
    expect(fx.logs[0]).toMatch(/^GET \/scim\/v2\/Users 200 \d+\.\dms$/);
    expect(fx.logs[1]).toMatch(/^GET \/scim\/v2\/Users 401 .*auth=unknown/);
    expect(fx.logs.join('\n')).not.toContain(fx.code);
    expect(fx.logs.join('\n')).not.toMatch(/dsync_|Bearer/i);
  });

  it('serves /healthz without a code, and discovery with one', async () => {
    const health = await new EntraProvisioningClient(fx.server.url, undefined, 'legacy').request('GET', '/healthz');
    expect(health.status).toBe(200);
    const c = client();
    expect((await c.request('GET', '/ServiceProviderConfig')).body.patch).toEqual({ supported: true });
    const types = (await c.request('GET', '/ResourceTypes')).body;
    expect(types.Resources.map((r: { id: string }) => r.id)).toEqual(['User', 'Group']);
    const schemas = (await c.request('GET', '/Schemas')).body;
    expect(schemas.totalResults).toBe(3);
    expect((await c.request('GET', `/Schemas/${ENTERPRISE}`)).status).toBe(200);
  });
});

describe('import modes', () => {
  const adminObjects = async () => {
    await fx.store.importAdminObjects(
      [
        { line: 2, type: 'user', name: 'bob@contoso.com', displayName: 'Bob (admin)' },
        { line: 3, type: 'group', name: 'Sales', members: ['bob@contoso.com'] },
      ],
      fx.clock.now,
    );
  };

  it('new-only: admin objects are invisible and unmodified; a clash is 409 naming it', async () => {
    fx = await startFixture({ importMode: 'new-only' });
    await adminObjects();
    const c = client();
    expect((await c.findUser('bob@contoso.com')).body.totalResults).toBe(0);
    expect((await c.findGroup('Sales')).body.totalResults).toBe(0);
    const clash = await c.createUser({ ...entraUser('bob'), userName: 'Bob@contoso.com' });
    expect(clash.status).toBe(409);
    expect(clash.body.scimType).toBe('uniqueness');
    expect(clash.body.detail).toMatch(/Bob@contoso.com.*administrator added.*new-only/);
    const groupClash = await c.createGroup('SALES');
    expect(groupClash.status).toBe(409);
    expect(groupClash.body.detail).toMatch(/administrator added/);
    const [bob] = await all(fx.store.listUsers());
    expect(bob).toMatchObject({ displayName: 'Bob (admin)', updatedBy: 'Administrator' });
    expect((await c.getUser(bob!.id)).status).toBe(404);
    expect((await c.setActive(bob!.id, false)).status).toBe(404);
    expect((await c.deleteUser(bob!.id)).status).toBe(404);
  });

  it('sync-existing: filters match admin objects and Entra links them', async () => {
    fx = await startFixture({ importMode: 'sync-existing' });
    await adminObjects();
    const c = client('legacy');
    const found = await c.findUser('BOB@contoso.com');
    expect(found.body.totalResults).toBe(1);
    const bobId = found.body.Resources[0].id;
    expect((await c.updateUser(bobId, { displayName: 'Bob (Entra)' })).status).toBe(200);
    const [bob] = await all(fx.store.listUsers());
    expect(bob).toMatchObject({ displayName: 'Bob (Entra)', updatedBy: 'Microsoft Entra ID' });

    const group = await c.findGroup('sales');
    expect(group.body.totalResults).toBe(1);
    // A POST of the same name links it too, keeping its members.
    const linked = await c.createGroup('Sales');
    expect(linked.status).toBe(201);
    expect(linked.body.id).toBe(group.body.Resources[0].id);
    const [sales] = await all(fx.store.listGroups());
    expect(sales).toMatchObject({ updatedBy: 'Microsoft Entra ID', members: 1 });
  });
});

describe('bad input never gives a 5xx', () => {
  beforeEach(async () => {
    fx = await startFixture({ maxBodyBytes: 64 * 1024 });
  });

  it('malformed JSON is 400 invalidSyntax; a body over the limit is 413', async () => {
    const c = client();
    const bad = await c.request('POST', '/Users', undefined, { rawBody: '{"userName": ' });
    expect(bad.status).toBe(400);
    expect(bad.body.scimType).toBe('invalidSyntax');
    const huge = await c.request('POST', '/Users', undefined, { rawBody: JSON.stringify({ userName: 'x', pad: 'a'.repeat(200_000) }) });
    expect(huge.status).toBe(413);
    // The server is still fine afterwards.
    expect((await c.testConnection()).status).toBe(200);
  });

  it('pages list GETs with startIndex and count', async () => {
    const c = client();
    for (let i = 0; i < 5; i++) await c.createUser(entraUser(i));
    const everyone = await c.request('GET', '/Users');
    const ids = everyone.body.Resources.map((r: { id: string }) => r.id);
    expect(ids).toHaveLength(5);
    const page = await c.request('GET', '/Users?startIndex=3&count=2');
    expect(page.body).toMatchObject({ totalResults: 5, startIndex: 3, itemsPerPage: 2 });
    expect(page.body.Resources.map((r: { id: string }) => r.id)).toEqual(ids.slice(2, 4));
    expect((await c.request('GET', '/Users?startIndex=9&count=2')).body).toMatchObject({ totalResults: 5, Resources: [] });
  });

  it('answers hostile and nonsense requests with 4xx', async () => {
    const c = client();
    const user = (await c.createUser(entraUser('x'))).body.id as string;
    const group = (await c.createGroup('G')).body.id as string;
    const cases: [string, string, string | undefined][] = [
      ['GET', `/Users?filter=${encodeURIComponent('userName sw "a"')}`, undefined],
      ['GET', `/Users?filter=${encodeURIComponent('(((((')}`, undefined],
      ['GET', `/Users?filter=${encodeURIComponent('"'.repeat(5000))}`, undefined],
      ['GET', `/Users?filter=${encodeURIComponent('userName eq "x" or 1 eq 1')}`, undefined],
      ['GET', `/Groups?filter=${encodeURIComponent('members[value eq "x" and')}`, undefined],
      ['GET', '/Users?count=abc', undefined],
      ['GET', '/Users/%E0%A4%A', undefined],
      ['GET', '/Users/does-not-exist', undefined],
      ['GET', '/Nope', undefined],
      ['GET', '/Users/a/b/c', undefined],
      ['PUT', '/Users', '{}'],
      ['POST', '/Users', '[]'],
      ['POST', '/Users', 'null'],
      ['POST', '/Users', '"text"'],
      ['POST', '/Users', '{"userName": 42}'],
      ['POST', '/Users', '{"userName": "y", "active": "perhaps"}'],
      ['POST', '/Users', ''],
      ['POST', '/Groups', '{"displayName": ["a"]}'],
      ['PATCH', `/Users/${user}`, '{"Operations": {}}'],
      ['PATCH', `/Users/${user}`, '{"Operations": [null]}'],
      ['PATCH', `/Users/${user}`, '{"Operations": [{"op": "replace", "path": 7}]}'],
      ['PATCH', `/Users/${user}`, '{"Operations": [{"op": "replace", "path": "userName", "value": {"a": 1}}]}'],
      ['PATCH', `/Users/${user}`, '{"Operations": [{"op": "replace", "path": "emails[type eq ", "value": "x"}]}'],
      ['PATCH', `/Groups/${group}`, '{"Operations": [{"op": "replace", "path": "displayName", "value": ""}]}'],
      ['PATCH', `/Groups/${group}`, '{"Operations": [{"op": "add", "path": "members", "value": [{"value": {"x": 1}}, 5, null]}]}'],
      ['PATCH', '/Groups/unknown', '{"Operations": []}'],
      ['DELETE', '/Groups', undefined],
    ];
    for (const [method, path, body] of cases) {
      const res = await c.request(method, path, undefined, body === undefined ? {} : { rawBody: body });
      expect(res.status, `${method} ${path} ${body ?? ''}`).toBeLessThan(500);
    }
    // The group survived its hostile patches with its name.
    expect((await c.getGroup(group)).body.displayName).toBe('G');
    expect(fx.logs.some((l) => / 5\d\d /.test(l))).toBe(false);
  });
});

describe('request targets', () => {
  beforeEach(async () => {
    fx = await startFixture();
  });

  /** One raw request with `target` as the request line's target, as a proxy or an odd client may send it. */
  const raw = (target: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const { hostname, port } = new URL(fx.server.url);
      const req = http.request(
        { host: hostname, port, path: target, headers: { Authorization: `Bearer ${fx.code}`, Connection: 'close' } },
        (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        },
      );
      req.on('error', reject);
      req.end();
    });

  it('reads the query of origin-form and absolute-form targets alike, and ignores a fragment', async () => {
    const c = client();
    await c.createUser(entraUser('target'));
    const filter = `filter=${encodeURIComponent(`userName eq "${entraUser('target').userName}"`)}`;
    for (const target of [
      `/scim/v2/Users?aadOptscim062020&${filter}`,
      `${fx.server.url}/scim/v2/Users?aadOptscim062020&${filter}`,
      `/scim/v2/Users?${filter}#fragment`,
    ]) {
      const res = await raw(target);
      expect(res.status, target).toBe(200);
      expect(JSON.parse(res.body).totalResults, target).toBe(1);
    }
    // A fragment is not part of the path: /scim/v2/Users#x is the collection, not a user "x".
    expect((await raw('/scim/v2/Users#x')).status).toBe(200);
    expect(fx.logs.some((l) => / 5\d\d /.test(l))).toBe(false);
  });
});

describe('shutdown', () => {
  it('lets an in-flight request finish, then stops accepting', async () => {
    fx = await startFixture();
    const body = JSON.stringify({ userName: 'late@contoso.com' });
    const url = new URL(`${fx.server.tenantUrl}/Users`);
    const pending = new Promise<number>((resolve, reject) => {
      const req = http.request(url, {
        method: 'POST',
        agent: false,
        headers: { Authorization: `Bearer ${fx.code}`, 'Content-Type': 'application/scim+json', 'Content-Length': String(body.length) },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write(body.slice(0, 5));
      setTimeout(() => req.end(body.slice(5)), 150);
    });
    await new Promise((r) => setTimeout(r, 50));
    const closed = fx.server.close();
    expect(await pending).toBe(201);
    await closed;
    await expect(client().testConnection()).rejects.toThrow();
    expect((await all(fx.store.listUsers())).map((u) => u.userName)).toEqual(['late@contoso.com']);
  });
});
