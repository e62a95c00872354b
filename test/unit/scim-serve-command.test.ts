import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createContext, type Context } from '../../src/cli/context.js';
import { ConfigStore } from '../../src/config/store.js';
import { statePaths } from '../../src/config/paths.js';
import { openSqliteDirectory } from '../../src/directory/sqlite.js';
import { EntraProvisioningClient, entraUser } from '../support/entra-provisioning-client.js';
import { issueCode } from '../support/scim-fixture.js';
import { Sink } from '../support/sink.js';
import { hashPassword } from '../../src/security/password.js';

let dir: string;
let abort: AbortController;
const PASSWORD = 'serve command admin password';
const make = (globals: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}) => {
  const stdout = new Sink();
  const stderr = new Sink();
  const ctx = createContext({ configDir: dir, ...globals }, {
    stdin: new PassThrough(),
    stdout,
    stderr,
    env,
    signal: abort.signal,
  });
  return { ctx, stdout, stderr };
};

let passwordHash: string;
beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dirsync-serve-'));
  abort = new AbortController();
  passwordHash ??= await hashPassword(PASSWORD);
  new ConfigStore(path.join(dir, 'config.json')).updateProfile('default', (p) => ({
    ...p,
    provisioning: { importMode: 'sync-existing' },
    security: { passwordHash, setAt: new Date().toISOString(), failedAttempts: 0 },
  }));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

async function waitFor(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

describe('dirsync serve / users list / directory import (command modules)', () => {
  it('serves until aborted, prints the Tenant URL, logs requests, then closes cleanly', async () => {
    const db = openSqliteDirectory(statePaths(dir, 'default').directoryDb);
    const code = await issueCode(db, new Date());
    db.close();
    const { ctx, stdout, stderr } = make({ json: true });
    const { run } = await import('../../src/cli/serve.js');
    const running = run({ host: '127.0.0.1', port: '0' }, ctx as Context);
    await waitFor(() => stdout.text.includes('tenantUrl'), 'the start-up JSON');
    const started = JSON.parse(stdout.text);
    expect(started).toMatchObject({ host: '127.0.0.1', tls: false, importMode: 'sync-existing' });
    expect(started.tenantUrl).toBe(`http://127.0.0.1:${started.port}/scim/v2`);
    expect(stderr.text).toMatch(/Entra requires an HTTPS Tenant URL/);

    const client = new EntraProvisioningClient(started.tenantUrl, code, 'aadOptscim062020');
    expect((await client.testConnection()).status).toBe(200);
    expect((await client.createUser(entraUser('cmd'))).status).toBe(201);
    await waitFor(() => / POST \/scim\/v2\/Users 201 /.test(stderr.text), 'the request log line');
    expect(stderr.text).not.toContain(code);

    abort.abort();
    expect(await running).toBe(0);
    expect(stderr.text).toMatch(/Stopped/);
    await expect(client.testConnection()).rejects.toThrow();
  });

  it('refuses half a TLS pair and a bad port as usage errors', async () => {
    const { run } = await import('../../src/cli/serve.js');
    await expect(run({ tlsCert: 'x.pem' }, make().ctx)).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/go together/) });
    await expect(run({ port: '99999' }, make().ctx)).rejects.toMatchObject({ exitCode: 2 });
  });

  it('imports a CSV as Administrator after the security check, and lists the users', async () => {
    const file = path.join(dir, 'people.csv');
    fs.writeFileSync(file, 'type,name,displayName,members\nuser,ann@contoso.com,Ann,\ngroup,Sales,,ann@contoso.com\n');
    const { importCsv } = await import('../../src/cli/directory.js');
    const { list } = await import('../../src/cli/users.js');

    // No password where none can be asked: exit 2, nothing imported.
    await expect(importCsv({ file }, make({ json: true }).ctx)).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/admin password/) });
    // A wrong one: exit 5, nothing imported.
    await expect(importCsv({ file }, make({ json: true }, { DIRSYNC_ADMIN_PASSWORD: 'wrong password!!' }).ctx)).rejects.toMatchObject({ exitCode: 5 });
    const none = make({ json: true });
    await list({}, none.ctx);
    expect(JSON.parse(none.stdout.text)).toEqual([]);

    const imported = make({ json: true }, { DIRSYNC_ADMIN_PASSWORD: PASSWORD });
    expect(await importCsv({ file }, imported.ctx)).toBe(0);
    expect(JSON.parse(imported.stdout.text)).toMatchObject({ users: 1, groups: 1, memberships: 1, skipped: [] });

    const again = make({ json: true }, { DIRSYNC_ADMIN_PASSWORD: PASSWORD });
    await importCsv({ file }, again.ctx);
    expect(JSON.parse(again.stdout.text).skipped).toHaveLength(2);

    const listed = make({ json: true });
    expect(await list({}, listed.ctx)).toBe(0);
    expect(JSON.parse(listed.stdout.text)).toEqual([
      expect.objectContaining({ userName: 'ann@contoso.com', displayName: 'Ann', active: true, updatedBy: 'Administrator' }),
    ]);
    const table = make();
    await list({}, table.ctx);
    expect(table.stdout.text).toMatch(/^ann@contoso\.com\tAnn\t[0-9a-f-]{36}\tactive\tAdministrator\t\w{3} \d{1,2}, \d{4}\n$/);
  });
});
