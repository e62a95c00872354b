/**
 * kill -9 in the middle of an Entra-shaped load, then reopen: every write that was acknowledged is
 * there, nothing is half-written (member counts match the member rows), the database is intact.
 * Runs the built server (dist/, `npm test` builds first) in a child process.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { openSqliteDirectory } from '../../src/directory/sqlite.js';
import { EntraProvisioningClient, entraUser } from '../support/entra-provisioning-client.js';
import { issueCode } from '../support/scim-fixture.js';

const root = path.resolve(import.meta.dirname, '../..');
let dir: string;
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const CHILD = `
const { openSqliteDirectory } = await import(process.env.DIST + '/directory/sqlite.js');
const { startScimServer } = await import(process.env.DIST + '/scim/server.js');
const store = openSqliteDirectory(process.env.DB);
const server = await startScimServer({ store, importMode: 'new-only', host: '127.0.0.1', port: 0, log: () => {} });
process.stdout.write(server.tenantUrl + '\\n');
`;

it('loses no acknowledged write and leaves no half-written object after kill -9', async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dirsync-kill-'));
  const dbFile = path.join(dir, 'directory.db');
  const setup = openSqliteDirectory(dbFile);
  const code = await issueCode(setup, new Date());
  setup.close();

  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
    env: { ...process.env, DIST: path.join(root, 'dist'), DB: dbFile },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const tenantUrl = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (c: Buffer) => {
      text += c.toString();
      if (text.includes('\n')) resolve(text.trim());
    });
    child.on('exit', (code) => reject(new Error(`child exited ${code}`)));
  });
  const client = new EntraProvisioningClient(tenantUrl, code, 'aadOptscim062020');
  const group = (await client.createGroup('Load')).body.id as string;

  const acknowledgedUsers = new Set<string>();
  const acknowledgedMembers = new Set<string>();
  let stop = false;
  const worker = async (w: number) => {
    for (let i = 0; !stop; i++) {
      try {
        const res = await client.createUser(entraUser(`${w}-${i}`));
        if (res.status !== 201) continue;
        acknowledgedUsers.add(res.body.id);
        const add = await client.addMembers(group, [res.body.id]);
        if (add.status === 204) acknowledgedMembers.add(res.body.id);
      } catch {
        return; // the server is gone
      }
    }
  };
  const workers = Array.from({ length: 8 }, (_, w) => worker(w));
  while (acknowledgedUsers.size < 150) await new Promise((r) => setTimeout(r, 5));
  child.kill('SIGKILL');
  stop = true;
  await Promise.all(workers);
  await new Promise((r) => (child.exitCode !== null || child.signalCode ? r(null) : child.once('exit', r)));

  const store = openSqliteDirectory(dbFile);
  try {
    expect(store.db.pragma('integrity_check', { simple: true })).toBe('ok');
    for (const id of acknowledgedUsers) expect(await store.getUser(id, 'new-only'), `user ${id}`).toBeDefined();
    const members = new Set((await store.groupMembers(group)).map((m) => m.value));
    for (const id of acknowledgedMembers) expect(members.has(id), `member ${id}`).toBe(true);
    const counts = store.db
      .prepare('SELECT g.member_count AS stored, (SELECT COUNT(*) FROM group_members m WHERE m.group_id = g.id) AS actual FROM groups g')
      .all() as { stored: number; actual: number }[];
    for (const c of counts) expect(c.stored).toBe(c.actual);
    const orphans = store.db
      .prepare('SELECT COUNT(*) AS n FROM group_members m WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = m.member_id)')
      .get() as { n: number };
    expect(orphans.n).toBe(0);
    expect(acknowledgedUsers.size).toBeGreaterThanOrEqual(150);
  } finally {
    store.close();
  }
}, 60_000);
