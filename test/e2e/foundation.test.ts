import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeEach, describe, expect, it } from 'vitest';
import { baseEnv, rememberSecret, runCli, tempConfigDir } from '../support/cli.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const PASSWORD = 'correct horse battery staple';
rememberSecret(PASSWORD);
rememberSecret('ci-secret-value');

let dir: string;
let env: NodeJS.ProcessEnv;
const withPassword = (pw = PASSWORD) => ({ ...env, DIRSYNC_ADMIN_PASSWORD: pw });
const cli = (args: string[], e: NodeJS.ProcessEnv = env, input?: string) => runCli(args, { env: e, input });

async function configure(extra: string[] = []) {
  const r = await cli(['configure', '--offline', '--tenant-id', TENANT, '--public-url', 'https://dirsync.example.com', ...extra], withPassword());
  expect(r.code, r.stderr).toBe(0);
  return r;
}

async function renew(extra: string[] = []) {
  const r = await cli(['token', 'renew', '--json', ...extra], withPassword());
  expect(r.code, r.stderr).toBe(0);
  const json = r.json();
  if (json.secretCode) rememberSecret(json.secretCode);
  return json;
}

function db(): Database.Database {
  return new Database(path.join(dir, 'directory.db'));
}

beforeEach(() => {
  dir = tempConfigDir();
  env = baseEnv(dir);
});

