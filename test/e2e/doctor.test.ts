import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { baseEnv, record, rememberSecret, ROOT, runCli, tempConfigDir } from '../support/cli.js';
import { DEFAULT_APP, defaultKnobs, startFakeEntra, TENANTS, type FakeEntra, type FakeSyncJob } from '../support/fake-entra/index.js';

// `dirsync doctor` end to end: a healthy profile built once (configure, consent in the fake browser,
// a Secret Code, a linked provisioning job), copied for each test, then exactly one fault injected —
// in the fake Entra, the environment, the network or the profile — and doctor must name that cause.

const PASSWORD = 'doctor e2e admin password';
rememberSecret(PASSWORD);
rememberSecret(DEFAULT_APP.secret);
const BROWSER = path.join(ROOT, 'test', 'support', 'fake-browser.sh');
const CI_APP = 'c4c4c4c4-0000-4000-8000-00000000c4c4';
const READ_ONLY_APP = 'c5c5c5c5-0000-4000-8000-00000000c5c5';

let fake: FakeEntra;
let template: string;
let dir: string;
let job: FakeSyncJob;
let jobStatus: string;
let code: string;
const servers: net.Server[] = [];

const env = (extra: NodeJS.ProcessEnv = {}, cloud: 'global' | 'usgov' = 'global') =>
  baseEnv(dir, { ...fake.env(cloud), DIRSYNC_ADMIN_PASSWORD: PASSWORD, BROWSER, ...extra });
const cli = (args: string[], extra: NodeJS.ProcessEnv = {}, cloud: 'global' | 'usgov' = 'global') =>
  runCli(args, { env: env(extra, cloud), timeoutMs: 60_000 });

interface Check {
  id: string;
  status: 'pass' | 'warn' | 'fail' | 'skip';
  cause: string | null;
  summary: string;
  fix: string | null;
}

/** Runs `doctor --json`; returns the checks and the causes named by checks that do not pass. */
async function doctor(extra: NodeJS.ProcessEnv = {}, cloud: 'global' | 'usgov' = 'global', args: string[] = []) {
  const r = await cli(['doctor', '--json', ...args], extra, cloud);
  const out = r.json() as { ok: boolean; checks: Check[] };
  const problems = out.checks.filter((c) => c.status === 'fail' || c.status === 'warn');
  return { r, out, causes: [...new Set(problems.map((c) => c.cause))], check: (id: string) => out.checks.find((c) => c.id === id)! };
}

/** The one fault's check: named cause, a fix, and no other cause anywhere. */
async function expectOnly(cause: string, extra: NodeJS.ProcessEnv = {}, cloud: 'global' | 'usgov' = 'global') {
  const d = await doctor(extra, cloud);
  expect(d.causes, JSON.stringify(d.out.checks, null, 1)).toEqual([cause]);
  for (const c of d.out.checks.filter((x) => x.cause === cause)) expect(c.fix).toBeTruthy();
  return d;
}

const config = () => JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
function editProfile(change: (p: any) => void): void {
  const c = config();
  change(c.profiles.default);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(c, null, 2));
}
const db = () => new Database(path.join(dir, 'directory.db'));

/** A TCP port nothing listens on. */
const closedPort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });

/** A server that accepts connections and never answers (a black-holed network path). */
async function silentServer(): Promise<number> {
  const sockets: net.Socket[] = [];
  const s = net.createServer((socket) => sockets.push(socket));
  s.on('close', () => sockets.forEach((x) => x.destroy()));
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return (s.address() as net.AddressInfo).port;
}

