import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { baseEnv, rememberSecret, ROOT, runCli, tempConfigDir } from '../support/cli.js';
import { startDirsync } from '../support/entra-cli.js';
import { EntraProvisioningClient } from '../support/entra-provisioning-client.js';
import { DEFAULT_APP, startFakeEntra, TENANTS, type FakeEntra, type FakeServicePrincipal } from '../support/fake-entra/index.js';
import { startServe, type ServeProcess } from '../support/serve-process.js';

// Zero-touch rotation and the provisioning job, end to end: the real CLI, a real `dirsync serve`,
// and the fake Entra, whose Test Connection really calls the Tenant URL with the token.

const PASSWORD = 'provisioning e2e admin password';
rememberSecret(PASSWORD);
rememberSecret(DEFAULT_APP.secret);
const CI_APP = 'c2c2c2c2-0000-4000-8000-00000000c2c2';
const READ_ONLY_APP = 'c3c3c3c3-0000-4000-8000-00000000c3c3';

let fake: FakeEntra;
let dir: string;
let serve: ServeProcess | undefined;
let tenantUrl: string;
let port: number;

beforeAll(async () => {
  fake = await startFakeEntra({ caDir: fs.mkdtempSync(path.join(os.tmpdir(), 'dirsync-prov-ca-')) });
  fake.addApp({
    clientId: CI_APP,
    displayName: 'dirsync CI',
    secrets: [{ value: DEFAULT_APP.secret }],
    permissions: ['Group.Read.All', 'Application.Read.All', 'Synchronization.ReadWrite.All'],
  });
  fake.addApp({ clientId: READ_ONLY_APP, displayName: 'dirsync CI (groups only)', secrets: [{ value: DEFAULT_APP.secret }], permissions: ['Group.Read.All'] });
});
afterAll(async () => fake?.close());

const env = (extra: NodeJS.ProcessEnv = {}) =>
  baseEnv(dir, {
    ...fake.env('global'),
    DIRSYNC_ADMIN_PASSWORD: PASSWORD,
    AZURE_CLIENT_ID: CI_APP,
    AZURE_CLIENT_SECRET: DEFAULT_APP.secret,
    ...extra,
  });
const cli = (args: string[], extra: NodeJS.ProcessEnv = {}) => runCli(args, { env: env(extra), timeoutMs: 60_000 });

/** Issues a code with `token renew --json` (the way an admin pasted it into Entra before). */
async function issue(): Promise<string> {
  const r = await cli(['token', 'renew', '--json']);
  expect(r.code, r.stderr).toBe(0);
  const code = r.json().secretCode as string;
  rememberSecret(code);
  return code;
}

/** What the Tenant URL answers to `token` (Entra's Test Connection probe). */
async function probe(token: string): Promise<number> {
  return (await new EntraProvisioningClient(tenantUrl, token).request('GET', '/Users?filter=userName%20eq%20%22probe%22')).status;
}

/** An enterprise app in the fake tenant whose job pushes to our Tenant URL with `code`. */
const provisioningApp = (code: string, name = 'MaaS Directory Sync', baseAddress = tenantUrl) =>
  fake.sync.addProvisioningApp({ tenantId: TENANTS.contoso.id, displayName: name, baseAddress, secretToken: code });

const secretsOf = (sp: FakeServicePrincipal) => JSON.parse(JSON.stringify(sp.secrets)) as { key: string; value: string }[];
const tokenOf = (sp: FakeServicePrincipal) => sp.secrets.find((s) => s.key === 'SecretToken')?.value;

beforeEach(async () => {
  dir = tempConfigDir('dirsync-prov-');
  fake.requests.length = 0;
  fake.sync.servicePrincipals.clear();
  fake.sync.testConnections.length = 0;
  Object.assign(fake.sync.faults, { putSecretsStatus: null, failTestConnection: null });
  const c = await cli(['configure', '--tenant-id', TENANTS.contoso.id, '--no-consent', '--offline', '--json']);
  expect(c.code, c.stderr).toBe(0);
  // serve picks its own free port (a port chosen beforehand could be taken by another test meanwhile),
  // then the profile's public URL is set to it: that is the Tenant URL Entra is given.
  serve = await startServe([], env());
  port = Number(new URL(serve.url).port);
  tenantUrl = serve.tenantUrl;
  const u = await cli(['configure', '--public-url', serve.url, '--offline', '--no-consent', '--json']);
  expect(u.code, u.stderr).toBe(0);
});
afterEach(async () => {
  await serve?.stop();
  serve = undefined;
});

