/**
 * Several `dirsync serve` replicas behind one Tenant URL, the directory in PostgreSQL: each replica
 * host has its own config dir (configured with the same flags) and DIRSYNC_DATABASE_URL naming one
 * database in a throwaway cluster (test/support/postgres.ts).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { baseEnv, rememberSecret, runCli, tempConfigDir } from '../support/cli.js';
import { EntraProvisioningClient, entraUser } from '../support/entra-provisioning-client.js';
import { PG_PASSWORD, startPostgres, type PostgresCluster } from '../support/postgres.js';
import { startServe, type ServeProcess } from '../support/serve-process.js';

const PASSWORD = 'replica test password';
rememberSecret(PASSWORD);
rememberSecret(PG_PASSWORD);
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';

let cluster: PostgresCluster;
let databases = 0;
let url: string;
let hostA: NodeJS.ProcessEnv;
let hostB: NodeJS.ProcessEnv;
const servers: ServeProcess[] = [];

async function configureHost(): Promise<NodeJS.ProcessEnv> {
  const env = baseEnv(tempConfigDir('dirsync-replica-'), { DIRSYNC_DATABASE_URL: url });
  const r = await runCli(['configure', '--tenant-id', TENANT, '--no-consent', '--offline'], { env: { ...env, DIRSYNC_ADMIN_PASSWORD: PASSWORD } });
  expect(r.code, r.stderr).toBe(0);
  return env;
}

async function renew(env: NodeJS.ProcessEnv, extra: string[] = []): Promise<string> {
  const r = await runCli(['token', 'renew', '--json', ...extra], { env: { ...env, DIRSYNC_ADMIN_PASSWORD: PASSWORD } });
  expect(r.code, r.stderr).toBe(0);
  rememberSecret(r.json().secretCode);
  return r.json().secretCode;
}

async function serve(env: NodeJS.ProcessEnv): Promise<ServeProcess> {
  const s = await startServe([], env);
  servers.push(s);
  return s;
}

/** Polls `check` until it is true; returns the milliseconds it took, or fails after `limitMs`. */
async function within(limitMs: number, check: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > limitMs) throw new Error(`not within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  cluster = await startPostgres();
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
});
beforeEach(async () => {
  url = await cluster.createDatabase(`replicas_${process.pid}_${++databases}`);
  hostA = await configureHost();
  hostB = await configureHost();
});
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop('SIGKILL');
});

describe('dirsync serve: two replicas on one PostgreSQL database', () => {
  it('takes an Entra provisioning cycle split across both replicas; the CLI on either host lists it', async () => {
    const code = await renew(hostA);
    const [a, b] = await Promise.all([serve(hostA), serve(hostB)]);
    const viaA = new EntraProvisioningClient(a.tenantUrl, code);
    const viaB = new EntraProvisioningClient(b.tenantUrl, code);
    expect((await viaA.testConnection()).status).toBe(200);
    expect((await viaB.testConnection()).status).toBe(200);
    const alice = await viaA.provisionUser(entraUser('alice'));
    const bob = await viaB.provisionUser(entraUser('bob'));
    // Entra's second pass over alice goes to the other replica: found, not created again.
    expect((await viaB.provisionUser(entraUser('alice'))).id).toBe(alice.id);
    const sales = await viaB.createGroup('Sales', 'b6ae3d4e-0c6f-4a0e-9bd7-5d1b0b8f0a11');
    expect(sales.status).toBe(201);
    expect((await viaA.addMembers(sales.body.id, [alice.id, bob.id])).status).toBe(204);
    expect((await viaB.setActive(bob.id, false)).status).toBe(200);
    expect((await viaA.renameGroup(sales.body.id, 'Sales EMEA')).status).toBe(204);
    expect((await viaB.getUser(bob.id)).body.active).toBe(false);

    const groups = await runCli(['groups', 'list', '--json'], { env: hostB });
    expect(groups.json()).toEqual([
      { name: 'Sales EMEA', id: 'b6ae3d4e-0c6f-4a0e-9bd7-5d1b0b8f0a11', updatedBy: 'Microsoft Entra ID', members: 2, updatedAt: expect.any(String) },
    ]);
    const users = await runCli(['users', 'list', '--json'], { env: hostA });
    expect(users.json().map((u: any) => [u.userName, u.active])).toEqual([
      ['useralice@contoso.com', true],
      ['userbob@contoso.com', false],
    ]);
    const status = await runCli(['db', 'status', '--json'], { env: hostB });
    expect(status.json()).toEqual({
      backend: 'postgres',
      schemaVersion: 1,
      latestSchemaVersion: 1,
      location: `postgres://postgres@127.0.0.1:${cluster.port}/replicas_${process.pid}_${databases}`,
    });
    const overview = await runCli(['status', '--json'], { env: hostA });
    expect(overview.json()).toMatchObject({
      directory: { users: 2, activeUsers: 1, groups: 1 },
      database: { backend: 'postgres', location: status.json().location },
    });
    const health = await new EntraProvisioningClient(b.url, undefined, 'legacy').request('GET', '/healthz');
    expect(health.body).toEqual({ status: 'ok', database: 'ok' });
    for (const out of [groups, users, status, overview]) expect(out.stdout + out.stderr).not.toContain(PG_PASSWORD);
    expect(a.stderr() + b.stderr()).not.toContain(PG_PASSWORD);
  });

  it('the same userName or displayName POSTed to both replicas at once: one 201, one 409', async () => {
    const code = await renew(hostA);
    const [a, b] = await Promise.all([serve(hostA), serve(hostB)]);
    const viaA = new EntraProvisioningClient(a.tenantUrl, code);
    const viaB = new EntraProvisioningClient(b.tenantUrl, code);
    for (let round = 0; round < 10; round++) {
      const users = await Promise.all([viaA.createUser(entraUser(`race${round}`)), viaB.createUser(entraUser(`RACE${round}`))]);
      expect(users.map((r) => r.status).sort()).toEqual([201, 409]);
      expect(users.find((r) => r.status === 409)!.body.scimType).toBe('uniqueness');
      const groups = await Promise.all([viaB.createGroup(`Team ${round}`), viaA.createGroup(`team ${round}`)]);
      expect(groups.map((r) => r.status).sort()).toEqual([201, 409]);
    }
    const list = await viaA.request('GET', '/Users?count=100');
    expect(list.body.totalResults).toBe(10);
  });

  it('a renewal and a revocation on one host are honoured by the other replica within 2 seconds', async () => {
    const first = await renew(hostA);
    const b = await serve(hostB);
    expect((await new EntraProvisioningClient(b.tenantUrl, first).testConnection()).status).toBe(200);
    const second = await renew(hostA, ['--grace', '0']);
    await within(2000, async () => (await new EntraProvisioningClient(b.tenantUrl, first).testConnection()).status === 401);
    expect((await new EntraProvisioningClient(b.tenantUrl, second).testConnection()).status).toBe(200);

    const a = await serve(hostA);
    expect((await new EntraProvisioningClient(a.tenantUrl, second).testConnection()).status).toBe(200);
    const revoke = await runCli(['token', 'revoke', '--yes'], { env: { ...hostB, DIRSYNC_ADMIN_PASSWORD: PASSWORD } });
    expect(revoke.code, revoke.stderr).toBe(0);
    await within(2000, async () => (await new EntraProvisioningClient(a.tenantUrl, second).testConnection()).status === 401);
    const status = await runCli(['token', 'status', '--json'], { env: hostA });
    expect(status.code).toBe(11);
  });

  it('kill -9 of one replica in a burst: every write it answered is found through the other', async () => {
    const code = await renew(hostA);
    const [a, b] = await Promise.all([serve(hostA), serve(hostB)]);
    const viaA = new EntraProvisioningClient(a.tenantUrl, code);
    const answered: { id: string; userName: string }[] = [];
    let sent = 0;
    let killed = false;
    const worker = async () => {
      while (!killed && sent < 2000) {
        const u = entraUser(`burst${sent++}`);
        try {
          const r = await viaA.createUser(u);
          if (r.status === 201) answered.push({ id: r.body.id, userName: u.userName });
          if (answered.length >= 150 && !killed) {
            killed = true;
            a.child.kill('SIGKILL');
          }
        } catch {
          // the connection died with the replica: not answered
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    expect(killed).toBe(true);
    expect(answered.length).toBeGreaterThanOrEqual(150);
    const viaB = new EntraProvisioningClient(b.tenantUrl, code);
    const missing: string[] = [];
    for (const w of answered) {
      const r = await viaB.getUser(w.id);
      if (r.status !== 200 || r.body.userName !== w.userName) missing.push(w.userName);
    }
    expect(missing).toEqual([]);
  });

  it('refuses to start against an unreachable database or with a wrong password: exit 1 within 15 s, one line naming the host', async () => {
    const unreachable = { ...hostA, DIRSYNC_DATABASE_URL: `postgres://postgres:${PG_PASSWORD}@127.0.0.1:1/dirsync` };
    let start = Date.now();
    const down = await runCli(['serve', '--port', '0'], { env: unreachable, timeoutMs: 20_000 });
    expect(Date.now() - start).toBeLessThan(15_000);
    expect(down.code).toBe(1);
    expect(down.stderr.trim().split('\n')).toHaveLength(1);
    expect(down.stderr).toContain('127.0.0.1:1');
    expect(down.stderr).toMatch(/connection refused/);
    expect(down.stderr).not.toContain(PG_PASSWORD);

    const wrong = { ...hostA, DIRSYNC_DATABASE_URL: cluster.url(`replicas_${process.pid}_${databases}`, 'not-the-password') };
    start = Date.now();
    const denied = await runCli(['token', 'status'], { env: wrong, timeoutMs: 20_000 });
    expect(Date.now() - start).toBeLessThan(15_000);
    expect(denied.code).toBe(1);
    expect(denied.stderr.trim().split('\n')).toHaveLength(1);
    expect(denied.stderr).toContain(`127.0.0.1:${cluster.port}`);
    expect(denied.stderr).toMatch(/password authentication failed/);
    expect(denied.stderr).not.toContain('not-the-password');
  });

  it('/healthz reports the database, and is unhealthy (503) while it is unreachable', async () => {
    const own = await startPostgres();
    try {
      const env = { ...hostA, DIRSYNC_DATABASE_URL: await own.createDatabase('health') };
      const s = await serve(env);
      const client = new EntraProvisioningClient(s.url, undefined, 'legacy');
      expect(await client.request('GET', '/healthz')).toMatchObject({ status: 200, body: { status: 'ok', database: 'ok' } });
      await own.stop();
      const down = await client.request('GET', '/healthz');
      expect(down.status).toBe(503);
      expect(down.body).toMatchObject({ status: 'unavailable', database: 'unreachable' });
      expect(down.text).not.toContain(PG_PASSWORD);
    } finally {
      await own.stop().catch(() => {});
    }
  });
});