beforeAll(async () => {
  fake = await startFakeEntra({ caDir: fs.mkdtempSync(path.join(os.tmpdir(), 'dirsync-doctor-ca-')) });
  fake.addApp({ clientId: CI_APP, displayName: 'dirsync CI', secrets: [{ value: DEFAULT_APP.secret }], permissions: ['Group.Read.All', 'Application.Read.All', 'Synchronization.ReadWrite.All'] });
  fake.addApp({ clientId: READ_ONLY_APP, displayName: 'dirsync CI (groups only)', secrets: [{ value: DEFAULT_APP.secret }], permissions: ['Group.Read.All'] });
  // The healthy profile: configured, consented (cached sign-in), a Secret Code, a linked job.
  template = dir = tempConfigDir('dirsync-doctor-template-');
  const c = await cli(['configure', '--tenant-id', TENANTS.contoso.id, '--client-id', DEFAULT_APP.clientId, '--public-url', 'https://dirsync.contoso.example', '--no-consent', '--offline']);
  expect(c.code, c.stderr).toBe(0);
  const consent = await cli(['consent']);
  expect(consent.code, consent.stderr).toBe(0);
  const renew = await cli(['token', 'renew', '--json']);
  expect(renew.code, renew.stderr).toBe(0);
  code = renew.json().secretCode;
  rememberSecret(code);
  const sp = fake.sync.addProvisioningApp({ tenantId: TENANTS.contoso.id, displayName: 'MaaS Directory Sync', baseAddress: 'https://dirsync.contoso.example/scim/v2', secretToken: code });
  job = sp.jobs[0]!;
  jobStatus = JSON.stringify(job.status);
  const link = await cli(['provisioning', 'link']);
  expect(link.code, link.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  for (const s of servers) s.close();
  await fake?.close();
});

beforeEach(() => {
  dir = tempConfigDir('dirsync-doctor-');
  fs.cpSync(template, dir, { recursive: true });
  Object.assign(fake.knobs, defaultKnobs());
  fake.requests.length = 0;
  fake.consents.length = 0;
  job.status = JSON.parse(jobStatus);
  job.schedule.state = 'Active';
});

describe('dirsync doctor: a healthy profile', () => {
  it('passes every check and exits 0; the human form shows one line per check', async () => {
    const d = await doctor();
    expect(d.r.code, d.r.stderr).toBe(0);
    expect(d.out.ok).toBe(true);
    expect(d.out.checks.map((c) => c.id)).toEqual([
      'config', 'login-host', 'graph-host', 'clock', 'tenant', 'app-registration', 'last-failure', 'app-credential', 'signin', 'graph', 'provisioning-job', 'secret-code',
    ]);
    expect(d.out.checks.filter((c) => c.status !== 'pass').map((c) => `${c.id}:${c.status}`)).toEqual(['app-credential:skip']);
    expect(d.out.checks.every((c) => c.cause === null && c.fix === null)).toBe(true);
    expect(d.check('signin').summary).toMatch(/admin@contoso\.onmicrosoft\.com refreshes silently/);
    expect(d.check('provisioning-job').summary).toMatch(/"MaaS Directory Sync" is Active/);
    const human = await cli(['doctor']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/✓ tenant\s+Tenant 3f5a6c2e-.* exists in Global/);
    expect(human.stderr).toMatch(/Every check passed/);
    // Nobody signed in and nothing was consented: no admin consent page, no code redeemed.
    expect(fake.requests.filter((q) => q.path.endsWith('/adminconsent') || q.form?.grant_type === 'authorization_code')).toEqual([]);
    expect(fake.consents).toEqual([]);
  });

  it('an unconfigured profile: the config check fails (not-configured, exit 1), the rest are skipped', async () => {
    dir = tempConfigDir('dirsync-doctor-empty-');
    fake.requests.length = 0;
    const d = await expectOnly('not-configured');
    expect(d.r.code).toBe(1);
    expect(d.out.ok).toBe(false);
    expect(d.check('config')).toMatchObject({ status: 'fail', fix: expect.stringMatching(/dirsync configure --tenant-id/) });
    expect(d.out.checks.slice(1).every((c) => c.status === 'skip')).toBe(true);
    expect(fake.requests).toEqual([]);
  });
});

describe('dirsync doctor: one fault, one cause', () => {
  it('tenant-not-found: the Tenant ID does not exist', async () => {
    editProfile((p) => (p.tenant.tenantId = TENANTS.unknownId));
    const d = await expectOnly('tenant-not-found');
    expect(d.r.code).toBe(1);
    expect(d.check('tenant').summary).toMatch(/was not found/);
    expect(d.check('signin').status).toBe('skip');
  });

  it('wrong-cloud: a global tenant configured as GCC High', async () => {
    editProfile((p) => (p.tenant.cloud = 'usgov-high'));
    const d = await expectOnly('wrong-cloud', {}, 'usgov');
    expect(d.check('tenant').fix).toMatch(/--cloud global/);
  });

  it('login-unreachable: nothing answers at the sign-in host; the fix names HTTPS_PROXY', async () => {
    const d = await expectOnly('login-unreachable', { DIRSYNC_LOGIN_ENDPOINT: `https://127.0.0.1:${await closedPort()}` });
    expect(d.check('login-host').summary).toMatch(/refused/);
    expect(d.check('login-host').fix).toMatch(/HTTPS_PROXY/);
    expect(d.check('graph-host').status).toBe('pass');
    expect(d.check('secret-code').status).toBe('pass');
  });

  it('proxy-unreachable: HTTPS_PROXY names a proxy that is not running', async () => {
    const port = await closedPort();
    const d = await expectOnly('proxy-unreachable', { HTTPS_PROXY: `http://127.0.0.1:${port}` });
    expect(d.check('login-host').summary).toContain(`http://127.0.0.1:${port}`);
    expect(d.check('login-host').fix).toMatch(/HTTPS_PROXY/);
  });

  it('tls-untrusted: the sign-in host presents a certificate from another CA, whose issuer is named', async () => {
    const pki = fs.mkdtempSync(path.join(os.tmpdir(), 'dirsync-doctor-mitm-'));
    const ossl = (args: string[]) => execFileSync('openssl', args, { cwd: pki, stdio: ['ignore', 'ignore', 'pipe'] });
    ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=Contoso TLS Inspection CA/O=Contoso Networks']);
    ossl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=127.0.0.1']);
    fs.writeFileSync(path.join(pki, 'san.cnf'), 'subjectAltName = IP:127.0.0.1\n');
    ossl(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'leaf.crt', '-days', '2', '-extfile', 'san.cnf']);
    const server = https.createServer({ cert: fs.readFileSync(path.join(pki, 'leaf.crt')), key: fs.readFileSync(path.join(pki, 'leaf.key')) }, (_q, res) => res.end('intercepted'));
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const d = await expectOnly('tls-untrusted', { DIRSYNC_LOGIN_ENDPOINT: `https://127.0.0.1:${(server.address() as net.AddressInfo).port}` });
    expect(d.check('login-host').summary).toMatch(/issued by "CN=Contoso TLS Inspection CA, O=Contoso Networks"/);
    expect(d.check('login-host').fix).toMatch(/NODE_EXTRA_CA_CERTS/);
  });

  it('clock-skew: the sign-in host\'s Date is 10 minutes off (2 minutes is fine)', async () => {
    fake.knobs.dateOffsetSeconds = -600;
    const d = await expectOnly('clock-skew');
    expect(d.check('clock').summary).toMatch(/about 10 minutes ahead of/);
    expect(d.check('clock').fix).toMatch(/NTP/);
    fake.knobs.dateOffsetSeconds = 120;
    const ok = await doctor();
    expect(ok.check('clock').status).toBe('pass');
    expect(ok.r.code).toBe(0);
  });

  for (const [outcome, cause, aadsts] of [
    ['decline', 'consent-declined', 65004],
    ['admin_lacks_role', 'admin-lacks-role', 90094],
    ['conditional_access', 'conditional-access', 53003],
  ] as const) {
    it(`${cause}: consent records AADSTS${aadsts} with its IDs; doctor reports it with its time; the next success clears it`, async () => {
      fake.knobs.outcome = outcome;
      const consent = await cli(['consent']);
      expect(consent.code).toBe(4);
      const failure = config().profiles.default.lastFailure;
      expect(failure).toMatchObject({ code: `AADSTS${aadsts}`, flow: 'browser' });
      expect(failure.traceId).toMatch(/^[0-9a-f-]{36}$/);
      expect(failure.correlationId).toMatch(/^[0-9a-f-]{36}$/);
      expect(Date.now() - Date.parse(failure.at)).toBeLessThan(60_000);
      fake.knobs.outcome = null;
      const d = await expectOnly(cause);
      expect(d.r.code).toBe(1);
      const check = d.check('last-failure');
      expect(check.summary).toContain(`AADSTS${aadsts}`);
      expect(check.summary).toContain(failure.traceId);
      expect(check.summary).toMatch(/failed on [A-Z][a-z]{2} \d{1,2}, \d{4} \d\d:\d\d UTC \(today\)/);
      expect(check.fix).toMatch(/dirsync consent/);
      expect((await cli(['consent'])).code).toBe(0);
      expect(config().profiles.default.lastFailure).toBeUndefined();
      expect((await doctor()).r.code).toBe(0);
    });
  }

  it('configure records the failed consent it continues into, as consent does', async () => {
    dir = tempConfigDir('dirsync-doctor-configure-');
    fake.knobs.outcome = 'decline';
    const c = await cli(['configure', '--tenant-id', TENANTS.contoso.id, '--client-id', DEFAULT_APP.clientId, '--offline']);
    expect(c.code).toBe(4);
    expect(config().profiles.default.lastFailure).toMatchObject({ code: 'AADSTS65004', flow: 'browser', traceId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    fake.knobs.outcome = null;
    const d = await doctor();
    expect(d.check('last-failure')).toMatchObject({ status: 'fail', cause: 'consent-declined' });
  });

  it('redirect-uri-mismatch: the sign-in page refuses the redirect URI (AADSTS50011), found without signing in', async () => {
    fake.knobs.outcome = 'redirect_mismatch';
    const d = await expectOnly('redirect-uri-mismatch');
    expect(d.check('app-registration').summary).toMatch(/AADSTS50011/);
    expect(d.check('app-registration').fix).toMatch(/http:\/\/localhost/);
    expect(fake.consents).toEqual([]);
  });

  it('app-not-found: Entra does not know the app in this tenant (AADSTS700016)', async () => {
    fake.knobs.outcome = 'app_not_found';
    const d = await expectOnly('app-not-found');
    expect(d.check('app-registration').summary).toMatch(/AADSTS700016/);
    expect(d.check('app-registration').fix).toMatch(/client ID/);
  });

  it('client-secret-expired: AZURE_CLIENT_SECRET has expired (AADSTS7000222)', async () => {
    fake.knobs.expiredClientSecret = true;
    const d = await expectOnly('client-secret-expired', { AZURE_CLIENT_ID: CI_APP, AZURE_CLIENT_SECRET: DEFAULT_APP.secret });
    expect(d.check('app-credential').fix).toMatch(/AZURE_CLIENT_SECRET/);
    expect(d.check('signin').status).toBe('skip');
  });

  it('signin-expired: the cached sign-in can no longer be refreshed (AADSTS700082)', async () => {
    fake.knobs.expireRefreshTokens = true;
    const d = await expectOnly('signin-expired');
    expect(d.check('signin').summary).toMatch(/admin@contoso\.onmicrosoft\.com can no longer be refreshed/);
    expect(d.check('signin').fix).toMatch(/dirsync consent/);
  });

  it('signin-missing: no sign-in is saved — a failure while a job is linked, a warning otherwise', async () => {
    fs.rmSync(path.join(dir, 'msal-cache.json'));
    const linked = await expectOnly('signin-missing');
    expect(linked.r.code).toBe(1);
    expect(linked.check('signin').fix).toMatch(/dirsync consent/);
    expect(linked.check('provisioning-job').status).toBe('skip');
    editProfile((p) => delete p.provisioningJob);
    const unlinked = await expectOnly('signin-missing');
    expect(unlinked.check('signin').status).toBe('warn');
    expect(unlinked.r.code).toBe(0);
  });

  it('permission-missing: the credential cannot read the provisioning job; the fix names the permission', async () => {
    const d = await expectOnly('permission-missing', { AZURE_CLIENT_ID: READ_ONLY_APP, AZURE_CLIENT_SECRET: DEFAULT_APP.secret });
    expect(d.check('app-credential').status).toBe('pass');
    expect(d.check('graph').status).toBe('pass');
    expect(d.check('provisioning-job').summary).toMatch(/Synchronization\.ReadWrite\.All/);
    expect(d.check('provisioning-job').fix).toMatch(/API permissions → Add a permission → Microsoft Graph → Synchronization\.ReadWrite\.All/);
  });

  it("job-quarantined: Entra's job is in quarantine, with Entra's reason", async () => {
    fake.sync.quarantine(job);
    const d = await expectOnly('job-quarantined');
    expect(d.check('provisioning-job').summary).toMatch(/quarantined: EncounteredQuarantineException/);
    expect(d.check('provisioning-job').fix).toMatch(/dirsync token renew --push --restart-if-quarantined/);
  });

  it('secret-code-missing: the Secret Code was revoked', async () => {
    expect((await cli(['token', 'revoke', '--yes'])).code).toBe(0);
    const d = await expectOnly('secret-code-missing');
    expect(d.check('secret-code').summary).toMatch(/revoked/);
    expect(d.check('secret-code').fix).toMatch(/dirsync token renew --push/);
  });

  it('secret-code-expired: the clock has passed the expiry (moved forward in the store)', async () => {
    const d0 = db();
    d0.prepare("UPDATE secret_codes SET created_at = '2020-01-01T00:00:00.000Z', expires_at = '2020-07-01T00:00:00.000Z'").run();
    d0.close();
    const d = await expectOnly('secret-code-expired');
    expect(d.check('secret-code').summary).toMatch(/expired on Jul 1, 2020/);
  });

  it('secret-code-expiring: a warning only, exit 0', async () => {
    const d0 = db();
    d0.prepare('UPDATE secret_codes SET expires_at = ?').run(new Date(Date.now() + 10 * 86_400_000).toISOString());
    d0.close();
    const d = await expectOnly('secret-code-expiring');
    expect(d.check('secret-code').status).toBe('warn');
    expect(d.r.code).toBe(0);
    expect(d.out.ok).toBe(true);
  });
});

describe('dirsync doctor: bounded, and the bundle', () => {
  it('finishes within 30 s when the network is black-holed (default --timeout 10s)', async () => {
    const started = Date.now();
    const d = await doctor({ DIRSYNC_LOGIN_ENDPOINT: `https://127.0.0.1:${await silentServer()}`, DIRSYNC_GRAPH_ENDPOINT: `https://127.0.0.1:${await silentServer()}` });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(30_000);
    expect(elapsed).toBeGreaterThanOrEqual(9_000);
    expect(d.causes.sort()).toEqual(['graph-unreachable', 'login-unreachable']);
    expect(d.check('login-host').summary).toMatch(/no answer within 10 seconds/);
    const quick = Date.now();
    const q = await doctor({ DIRSYNC_LOGIN_ENDPOINT: `https://127.0.0.1:${await silentServer()}` }, 'global', ['--timeout', '2s']);
    expect(Date.now() - quick).toBeLessThan(10_000);
    expect(q.check('login-host').summary).toMatch(/no answer within 2 seconds/);
  }, 60_000);

  it('--bundle writes checks, versions, the non-secret config and the recorded failure with its IDs; mode 0600; no secret', async () => {
    fake.knobs.outcome = 'decline';
    expect((await cli(['consent'])).code).toBe(4);
    fake.knobs.outcome = null;
    const file = path.join(dir, 'bundle.json');
    fs.writeFileSync(file, 'old', { mode: 0o644 });
    const r = await cli(['doctor', '--bundle', file, '--debug'], { AZURE_CLIENT_ID: CI_APP, AZURE_CLIENT_SECRET: DEFAULT_APP.secret });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Support bundle written to/);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const text = fs.readFileSync(file, 'utf8');
    record(['doctor --bundle (the bundle file)'], { stdout: text, stderr: '' });
    const b = JSON.parse(text);
    expect(b.versions).toMatchObject({ dirsync: expect.stringMatching(/^\d+\.\d+\.\d+/), node: process.version });
    expect(b.config.tenant).toMatchObject({ tenantId: TENANTS.contoso.id, clientId: DEFAULT_APP.clientId });
    expect(b.config.provisioningJob.displayName).toBe('MaaS Directory Sync');
    expect(b.config.securityCheck).toMatchObject({ passwordSet: true });
    expect(b.failures[0]).toMatchObject({ code: 'AADSTS65004', traceId: expect.stringMatching(/^[0-9a-f-]{36}$/), correlationId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(b.doctor.checks.find((c: Check) => c.id === 'last-failure').cause).toBe('consent-declined');
    expect(b.environment).toMatchObject({ AZURE_CLIENT_ID: CI_APP, AZURE_CLIENT_SECRET: '(set)', DIRSYNC_ADMIN_PASSWORD: '(set)' });
    expect(b.serveLog.included).toBe(false);
    const hash = config().profiles.default.security.passwordHash;
    for (const secret of [DEFAULT_APP.secret, PASSWORD, code, hash]) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/dsync_[0-9A-Za-z]{20,}|eyJ[A-Za-z0-9_-]{8,}\.|refresh_token|"secret"/i);
  });
});

describe('dirsync explain', () => {
  it('AADSTS50011 and 50011: meaning, causes, fix and the Microsoft doc', async () => {
    const r = await runCli(['explain', 'AADSTS50011', '--json'], { env: baseEnv(tempConfigDir()) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toEqual({
      code: 'AADSTS50011',
      title: expect.stringMatching(/redirect URI/),
      causes: expect.arrayContaining([expect.stringMatching(/Mobile and desktop applications/)]),
      fix: expect.stringMatching(/http:\/\/localhost/),
      docs: 'https://login.microsoftonline.com/error?code=50011',
    });
    const bare = await runCli(['explain', '50011'], { env: baseEnv(tempConfigDir()) });
    expect(bare.code).toBe(0);
    expect(bare.stdout).toMatch(/^AADSTS50011: /);
    expect(bare.stdout).toMatch(/Likely causes:\n {2}- /);
    expect(bare.stdout).toMatch(/Microsoft: https:\/\/login\.microsoftonline\.com\/error\?code=50011/);
  });

  it('a quarantine reason, in any case', async () => {
    const r = await runCli(['explain', 'toomanydeletes', '--json'], { env: baseEnv(tempConfigDir()) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ code: 'TooManyDeletes', fix: expect.stringMatching(/Accidental deletions/), docs: expect.stringMatching(/accidental-deletions/) });
  });

  it('every code the fake Entra answers with is explained', async () => {
    const src = fs.readFileSync(path.join(ROOT, 'test', 'support', 'fake-entra', 'index.ts'), 'utf8');
    const codes = [
      ...src.matchAll(/(?:oauthError\(ctx, \d+, "[a-z_]+", |errorPage\(\s*ctx,\s*|fail\("[a-z_]+", |code: )(\d{4,8})/g),
    ].map((m) => m[1]!);
    expect(codes.length).toBeGreaterThan(25);
    const { knownCodes } = await import('../../src/diagnostics/explain.js');
    const known = new Set(knownCodes());
    expect([...new Set(codes)].filter((c) => !known.has(`AADSTS${c}`))).toEqual([]);
  });

  it('an unknown code is exit 2 naming the nearest known codes', async () => {
    const r = await runCli(['explain', 'AADSTS50012'], { env: baseEnv(tempConfigDir()) });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/does not know the code "AADSTS50012"/);
    expect(r.stderr).toMatch(/Nearest known codes: AADSTS50011, /);
    const name = await runCli(['explain', 'TooManyDelete'], { env: baseEnv(tempConfigDir()) });
    expect(name.code).toBe(2);
    expect(name.stderr).toMatch(/Nearest known codes: TooManyDeletes/);
  });
});