describe('the program', () => {
  it('prints its version and help, exit 0', async () => {
    const v = await cli(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(JSON.parse(fs.readFileSync('package.json', 'utf8')).version);
    const h = await cli(['--help']);
    expect(h.code).toBe(0);
    for (const c of ['configure', 'unconfigure', 'status', 'token', 'groups']) expect(h.stdout).toContain(c);
    expect(h.stdout).toContain('Exit codes');
  });

  it('exits 2 for an unknown command or option', async () => {
    expect((await cli(['frobnicate'])).code).toBe(2);
    const r = await cli(['token', 'renew', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown option '--bogus'");
  });
});

describe('configure without a terminal', () => {
  it('names the flag of a missing tenant ID (exit 2) and writes nothing', async () => {
    const r = await cli(['configure'], withPassword());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--tenant-id');
    expect(fs.existsSync(path.join(dir, 'config.json'))).toBe(false);
  });

  it('rejects a malformed tenant ID with its shape and where to copy it from', async () => {
    const r = await cli(['configure', '--offline', '--tenant-id', 'contoso'], withPassword());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"contoso" is not a tenant ID');
    expect(r.stderr).toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/);
    expect(r.stderr).toContain('Tenant properties');
  });

  it('rejects a malformed client ID, public URL, import mode or cloud (exit 2)', async () => {
    const base = ['configure', '--offline', '--tenant-id', TENANT];
    const cases: [string[], RegExp][] = [
      [['--client-id', 'my-app'], /not a client ID/],
      [['--public-url', 'not a url'], /not a URL/],
      [['--public-url', 'ftp://x.example.com'], /http\(s\) URL/],
      [['--import-mode', 'all'], /new-only or sync-existing/],
      [['--cloud', 'mars'], /--cloud must be one of global, usgov-high, usgov-dod, china/],
      [['--gcc-high', '--cloud', 'china'], /--gcc-high means --cloud usgov-high/],
    ];
    for (const [args, message] of cases) {
      const r = await cli([...base, ...args], withPassword());
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    expect(fs.existsSync(path.join(dir, 'config.json'))).toBe(false);
  });

  it('needs the new admin password by stdin or environment, of at least 12 characters', async () => {
    const none = await cli(['configure', '--offline', '--tenant-id', TENANT]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--password-stdin');
    expect(none.stderr).toContain('DIRSYNC_ADMIN_PASSWORD');
    const short = await cli(['configure', '--offline', '--tenant-id', TENANT], withPassword('too-short'));
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('at least 12 characters');
    expect(fs.existsSync(path.join(dir, 'config.json'))).toBe(false);
    const piped = await cli(['configure', '--offline', '--tenant-id', TENANT, '--password-stdin'], env, `${PASSWORD}\n`);
    expect(piped.code, piped.stderr).toBe(0);
  });

  it('stores the tenant lower-case, 0600 in a 0700 dir, and prints one JSON document', async () => {
    const r = await cli(
      ['configure', '--offline', '--tenant-id', TENANT.toUpperCase(), '--gcc-high', '--import-mode', 'sync-existing', '--json', '--no-consent', '--offline'],
      withPassword(),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({
      profile: 'default',
      changed: true,
      tenantId: TENANT,
      cloud: 'usgov-high',
      importMode: 'sync-existing',
      clientId: null,
      tenantUrl: 'http://localhost:8080/scim/v2',
      nextStep: 'dirsync consent',
    });
    expect(r.stderr).toContain('dirsync consent');
    const file = path.join(dir, 'config.json');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    const stored = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(stored.schemaVersion).toBe(1);
    expect(stored.profiles.default.tenant).toMatchObject({ tenantId: TENANT, cloud: 'usgov-high' });
    expect(JSON.stringify(stored)).not.toContain(PASSWORD);
  });

  it('defaults to new-only (the portal\'s "No") and the global cloud', async () => {
    const r = await cli(['configure', '--offline', '--tenant-id', TENANT, '--json'], withPassword());
    expect(r.json()).toMatchObject({ importMode: 'new-only', cloud: 'global' });
  });

  it('keeps profiles apart', async () => {
    await configure();
    const other = '11111111-2222-3333-4444-555555555555';
    const r = await cli(['configure', '--offline', '--profile', 'Fabrikam', '--tenant-id', other, '--json'], withPassword());
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().profile).toBe('fabrikam');
    expect((await cli(['status', '--json'])).json().tenantId).toBe(TENANT);
    expect((await cli(['status', '--json'], { ...env, DIRSYNC_PROFILE: 'fabrikam' })).json().tenantId).toBe(other);
    expect((await cli(['status', '--profile', 'bad name!'])).code).toBe(2);
  });
});

describe('re-running configure', () => {
  it('changes nothing without a password when nothing differs', async () => {
    await configure();
    const r = await cli(['configure', '--offline', '--tenant-id', TENANT, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ changed: false, changes: [] });
    expect(r.stderr).toContain('nothing changed');
  });

  it('shows what will change and needs the security check', async () => {
    await configure();
    const other = '11111111-2222-3333-4444-555555555555';
    const noPw = await cli(['configure', '--offline', '--tenant-id', other]);
    expect(noPw.code).toBe(2);
    expect(noPw.stderr).toContain(`tenant ID: ${TENANT} → ${other}`);
    const wrong = await cli(['configure', '--offline', '--tenant-id', other], withPassword('wrong password!!'));
    expect(wrong.code).toBe(5);
    expect(wrong.stderr).toContain('Wrong admin password. 4 attempts left');
    expect((await cli(['status', '--json'])).json().tenantId).toBe(TENANT);
    const ok = await cli(['configure', '--offline', '--tenant-id', other, '--import-mode', 'sync-existing', '--json'], withPassword());
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.json().changes).toEqual([
      { field: 'tenant ID', from: TENANT, to: other },
      { field: 'import mode', from: 'new-only', to: 'sync-existing' },
    ]);
    expect((await cli(['status', '--json'])).json()).toMatchObject({ tenantId: other, importMode: 'sync-existing' });
  });
});

describe('the security check', () => {
  it('locks for 15 minutes after 5 wrong passwords, persisted across processes (exit 5)', async () => {
    await configure();
    for (let i = 4; i >= 1; i--) {
      const r = await cli(['token', 'renew'], withPassword('not the password'));
      expect(r.code).toBe(5);
      expect(r.stderr).toContain(`${i} attempt${i === 1 ? '' : 's'} left`);
    }
    const fifth = await cli(['token', 'renew'], withPassword('not the password'));
    expect(fifth.code).toBe(5);
    expect(fifth.stderr).toMatch(/now locked until \d{1,2}:\d{2} [AP]M on [A-Z][a-z]{2} \d{1,2}, \d{4}/);
    const right = await cli(['token', 'renew'], withPassword());
    expect(right.code).toBe(5);
    expect(right.stderr).toContain('locked after 5 wrong passwords');
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).profiles.default.security.failedAttempts).toBe(5);
  });
});

describe('token renew', () => {
  it('needs a configured profile (exit 3)', async () => {
    const r = await cli(['token', 'renew'], withPassword());
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('dirsync configure');
  });

  it('issues a code once, keeps only its hash, and shows the expiry as MMM d, yyyy', async () => {
    await configure();
    const j = await renew();
    expect(j).toMatchObject({ renewed: true, tenantUrl: 'https://dirsync.example.com/scim/v2' });
    expect(j.secretCode).toMatch(/^dsync_[0-9A-Za-z]{49}$/);
    expect(j.expiresOn).toMatch(/^[A-Z][a-z]{2} \d{1,2}, \d{4}$/);
    const created = new Date(j.createdAt);
    const expires = new Date(j.expiresAt);
    expect(expires.getUTCMonth()).toBe((created.getUTCMonth() + 6) % 12);
    expect([181, 182, 183, 184]).toContain(j.daysLeft);
    expect(j.fingerprint).toBe(`dsync_…${j.secretCode.slice(-4)}`);
    const raw = fs.readFileSync(path.join(dir, 'directory.db'));
    expect(raw.includes(Buffer.from(j.secretCode))).toBe(false);
    expect(fs.statSync(path.join(dir, 'directory.db')).mode & 0o777).toBe(0o600);

    const human = await cli(['token', 'renew'], withPassword());
    expect(human.code).toBe(0);
    const code = human.stdout.match(/dsync_[0-9A-Za-z]{49}/)![0];
    rememberSecret(code);
    expect(human.stdout).toMatch(/Expires:\s+[A-Z][a-z]{2} \d{1,2}, \d{4} \(in 18\d days\)/);
    expect(human.stderr).toContain('only time the Secret Code is shown');
    expect(human.stderr).not.toContain(code);
  });

  it('keeps the previous code valid for the grace period, or revokes it with --grace 0', async () => {
    await configure();
    await renew();
    await renew(['--grace', '2h']);
    let rows = db().prepare('SELECT created_at, superseded_at, grace_until, revoked_at FROM secret_codes ORDER BY id').all() as any[];
    expect(rows).toHaveLength(2);
    expect(Date.parse(rows[0].grace_until) - Date.parse(rows[0].superseded_at)).toBe(2 * 3_600_000);
    expect(rows[0].revoked_at).toBeNull();
    expect(rows[1].superseded_at).toBeNull();
    await renew(['--grace', '0']);
    rows = db().prepare('SELECT revoked_at, superseded_at FROM secret_codes ORDER BY id').all() as any[];
    expect(rows.map((r) => r.revoked_at === null)).toEqual([false, false, true]);
    expect(rows.map((r) => r.superseded_at === null)).toEqual([false, false, true]);
    const bad = await cli(['token', 'renew', '--grace', 'soon'], withPassword());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--grace takes a duration');
  });

  it('--if-expiring-within renews only when needed and is safe to run every hour', async () => {
    await configure();
    const first = await renew(['--if-expiring-within', '30d']);
    expect(first.renewed).toBe(true);
    // Not due: no password needed, nothing renewed, no secret printed.
    const again = await cli(['token', 'renew', '--if-expiring-within', '30d', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json()).toMatchObject({ renewed: false, fingerprint: first.fingerprint, expiresOn: first.expiresOn });
    expect(again.stdout).not.toMatch(/dsync_[0-9A-Za-z]{49}/);
    expect((db().prepare('SELECT COUNT(*) AS n FROM secret_codes').get() as any).n).toBe(1);
    // Due inside a window longer than six months.
    const due = await renew(['--if-expiring-within', '200d']);
    expect(due.renewed).toBe(true);
    expect(due.secretCode).not.toBe(first.secretCode);
  });

  it('two renewals started at the same moment leave exactly one current code and an intact store', async () => {
    await configure();
    const results = await Promise.all([1, 2, 3].map(() => cli(['token', 'renew', '--json'], withPassword())));
    for (const r of results) {
      expect(r.code, r.stderr).toBe(0);
      rememberSecret(r.json().secretCode);
    }
    const d = db();
    expect(d.pragma('integrity_check', { simple: true })).toBe('ok');
    const current = d.prepare('SELECT fingerprint FROM secret_codes WHERE superseded_at IS NULL AND revoked_at IS NULL').all();
    expect(current).toHaveLength(1);
    expect((d.prepare('SELECT COUNT(*) AS n FROM secret_codes').get() as any).n).toBe(3);
    const status = await cli(['token', 'status', '--json']);
    expect(results.map((r) => r.json().fingerprint)).toContain(status.json().fingerprint);
    // The cron form, raced: only one of them renews.
    d.prepare("UPDATE secret_codes SET expires_at = '2000-01-01T00:00:00.000Z'").run();
    const raced = await Promise.all([1, 2, 3].map(() => cli(['token', 'renew', '--json', '--if-expiring-within', '30d'], withPassword())));
    const renewed = raced.map((r) => r.json()).filter((j) => j.renewed);
    renewed.forEach((j) => rememberSecret(j.secretCode));
    expect(renewed).toHaveLength(1);
  });
});

describe('token status', () => {
  it('exits 0 ok, 10 expiring, 11 expired / revoked / none — with the same fields in JSON', async () => {
    await configure();
    const none = await cli(['token', 'status', '--json']);
    expect(none.code).toBe(11);
    expect(none.json()).toMatchObject({ state: 'none', reason: 'never-issued', fingerprint: null });
    const j = await renew();
    const ok = await cli(['token', 'status', '--json']);
    expect(ok.code).toBe(0);
    expect(ok.json()).toEqual({
      tenantUrl: 'https://dirsync.example.com/scim/v2',
      state: 'ok',
      fingerprint: j.fingerprint,
      createdAt: j.createdAt,
      expiresAt: j.expiresAt,
      expiresOn: j.expiresOn,
      daysLeft: j.daysLeft,
      lastUsedAt: null,
    });
    expect(JSON.stringify(ok.json())).not.toContain(j.secretCode);
    const show = await cli(['token', 'show', '--warn-within', '200d']);
    expect(show.code).toBe(10);
    expect(show.stdout).toContain('expiring');
    expect(show.stderr).toContain('quarantined');
    db().prepare("UPDATE secret_codes SET expires_at = '2026-01-02T00:00:00.000Z'").run();
    const expired = await cli(['token', 'status']);
    expect(expired.code).toBe(11);
    expect(expired.stdout).toContain('Jan 2, 2026');
    expect(expired.stderr).toContain('quarantined');
    expect(expired.stderr).toContain('dirsync token renew');
  });

  it('colours the state only on a terminal or when forced, never with --no-color', async () => {
    await configure();
    await renew();
    const plain = await cli(['token', 'status', '--warn-within', '200d']);
    expect(plain.stdout).not.toContain('\u001b[');
    const forced = await cli(['token', 'status', '--warn-within', '200d'], { ...env, FORCE_COLOR: '1' });
    expect(forced.stdout).toContain('\u001b[33mexpiring');
    const off = await cli(['token', 'status', '--no-color'], { ...env, FORCE_COLOR: '1' });
    expect(off.stdout + off.stderr).not.toContain('\u001b[');
    const noColor = await cli(['token', 'status'], { ...env, FORCE_COLOR: '1', NO_COLOR: '1' });
    expect(noColor.stdout + noColor.stderr).not.toContain('\u001b[');
  });
});

describe('token revoke', () => {
  it('needs the security check and a confirmation, then revokes every code', async () => {
    await configure();
    await renew();
    await renew();
    const noYes = await cli(['token', 'revoke'], withPassword());
    expect(noYes.code).toBe(2);
    expect(noYes.stderr).toContain('--yes');
    expect((await cli(['token', 'status'])).code).toBe(0);
    const r = await cli(['token', 'revoke', '--yes', '--json'], withPassword());
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toEqual({ revoked: 2 });
    expect(r.stderr).toContain('quarantined');
    const st = await cli(['token', 'status', '--json']);
    expect(st.code).toBe(11);
    expect(st.json()).toMatchObject({ state: 'none', reason: 'revoked' });
  });
});

describe('unconfigure', () => {
  it('needs the security check and --yes without a terminal, then explains what it means', async () => {
    await configure();
    await renew();
    const noYes = await cli(['unconfigure'], withPassword());
    expect(noYes.code).toBe(2);
    expect((await cli(['status'])).code).toBe(0);
    const wrong = await cli(['unconfigure', '--yes'], withPassword('wrong password!!'));
    expect(wrong.code).toBe(5);
    fs.writeFileSync(path.join(dir, 'msal-cache.json'), '{}');
    const r = await cli(['unconfigure', '--yes'], withPassword());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('can no longer be added');
    expect(r.stderr).toContain('Disable the user provisioning application');
    expect(r.stderr).toContain('stay active until they are deactivated');
    expect(r.stderr).toContain('dirsync token revoke');
    expect(fs.existsSync(path.join(dir, 'msal-cache.json'))).toBe(false);
    const status = await cli(['status']);
    expect(status.code).toBe(3);
    // The Secret Code and directory are kept: provisioning keeps working until disabled in Entra.
    expect((await cli(['token', 'status'])).code).toBe(0);
    expect((await cli(['unconfigure', '--yes'], withPassword())).code).toBe(3);
    // Configuring again needs the same admin password.
    const again = await cli(['configure', '--offline', '--tenant-id', TENANT], withPassword('a different password'));
    expect(again.code).toBe(5);
  });
});

describe('status', () => {
  it('exits 3 when the profile is not configured', async () => {
    const r = await cli(['status', '--json']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(JSON.parse(r.stderr).error).toMatchObject({ code: 'not_configured', exitCode: 3 });
  });

  it('shows everything on one screen and in JSON', async () => {
    await configure(['--client-id', '1950A258-227B-4E31-A9CF-717495945FC2']);
    await renew();
    const r = await cli(['status', '--json']);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({
      profile: 'default',
      configDir: dir,
      tenantId: TENANT,
      cloud: 'global',
      importMode: 'new-only',
      clientId: '1950a258-227b-4e31-a9cf-717495945fc2',
      consent: { state: 'not-granted' },
      tenantUrl: 'https://dirsync.example.com/scim/v2',
      secretCode: { state: 'ok' },
      directory: { users: 0, activeUsers: 0, groups: 0 },
    });
    const human = await cli(['status']);
    for (const label of ['Profile', 'Config dir', 'Tenant ID', 'Cloud', 'Import mode', 'Client ID', 'Consent', 'Graph sign-in', 'Tenant URL', 'Secret Code', 'Directory']) {
      expect(human.stdout).toContain(`${label}:`);
    }
    expect(r.json().graphCredential).toEqual({ source: 'sign-in cache', present: false });
    // Like gh: when the environment overrides the stored sign-in, status says so.
    const ci = await cli(['status', '--json'], { ...env, AZURE_CLIENT_ID: '1950a258-227b-4e31-a9cf-717495945fc2', AZURE_CLIENT_SECRET: 'ci-secret-value' });
    expect(ci.json().graphCredential).toEqual({ source: 'environment', variable: 'AZURE_CLIENT_SECRET', clientId: '1950a258-227b-4e31-a9cf-717495945fc2' });
    expect(ci.stdout).not.toContain('ci-secret-value');
  });
});

describe('groups list', () => {
  it('says where groups come from when there are none', async () => {
    await configure();
    const r = await cli(['groups', 'list', '--json']);
    expect(r.code).toBe(0);
    expect(r.json()).toEqual([]);
    expect(r.stderr).toContain('dirsync serve');
  });

  it('lists name, GUID, updated by, members and updated date', async () => {
    await configure();
    await renew();
    const d = db();
    const insert = d.prepare(
      `INSERT INTO groups (id, display_name, display_name_lc, external_id, source, member_count, data, created_at, updated_at)
       VALUES (?, ?, lower(?), ?, ?, ?, '{}', ?, ?)`,
    );
    insert.run('g1', 'Sales', 'Sales', 'b6ae3d4e-0c6f-4a0e-9bd7-5d1b0b8f0a11', 'entra', 3, '2026-10-05T10:00:00Z', '2026-10-05T10:00:00Z');
    insert.run('g2', 'Admins', 'Admins', null, 'admin', 0, '2026-01-01T10:00:00Z', '2026-01-01T10:00:00Z');
    d.close();
    const j = await cli(['groups', 'list', '--json']);
    expect(j.json()).toEqual([
      { name: 'Admins', id: 'g2', updatedBy: 'Administrator', members: 0, updatedAt: '2026-01-01T10:00:00Z' },
      { name: 'Sales', id: 'b6ae3d4e-0c6f-4a0e-9bd7-5d1b0b8f0a11', updatedBy: 'Microsoft Entra ID', members: 3, updatedAt: '2026-10-05T10:00:00Z' },
    ]);
    const tsv = await cli(['groups', 'list', '--filter', 'sal']);
    expect(tsv.stdout).toBe('Sales\tb6ae3d4e-0c6f-4a0e-9bd7-5d1b0b8f0a11\tMicrosoft Entra ID\t3\tOct 5, 2026\n');
  });
});

describe('--debug', () => {
  it('shows files and decisions for support engineers, never the password or the Secret Code', async () => {
    const c = await cli(['configure', '--offline', '--tenant-id', TENANT, '--debug'], withPassword());
    expect(c.code, c.stderr).toBe(0);
    expect(c.stderr).toContain('[debug');
    expect(c.stderr).toContain(path.join(dir, 'config.json'));
    const r = await cli(['token', 'renew', '--json', '--debug'], withPassword());
    expect(r.code, r.stderr).toBe(0);
    const code = r.json().secretCode;
    rememberSecret(code);
    expect(r.stderr).toContain('security check: passed');
    expect(r.stderr).toContain(path.join(dir, 'directory.db'));
    expect(r.stderr).not.toContain(code);
    expect(r.stderr).not.toContain(PASSWORD);
    const wrong = await cli(['token', 'revoke', '--yes', '--debug'], withPassword('a wrong password'));
    expect(wrong.code).toBe(5);
    expect(wrong.stderr).not.toContain('a wrong password');
  });

  it('puts the stack of an unexpected error behind --debug only', async () => {
    await configure();
    // A directory in place of the database file: an unexpected failure, not one of ours.
    for (const f of fs.readdirSync(dir)) if (f.startsWith('directory.db')) fs.rmSync(path.join(dir, f));
    fs.mkdirSync(path.join(dir, 'directory.db'));
    const plain = await cli(['token', 'status']);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain('EISDIR');
    expect(plain.stderr).toContain('--debug');
    expect(plain.stderr).not.toMatch(/\n\s+at /);
    const debug = await cli(['token', 'status', '--debug']);
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/\n.*\s+at .*sqlite/);
  });
});

describe('state that cannot be read', () => {
  it('a corrupt config is never reset: exit 1 names the file and how to recover', async () => {
    await configure();
    const file = path.join(dir, 'config.json');
    fs.writeFileSync(file, '{"schemaVersion": 1, "profiles": {', { mode: 0o600 });
    for (const args of [['status'], ['token', 'renew'], ['configure', '--offline', '--tenant-id', TENANT]]) {
      const r = await cli(args, withPassword());
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toContain(file);
      expect(r.stderr).toContain('.broken');
      expect(fs.readFileSync(file, 'utf8')).toBe('{"schemaVersion": 1, "profiles": {');
    }
  });

  it('a database that is not SQLite is never overwritten', async () => {
    await configure();
    const file = path.join(dir, 'directory.db');
    fs.writeFileSync(file, 'this is not a database, it is a text file of some length '.repeat(20));
    const before = fs.readFileSync(file);
    const r = await cli(['token', 'status']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(file);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });

  it('concurrent dirsync processes never lose an update to the config', async () => {
    const profiles = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6'];
    const results = await Promise.all(
      profiles.map((p, i) =>
        cli(['configure', '--offline', '--profile', p, '--tenant-id', `00000000-0000-0000-0000-00000000000${i}`, '--no-consent'], withPassword()),
      ),
    );
    results.forEach((r) => expect(r.code, r.stderr).toBe(0));
    const stored = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(Object.keys(stored.profiles).sort()).toEqual(profiles);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp') || f.endsWith('.lock'))).toEqual([]);
  });
});