describe('provisioning link', () => {
  it('without a link, status and --push are exit 3 naming `provisioning link`', async () => {
    const s = await cli(['provisioning', 'status']);
    expect(s.code).toBe(3);
    expect(s.stderr).toMatch(/dirsync provisioning link/);
    await issue();
    const before = (await cli(['token', 'status', '--json'])).json().fingerprint;
    const p = await cli(['token', 'renew', '--push']);
    expect(p.code).toBe(3);
    expect(p.stderr).toMatch(/dirsync provisioning link/);
    expect((await cli(['token', 'status', '--json'])).json().fingerprint).toBe(before);
  });

  it('finds the one app that pushes to our Tenant URL on its own, and stores it', async () => {
    const code = await issue();
    provisioningApp('old-token-of-another-app', 'HR Connector', 'https://hr.example.com/scim');
    const ours = provisioningApp(code);
    const r = await cli(['provisioning', 'link', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({
      servicePrincipalId: ours.id,
      appId: ours.appId,
      displayName: 'MaaS Directory Sync',
      jobId: ours.jobs[0]!.id,
      baseAddressMatches: true,
    });
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(config.profiles.default.provisioningJob).toMatchObject({ servicePrincipalId: ours.id, jobId: ours.jobs[0]!.id });
  });

  it('several candidates without a terminal: exit 2 naming --app; --app by name links and warns about another Tenant URL', async () => {
    provisioningApp('t1', 'App One', 'https://one.example.com/scim');
    const two = provisioningApp('t2', 'App Two', 'https://two.example.com/scim');
    const r = await cli(['provisioning', 'link']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--app/);
    expect(r.stderr).toMatch(/App One/);
    const byName = await cli(['provisioning', 'link', '--app', 'App Two']);
    expect(byName.code, byName.stderr).toBe(0);
    expect(byName.stderr).toMatch(/pushes to https:\/\/two\.example\.com\/scim, but this profile's Tenant URL is http:\/\/127\.0\.0\.1/);
    const byAppId = await cli(['provisioning', 'link', '--app', two.appId, '--json']);
    expect(byAppId.json().servicePrincipalId).toBe(two.id);
    const byObjectId = await cli(['provisioning', 'link', '--app', two.id, '--json']);
    expect(byObjectId.json().appId).toBe(two.appId);
  });

  it('an app without a provisioning job is exit 1 with the portal step that creates it', async () => {
    fake.sync.addProvisioningApp({ tenantId: TENANTS.contoso.id, displayName: 'No Job App', templateId: null });
    const r = await cli(['provisioning', 'link', '--app', 'No Job App']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/has no provisioning job/);
    expect(r.stderr).toMatch(/Provisioning → Get started/);
  });

  it('a credential without Application.Read.All is exit 4 naming the permission and how to grant it', async () => {
    provisioningApp('x');
    const r = await cli(['provisioning', 'link'], { AZURE_CLIENT_ID: READ_ONLY_APP });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/lacks Application\.Read\.All/);
    expect(r.stderr).toMatch(/API permissions → Add a permission .* then run `dirsync consent` again/);
  });
});

describe('provisioning status, test and restart', () => {
  it('an active job: exit 0, its cycles, schedule and our Secret Code; `dirsync status` has the one line', async () => {
    const code = await issue();
    provisioningApp(code);
    expect((await cli(['provisioning', 'link'])).code).toBe(0);
    const r = await cli(['provisioning', 'status', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = r.json();
    expect(s).toMatchObject({ state: 'Active', quarantine: null, interval: 'PT40M', secretCode: { state: 'ok' } });
    expect(s.jobId).toMatch(/^scim\./);
    expect(s.lastExecution).toMatchObject({ state: 'Succeeded', exported: 12 });
    expect(s.secretCode.expiresOn).toMatch(/^[A-Z][a-z]{2} \d{1,2}, \d{4}$/);
    const human = await cli(['provisioning', 'status']);
    expect(human.stdout).toMatch(/State:\s+Active/);
    expect(human.stdout).toMatch(/Schedule:\s+every 40 minutes/);
    const st = await cli(['status']);
    expect(st.code, st.stderr).toBe(0);
    expect(st.stdout).toMatch(/Entra job:\s+Active — MaaS Directory Sync/);
  });

  it('a quarantined job: exit 12 with the reason, since when, next attempt and the fix', async () => {
    const code = await issue();
    const sp = provisioningApp(code);
    fake.sync.quarantine(sp.jobs[0]!);
    expect((await cli(['provisioning', 'link'])).code).toBe(0);
    const r = await cli(['provisioning', 'status', '--json']);
    expect(r.code).toBe(12);
    expect(r.json().quarantine).toMatchObject({ reason: 'EncounteredQuarantineException', seriesCount: 3 });
    expect(r.json().quarantine.since).toBeTruthy();
    expect(r.json().quarantine.nextAttempt).toBeTruthy();
    const human = await cli(['provisioning', 'status']);
    expect(human.code).toBe(12);
    expect(human.stdout).toMatch(/Quarantine:\s+EncounteredQuarantineException since/);
    expect(human.stderr).toMatch(/dirsync token renew --push --restart-if-quarantined/);
    sp.jobs[0]!.status.code = 'Paused';
    sp.jobs[0]!.status.quarantine = null;
    sp.jobs[0]!.schedule.state = 'Disabled';
    const disabled = await cli(['provisioning', 'status']);
    expect(disabled.code).toBe(12);
    expect(disabled.stderr).toMatch(/disabled/);
  });

  it('Test Connection: Entra reaches serve with the saved code (exit 0); a revoked code or a stopped serve is exit 1 with what to check', async () => {
    const code = await issue();
    provisioningApp(code);
    expect((await cli(['provisioning', 'link'])).code).toBe(0);
    const ok = await cli(['provisioning', 'test']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(fake.sync.testConnections.at(-1)).toMatchObject({ saved: true, status: 200, ok: true, baseAddress: tenantUrl });
    expect((await cli(['token', 'revoke', '--yes'])).code).toBe(0);
    const revoked = await cli(['provisioning', 'test']);
    expect(revoked.code).toBe(1);
    expect(revoked.stderr).toMatch(/Entra said: .*HTTP\/401/);
    expect(revoked.stderr).toMatch(/reachable .* from the internet/);
    await serve!.stop();
    serve = undefined;
    const down = await cli(['provisioning', 'test']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/unable to connect/);
  });

  it('restart: security check and confirmation; lifts the quarantine, or --full restarts', async () => {
    const sp = provisioningApp(await issue());
    fake.sync.quarantine(sp.jobs[0]!);
    expect((await cli(['provisioning', 'link'])).code).toBe(0);
    const unconfirmed = await cli(['provisioning', 'restart']);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toMatch(/--yes/);
    const wrong = await cli(['provisioning', 'restart', '--yes'], { DIRSYNC_ADMIN_PASSWORD: 'not the password!' });
    expect(wrong.code).toBe(5);
    expect(sp.jobs[0]!.calls).toEqual([]);
    const r = await cli(['provisioning', 'restart', '--yes', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ restarted: true, resetScope: 'QuarantineState', job: { state: 'Active' } });
    const full = await cli(['provisioning', 'restart', '--full', '--yes']);
    expect(full.code, full.stderr).toBe(0);
    expect(sp.jobs[0]!.calls.map((c) => c.resetScope)).toEqual(['QuarantineState', 'Full']);
    expect((await cli(['provisioning', 'status'])).code).toBe(0);
  });
});

describe('the signed-in administrator (no AZURE_* variables)', () => {
  it('after `dirsync consent`, link, status and --push use the cached sign-in', async () => {
    const admin = { AZURE_CLIENT_ID: undefined, AZURE_CLIENT_SECRET: undefined };
    const c = await cli(['configure', '--client-id', DEFAULT_APP.clientId, '--no-consent', '--offline'], admin);
    expect(c.code, c.stderr).toBe(0);
    const consent = await cli(['consent'], { ...admin, BROWSER: path.join(ROOT, 'test', 'support', 'fake-browser.sh') });
    expect(consent.code, consent.stderr).toBe(0);
    const sp = provisioningApp(await issue());
    expect((await cli(['provisioning', 'link'], admin)).code).toBe(0);
    const st = await cli(['provisioning', 'status', '--json'], admin);
    expect(st.code, st.stderr).toBe(0);
    const push = await cli(['token', 'renew', '--push', '--json'], admin);
    expect(push.code, push.stderr).toBe(0);
    expect(await probe(tokenOf(sp)!)).toBe(200);
    // Every Graph call carried the admin's delegated token, none an app-only one.
    expect(fake.requests.filter((q) => q.role === 'login' && q.form?.grant_type === 'client_credentials')).toEqual([]);
  });
});

describe('token renew --push', () => {
  async function linked(): Promise<{ old: string; sp: FakeServicePrincipal }> {
    const old = await issue();
    const sp = provisioningApp(old);
    expect((await cli(['provisioning', 'link'])).code).toBe(0);
    return { old, sp };
  }

  it('tests, saves and confirms in Entra; prints no secret; the saved token authenticates and other keys are kept', async () => {
    const { old, sp } = await linked();
    const otherKeys = secretsOf(sp).filter((s) => s.key !== 'BaseAddress' && s.key !== 'SecretToken');
    const r = await cli(['token', 'renew', '--push', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = r.json();
    expect(out).toMatchObject({ renewed: true, pushed: true, validated: true, job: { id: sp.jobs[0]!.id, state: 'Active' } });
    expect(out.secretCode).toBeUndefined();
    expect(r.stdout).not.toMatch(/dsync_[0-9A-Za-z]{49}/);
    const saved = tokenOf(sp)!;
    expect(saved).not.toBe(old);
    expect(saved).toMatch(/^dsync_/);
    expect(sp.secrets.find((s) => s.key === 'BaseAddress')?.value).toBe(tenantUrl);
    expect(secretsOf(sp).filter((s) => s.key !== 'BaseAddress' && s.key !== 'SecretToken')).toEqual(otherKeys);
    // Test Connection ran with the new code before it was saved, then on the saved credentials.
    expect(fake.sync.testConnections.map((t) => [t.saved, t.token === saved, t.ok])).toEqual([
      [false, true, true],
      [true, true, true],
    ]);
    expect(await probe(saved)).toBe(200);
    expect(await probe(old)).toBe(200); // the grace period
    const human = await cli(['token', 'renew', '--push', '--debug']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/saved in Entra, not shown/);
    expect(human.stderr).toMatch(/now uses the new Secret Code/);
    // --debug shows the steps and Graph's request IDs, never the code that was pushed.
    expect(human.stderr).toMatch(/graph: POST \/v1\.0\/servicePrincipals\/.+\/validateCredentials → 204 \(request-id /);
    expect(human.stderr).toMatch(/push: saving BaseAddress and SecretToken, keeping SyncNotificationSettings, SyncAll/);
    expect(human.stderr).not.toContain(tokenOf(sp)!);
  });

  it('--show-secret prints the code once; --if-expiring-within with nothing due makes no Graph call', async () => {
    const { sp } = await linked();
    const shown = await cli(['token', 'renew', '--push', '--show-secret', '--json']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.json().secretCode).toBe(tokenOf(sp));
    fake.requests.length = 0;
    const quiet = await cli(['token', 'renew', '--push', '--if-expiring-within', '30d', '--json']);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.json()).toMatchObject({ renewed: false, pushed: false });
    expect(fake.requests).toEqual([]);
    const misuse = await cli(['token', 'renew', '--show-secret']);
    expect(misuse.code).toBe(2);
    expect(misuse.stderr).toMatch(/only applies with --push/);
  });

  it('--restart-if-quarantined lifts the quarantine after a successful push', async () => {
    const { sp } = await linked();
    fake.sync.quarantine(sp.jobs[0]!);
    const r = await cli(['token', 'renew', '--push', '--restart-if-quarantined', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ pushed: true, restarted: true, job: { state: 'Active' } });
    expect(sp.jobs[0]!.calls).toEqual([expect.objectContaining({ action: 'restart', resetScope: 'QuarantineState' })]);
  });

  /** After a failed push before Save: Entra unchanged, the old code still works and is current, the new one never does. */
  async function expectRolledBack(sp: FakeServicePrincipal, old: string, secretsBefore: { key: string; value: string }[], fingerprintBefore: string) {
    expect(secretsOf(sp)).toEqual(secretsBefore);
    expect(await probe(old)).toBe(200);
    const tried = fake.sync.testConnections.filter((t) => !t.saved).map((t) => t.token);
    expect(tried.length).toBeGreaterThan(0);
    for (const t of tried) {
      expect(t).not.toBe(old);
      expect(await probe(t)).toBe(401);
    }
    const st = await cli(['token', 'status', '--json']);
    expect(st.code).toBe(0);
    expect(st.json().fingerprint).toBe(fingerprintBefore);
  }

  it('Test Connection fails with the new code: exit 1 naming the step; nothing changed in Entra, the old code current', async () => {
    const { old, sp } = await linked();
    const before = secretsOf(sp);
    const fp = (await cli(['token', 'status', '--json'])).json().fingerprint;
    fake.sync.faults.failTestConnection = 'always';
    const r = await cli(['token', 'renew', '--push']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/failed at Test Connection with the new Secret Code \(before saving\)/);
    expect(r.stderr).toMatch(/Nothing changed in Entra and the new Secret Code was revoked/);
    await expectRolledBack(sp, old, before, fp);
  });

  it('serve is not reachable from Entra: the same rollback, and the hint names reachability', async () => {
    const { old, sp } = await linked();
    const before = secretsOf(sp);
    const fp = (await cli(['token', 'status', '--json'])).json().fingerprint;
    await serve!.stop();
    const r = await cli(['token', 'renew', '--push']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unable to connect/);
    expect(r.stderr).toMatch(/check that `dirsync serve` is running and reachable/);
    serve = await startServe(['--port', String(port)], env());
    await expectRolledBack(sp, old, before, fp);
  });

  it('Save fails: exit 1 naming the step; Entra keeps its secrets, the old code current', async () => {
    const { old, sp } = await linked();
    const before = secretsOf(sp);
    const fp = (await cli(['token', 'status', '--json'])).json().fingerprint;
    fake.sync.faults.putSecretsStatus = 500;
    const r = await cli(['token', 'renew', '--push', '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stderr.trim().split('\n').at(-1)!).error.message).toMatch(/failed at saving the Tenant URL and new Secret Code in Entra/);
    await expectRolledBack(sp, old, before, fp);
  });

  it('no permission to write the job: exit 4 naming Synchronization.ReadWrite.All, and no code was issued', async () => {
    const { sp } = await linked();
    const fp = (await cli(['token', 'status', '--json'])).json().fingerprint;
    const r = await cli(['token', 'renew', '--push'], { AZURE_CLIENT_ID: READ_ONLY_APP });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/lacks Synchronization\.ReadWrite\.All/);
    expect((await cli(['token', 'status', '--json'])).json().fingerprint).toBe(fp);
    expect(tokenOf(sp)).toBeTruthy();
    expect(fake.sync.testConnections).toEqual([]);
  });

  it('the confirming Test Connection fails after Save: exit 1 saying Entra holds the new code, which stays current', async () => {
    const { old, sp } = await linked();
    const fp = (await cli(['token', 'status', '--json'])).json().fingerprint;
    fake.sync.faults.failTestConnection = 'saved';
    const r = await cli(['token', 'renew', '--push']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/failed at Test Connection on the saved credentials/);
    expect(r.stderr).toMatch(/Entra now holds the new Secret Code/);
    const saved = tokenOf(sp)!;
    expect(saved).not.toBe(old);
    expect(await probe(saved)).toBe(200);
    expect((await cli(['token', 'status', '--json'])).json().fingerprint).not.toBe(fp);
  });

  it('Ctrl-C while Entra tests the new code: exit 130, the renewal taken back, Entra untouched', async () => {
    const { old, sp } = await linked();
    const before = secretsOf(sp);
    const fp = (await cli(['token', 'status', '--json'])).json().fingerprint;
    fake.knobs.graphDelayMs = 1_500;
    try {
      const running = startDirsync(['token', 'renew', '--push'], { env: env(), timeoutMs: 60_000 });
      for (let i = 0; i < 200 && !fake.requests.some((q) => q.path.endsWith('/validateCredentials')); i++) await new Promise((r) => setTimeout(r, 50));
      expect(fake.requests.some((q) => q.path.endsWith('/validateCredentials'))).toBe(true);
      running.child.kill('SIGINT');
      const r = await running.done;
      expect(r.code, r.stderr).toBe(130);
      expect(r.stderr).toMatch(/the new Secret Code was revoked/);
    } finally {
      fake.knobs.graphDelayMs = 0;
    }
    expect(secretsOf(sp)).toEqual(before);
    expect(await probe(old)).toBe(200);
    expect((await cli(['token', 'status', '--json'])).json().fingerprint).toBe(fp);
  });

  it('under a steady stream of Entra requests with the old code: zero 401s, and afterwards the saved token authenticates', async () => {
    const { old, sp } = await linked();
    const entra = new EntraProvisioningClient(tenantUrl, old);
    const statuses: number[] = [];
    let stop = false;
    const stream = (async () => {
      for (let i = 0; !stop && i < 5_000; i++) {
        const user = `load${i}@contoso.com`;
        statuses.push((await entra.request('GET', `/Users?filter=${encodeURIComponent(`userName eq "${user}"`)}`)).status);
        statuses.push(
          (
            await entra.request('POST', '/Users', {
              schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
              userName: user,
              externalId: `ext-${i}`,
              active: true,
            })
          ).status,
        );
      }
    })();
    const r = await cli(['token', 'renew', '--push', '--json']);
    stop = true;
    await stream;
    expect(r.code, r.stderr).toBe(0);
    expect(statuses.length).toBeGreaterThan(10);
    expect(statuses.filter((s) => s === 401)).toEqual([]);
    expect(statuses.every((s) => s === 200 || s === 201)).toBe(true);
    expect(await probe(tokenOf(sp)!)).toBe(200);
  });
});
