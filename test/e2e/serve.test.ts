/**
 * `dirsync serve` as a user runs it: the real bin/dirsync.js in a child process, Entra's
 * provisioning client over HTTP with a Secret Code from `dirsync token renew`, then the CLI's own
 * `groups list` / `users list` / `token status` on what arrived.
 */
import http from 'node:http';
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { baseEnv, rememberSecret, runCli, tempConfigDir } from '../support/cli.js';
import { EntraProvisioningClient, entraUser } from '../support/entra-provisioning-client.js';
import { startServe, type ServeProcess } from '../support/serve-process.js';

const PASSWORD = 'serve test password';
rememberSecret(PASSWORD);
let env: NodeJS.ProcessEnv;
let server: ServeProcess | undefined;

async function renew(extra: string[] = []): Promise<string> {
  const r = await runCli(['token', 'renew', '--json', ...extra], { env: { ...env, DIRSYNC_ADMIN_PASSWORD: PASSWORD } });
  expect(r.code, r.stderr).toBe(0);
  rememberSecret(r.json().secretCode);
  return r.json().secretCode;
}

beforeEach(async () => {
  env = baseEnv(tempConfigDir());
  const r = await runCli(['configure', '--tenant-id', '72f988bf-86f1-41af-91ab-2d7cd011db47', '--no-consent', '--offline'], {
    env: { ...env, DIRSYNC_ADMIN_PASSWORD: PASSWORD },
  });
  expect(r.code, r.stderr).toBe(0);
});
afterEach(async () => {
  await server?.stop('SIGKILL');
  server = undefined;
});

describe('dirsync serve', () => {
  it('takes a provisioning cycle from Entra, and the CLI lists what arrived', async () => {
    const code = await renew();
    server = await startServe([], env);
    const entra = new EntraProvisioningClient(server.tenantUrl, code, 'aadOptscim062020');
    expect((await entra.testConnection()).status).toBe(200);
    const alice = await entra.provisionUser(entraUser('alice'));
    const bob = await entra.provisionUser(entraUser('bob'));
    const sales = await entra.createGroup('Sales', 'b6ae3d4e-0c6f-4a0e-9bd7-5d1b0b8f0a11');
    expect(sales.status).toBe(201);
    expect((await entra.addMembers(sales.body.id, [alice.id, bob.id])).status).toBe(204);
    expect((await entra.setActive(bob.id, false)).status).toBe(200);
    expect((await entra.renameGroup(sales.body.id, 'Sales EMEA')).status).toBe(204);

    const groups = await runCli(['groups', 'list', '--json'], { env });
    expect(groups.json()).toEqual([
      { name: 'Sales EMEA', id: 'b6ae3d4e-0c6f-4a0e-9bd7-5d1b0b8f0a11', updatedBy: 'Microsoft Entra ID', members: 2, updatedAt: expect.any(String) },
    ]);
    const users = await runCli(['users', 'list', '--json'], { env });
    expect(users.json().map((u: any) => [u.userName, u.active])).toEqual([
      ['useralice@contoso.com', true],
      ['userbob@contoso.com', false],
    ]);
    const status = await runCli(['token', 'status', '--json'], { env });
    expect(status.json().lastUsedAt).not.toBeNull();
    const human = await runCli(['token', 'status'], { env });
    expect(human.stdout).toMatch(/Last used by Entra:\s+[A-Z][a-z]{2} \d{1,2}, \d{4} \(today\)/);

    // One log line per request on stderr, never the Authorization header.
    expect(server.stderr()).toMatch(/POST \/scim\/v2\/Users 201/);
    expect(server.stderr()).not.toContain(code);
    expect(server.stderr()).not.toMatch(/Bearer/i);
    expect(await server.stop('SIGTERM')).toBe(0);
    server = undefined;
  });

  it('honours a renewal and a revocation made while it runs, without a restart', async () => {
    const first = await renew();
    server = await startServe([], env);
    const second = await renew(['--grace', '0']);
    const old = await new EntraProvisioningClient(server.tenantUrl, first).testConnection();
    expect(old.status).toBe(401);
    expect(old.body.detail).toMatch(/revoked/i);
    expect((await new EntraProvisioningClient(server.tenantUrl, second).testConnection()).status).toBe(200);
    const revoke = await runCli(['token', 'revoke', '--yes'], { env: { ...env, DIRSYNC_ADMIN_PASSWORD: PASSWORD } });
    expect(revoke.code, revoke.stderr).toBe(0);
    expect((await new EntraProvisioningClient(server.tenantUrl, second).testConnection()).status).toBe(401);
  });

  it('explains a port in use (exit 2) and warns when there is no valid Secret Code', async () => {
    server = await startServe([], env);
    expect(server.stderr()).toContain('no valid Secret Code');
    const port = new URL(server.url).port;
    const clash = await runCli(['serve', '--port', port], { env });
    expect(clash.code).toBe(2);
    expect(clash.stderr).toContain('EADDRINUSE');
    expect(clash.stderr).toContain('--port');
  });

  it('serves HTTPS itself with --tls-cert and --tls-key', async () => {
    const { createTestCa } = await import('../support/fake-entra/ca.js');
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const https = await import('node:https');
    const ca = createTestCa(fs.mkdtempSync(path.join(os.tmpdir(), 'dirsync-serve-tls-')));
    const code = await renew();
    server = await startServe(['--tls-cert', ca.serverCertPath, '--tls-key', ca.serverKeyPath], env);
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(server.stderr()).not.toContain('Plain HTTP');
    const get = (pathname: string) =>
      new Promise<{ status: number; body: any }>((resolve, reject) => {
        const req = https.request(`${server!.url}${pathname}`, { ca: ca.caCert, headers: { Authorization: `Bearer ${code}` } }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (d) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
        });
        req.on('error', reject);
        req.end();
      });
    expect(await get('/healthz')).toEqual({ status: 200, body: { status: 'ok', database: 'ok' } });
    const list = await get('/scim/v2/Users?filter=userName+eq+%22nobody%40contoso.com%22');
    expect(list.status).toBe(200);
    expect(list.body.totalResults).toBe(0);
  });

  it('needs a configured profile (exit 3)', async () => {
    const r = await runCli(['serve', '--port', '0'], { env: baseEnv(tempConfigDir()) });
    expect(r.code).toBe(3);
  });

  it('lets a request in flight finish after SIGTERM, then exits 0', async () => {
    const code = await renew();
    server = await startServe([], env);
    const { port } = new URL(server.url);
    const body = JSON.stringify({ ...entraUser('slow'), active: true });
    const socket = net.connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let response = '';
    socket.setEncoding('utf8').on('data', (d) => (response += d));
    // The headers and half the body, then the signal, then the rest.
    socket.write(
      `POST /scim/v2/Users HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${code}\r\n` +
        `Content-Type: application/scim+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body.slice(0, 20)}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    const stopped = server.stop('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 500));
    socket.end(body.slice(20));
    await new Promise((resolve) => socket.once('close', resolve));
    expect(response).toMatch(/^HTTP\/1\.1 201 /);
    expect(await stopped).toBe(0);
    server = undefined;
  });

  it('stops cleanly on Ctrl-C with exit 0', async () => {
    server = await startServe([], env);
    expect(await server.stop('SIGINT')).toBe(0);
    server = undefined;
  });

  it('answers the filter grammar and an oversize body (a 413 the client reads) as the real process', async () => {
    const code = await renew();
    server = await startServe(['--max-body-size', '64KiB'], env);
    const scim = new EntraProvisioningClient(server.tenantUrl, code, 'legacy');
    const alice = await scim.provisionUser({ ...entraUser('alice'), department: 'Sales' });
    const bob = await scim.provisionUser(entraUser('bob'));
    const team = await scim.createGroup('Team', 'e2e-team');
    expect((await scim.addMembers(team.body.id, [bob.id])).status).toBe(204);
    const names = async (resource: string, filter: string) => {
      const res = await scim.request('GET', `/${resource}?filter=${encodeURIComponent(filter)}&sortBy=${resource === 'Users' ? 'userName' : 'displayName'}`);
      expect(res.status, res.text).toBe(200);
      return res.body.Resources.map((r: any) => r.userName ?? r.displayName);
    };
    expect(await names('Users', 'userName sw "USERA" or not (urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department pr)')).toEqual([
      'useralice@contoso.com',
      'userbob@contoso.com',
    ]);
    expect(await names('Users', 'emails[type eq "work" and value co "bob"]')).toEqual(['userbob@contoso.com']);
    expect(await names('Groups', `members[value eq "${bob.id}"] and displayName ew "AM"`)).toEqual(['Team']);
    expect(await names('Groups', `members eq "${alice.id}"`)).toEqual([]);
    const bad = await scim.request('GET', `/Users?filter=${encodeURIComponent('userName eq "x" and (')}`);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ scimType: 'invalidFilter', detail: expect.stringMatching(/at the end/) });

    // 8 MiB, sent as fast as the socket takes it: the client reads the 413.
    const big = Buffer.alloc(8 * 1024 * 1024, 'a');
    const answer = await new Promise<{ status?: number; body: string }>((resolve, reject) => {
      const req = http.request(`${server!.tenantUrl}/Users`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${code}`, 'Content-Type': 'application/scim+json', 'Content-Length': String(big.length) },
      }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode, body }));
      });
      req.on('error', reject);
      req.end(big);
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ status: '413', detail: expect.stringMatching(/larger than 65536 bytes/) });
    for (let i = 0; i < 100 && !/POST \/scim\/v2\/Users 413 /.test(server.stderr()); i++) await new Promise((r) => setTimeout(r, 20));
    expect(server.stderr()).toMatch(/POST \/scim\/v2\/Users 413 /);
  });
});
