import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { baseEnv, rememberSecret, ROOT, runCli, tempConfigDir } from '../support/cli.js';
import { runDirsync, startDirsync } from '../support/entra-cli.js';
import { DEFAULT_APP, startFakeEntra, TENANTS, type FakeEntra } from '../support/fake-entra/index.js';

const PASSWORD = 'consent e2e admin password';
rememberSecret(PASSWORD);
rememberSecret(DEFAULT_APP.secret);
const BROWSER = path.join(ROOT, 'test', 'support', 'fake-browser.sh');

let fake: FakeEntra;
let caDir: string;
let dir: string;
let browserLog: string;

beforeAll(async () => {
  caDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dirsync-consent-ca-'));
  fake = await startFakeEntra({ caDir });
});
afterAll(async () => {
  await fake?.close();
});

beforeEach(() => {
  dir = tempConfigDir('dirsync-consent-');
  browserLog = path.join(dir, 'browser.log');
  fake.requests.length = 0;
  fake.consents.length = 0;
  Object.assign(fake.knobs, { outcome: null, signInTenant: null });
});

function envFor(cloud: 'global' | 'usgov' = 'global', extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return baseEnv(dir, {
    ...fake.env(cloud),
    DIRSYNC_ADMIN_PASSWORD: PASSWORD,
    BROWSER,
    FAKE_BROWSER_LOG: browserLog,
    ...extra,
  });
}

async function configure(tenantId: string = TENANTS.contoso.id, extra: string[] = [], env = envFor()) {
  const r = await runCli(['configure', '--tenant-id', tenantId, '--client-id', DEFAULT_APP.clientId, '--offline', '--no-consent', ...extra], { env });
  expect(r.code, r.stderr).toBe(0);
}

function browserPages(): { method: string; url: string; status: number; text: string }[] {
  if (!fs.existsSync(browserLog)) return [];
  return fs.readFileSync(browserLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

const config = () => JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).profiles.default;

describe('dirsync consent in the browser', () => {
  it('grants tenant-wide consent, verifies the tenant, records it, and shows success in the browser and terminal', async () => {
    await configure();
    const r = await runDirsync(['consent', '--json'], { env: envFor() });
    expect(r.code, r.stderr).toBe(0);
    const json = r.json();
    expect(json).toMatchObject({
      tenantId: TENANTS.contoso.id,
      tenantDisplayName: 'Contoso',
      account: 'admin@contoso.onmicrosoft.com',
      flow: 'browser',
      adminConsent: true,
    });
    expect(json.permissions.join(' ')).toMatch(/Group\.Read\.All/);
    // Tenant-wide grant through /adminconsent, then a code + PKCE sign-in.
    expect(fake.consents.map((c) => c.via)).toEqual(['adminconsent']);
    const token = fake.requests.find((q) => q.path.endsWith('/oauth2/v2.0/token'));
    expect(token?.form?.grant_type).toBe('authorization_code');
    expect(token?.form?.code_verifier).toBe('[redacted]');
    const authorize = fake.requests.find((q) => q.path.endsWith('/oauth2/v2.0/authorize'));
    expect(authorize?.query.code_challenge_method).toBe('S256');
    expect(authorize?.query.redirect_uri).toMatch(/^http:\/\/localhost:\d+$/);
    expect(fake.requests.some((q) => q.role === 'graph' && q.path === '/v1.0/organization')).toBe(true);
    // Recorded in the profile.
    expect(config().consent).toMatchObject({ tenantDisplayName: 'Contoso', account: 'admin@contoso.onmicrosoft.com' });
    // The browser was told to go back to the terminal; the terminal printed the URL and the next step.
    expect(browserPages().at(-1)?.text).toMatch(/Return to the terminal/);
    expect(r.stderr).toMatch(/Open this URL to continue in your web browser:\s+https:\/\/127\.0\.0\.1:\d+\/3f5a6c2e/);
    expect(r.stderr).toMatch(/dirsync token renew/);
    // The sign-in is cached, 0600.
    const cache = path.join(dir, 'msal-cache.json');
    expect(fs.statSync(cache).mode & 0o777).toBe(0o600);
    // Never reaches the other cloud.
    expect(fake.requests.every((q) => q.cloud === 'global')).toBe(true);
  });

  it('ignores a favicon request and a forged state, and still completes', async () => {
    await configure();
    for (const mode of ['favicon', 'forged-state']) {
      fs.rmSync(browserLog, { force: true });
      const r = await runDirsync(['consent', '--json'], { env: envFor('global', { FAKE_BROWSER_MODE: mode }) });
      expect(r.code, `${mode}: ${r.stderr}`).toBe(0);
      const pages = browserPages();
      if (mode === 'forged-state') {
        expect(pages.some((p) => p.method === 'POST' && p.status === 400 && /does not belong/.test(p.text))).toBe(true);
      } else {
        expect(pages.some((p) => /favicon/.test(p.url) && p.status === 404)).toBe(true);
      }
      expect(pages.at(-1)?.text).toMatch(/Return to the terminal/);
    }
  });

  const failures: [string, RegExp, RegExp][] = [
    ['decline', /AADSTS65004/, /Accept/],
    ['app_not_found', /AADSTS700016/, /client ID and the app registration/],
    ['admin_lacks_role', /AADSTS90094/, /Global Administrator/],
    ['conditional_access', /AADSTS53003/, /Conditional Access/i],
  ];
  for (const [outcome, code, review] of failures) {
    it(`maps ${outcome} to exit 4 with the setting to review, in the terminal and the browser`, async () => {
      await configure();
      fake.knobs.outcome = outcome as never;
      const r = await runDirsync(['consent'], { env: envFor() });
      expect(r.code, r.stderr).toBe(4);
      expect(r.stderr).toMatch(code);
      expect(r.stderr).toMatch(review);
      expect(r.stderr).toMatch(/Correlation ID [0-9a-f-]{36}/);
      expect(r.stderr).toMatch(/Trace ID [0-9a-f-]{36}/);
      expect(browserPages().at(-1)?.text).toMatch(code);
      expect(config().consent).toBeUndefined();
    });
  }

  it('a GCC High tenant configured for the global cloud is caught before the browser opens (exit 2, the --gcc-high fix)', async () => {
    await configure(TENANTS.gccHigh.id);
    const r = await runDirsync(['consent'], { env: envFor('global') });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/is a GCC High tenant/);
    expect(r.stderr).toMatch(/dirsync configure --gcc-high/);
    expect(browserPages()).toEqual([]);
  });

  it('a global (GCC moderate) tenant configured with --gcc-high is caught before the browser opens (exit 2)', async () => {
    await configure(TENANTS.gcc.id, ['--gcc-high'], envFor('usgov'));
    const r = await runDirsync(['consent'], { env: envFor('usgov') });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/GCC \(moderate\) and commercial tenants are global/);
    expect(r.stderr).toMatch(/--cloud global/);
    expect(browserPages()).toEqual([]);
  });

  it('a GCC High profile signs in on the US Government stand-ins only, with the .us Graph scope', async () => {
    await configure(TENANTS.gccHigh.id, ['--gcc-high'], envFor('usgov'));
    const r = await runDirsync(['consent', '--json'], { env: envFor('usgov') });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ tenantId: TENANTS.gccHigh.id, cloud: 'usgov-high', tenantDisplayName: TENANTS.gccHigh.displayName });
    expect(fake.requests.length).toBeGreaterThan(0);
    expect(fake.requests.filter((q) => q.cloud === 'global')).toEqual([]);
    expect(fake.consents[0]?.scopes).toEqual(['https://graph.microsoft.us/.default']);
  });

  it('signing in to another tenant is an error, not a success', async () => {
    await configure();
    fake.knobs.signInTenant = TENANTS.gcc.id;
    const r = await runDirsync(['consent'], { env: envFor() });
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toContain(`tenant ${TENANTS.gcc.id}, but this profile is configured for tenant ${TENANTS.contoso.id}`);
    expect(config().consent).toBeUndefined();
  });

  it('times out with what to try when the browser never answers (exit 4)', async () => {
    await configure();
    fake.knobs.outcome = 'no_response';
    const started = Date.now();
    const r = await runDirsync(['consent', '--timeout', '2s'], { env: envFor() });
    expect(r.code, r.stderr).toBe(4);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(r.stderr).toMatch(/No answer from the browser within 2 seconds/);
    expect(r.stderr).toMatch(/--device-code/);
  });

  it('a redirect URI mismatch (shown only on Entra\'s page) ends in the timeout that names AADSTS50011', async () => {
    await configure();
    fake.knobs.outcome = 'redirect_mismatch';
    const r = await runDirsync(['consent', '--timeout', '2s'], { env: envFor() });
    expect(r.code, r.stderr).toBe(4);
    expect(browserPages().some((p) => /AADSTS50011/.test(p.text))).toBe(true);
    expect(r.stderr).toMatch(/AADSTS50011/);
  });

  it('Ctrl-C closes the listener and exits 130', async () => {
    await configure();
    fake.knobs.outcome = 'no_response';
    const run = startDirsync(['consent'], { env: envFor() });
    await run.waitForStderr(/Waiting for you to sign in/);
    // Let the browser reach the (never answering) consent page.
    for (let i = 0; i < 100 && !fake.requests.some((q) => q.path.endsWith('/adminconsent')); i++) await new Promise((r) => setTimeout(r, 50));
    const port = /redirect_uri=http%3A%2F%2Flocalhost%3A(\d+)/.exec(run.stderr())?.[1];
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(130);
    // The listener is gone.
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
  });

  it('suggests --device-code instead of hanging when there is no display (exit 2)', async () => {
    await configure();
    const r = await runDirsync(['consent'], { env: envFor('global', { BROWSER: undefined, SSH_CONNECTION: '10.0.0.1 5555 10.0.0.2 22' }) });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/--device-code/);
    expect(fake.requests).toEqual([]);
  });

  it('needs a client ID (exit 3) and runs the security check first (exit 5)', async () => {
    const r1 = await runCli(['configure', '--tenant-id', TENANTS.contoso.id, '--offline', '--no-consent'], { env: envFor() });
    expect(r1.code, r1.stderr).toBe(0);
    const r = await runDirsync(['consent'], { env: envFor() });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/--client-id/);
    await configure();
    const wrong = await runDirsync(['consent'], { env: envFor('global', { DIRSYNC_ADMIN_PASSWORD: 'not the admin password' }) });
    expect(wrong.code, wrong.stderr).toBe(5);
    expect(fake.requests).toEqual([]);
  });
});

describe('--debug', () => {
  it('shows endpoints, correlation IDs and AADSTS codes, never a code, verifier, token or secret', async () => {
    await configure();
    const ok = await runDirsync(['consent', '--debug'], { env: envFor() });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/authority https:\/\/127\.0\.0\.1:\d+\/3f5a6c2e/);
    expect(ok.stderr).toMatch(/correlation ID [0-9a-f-]{36}/);
    fake.knobs.outcome = 'decline';
    const bad = await runDirsync(['consent', '--debug'], { env: envFor() });
    expect(bad.code).toBe(4);
    expect(bad.stderr).toMatch(/aadsts: 65004/);
    for (const out of [ok.stdout + ok.stderr, bad.stdout + bad.stderr]) {
      expect(out).not.toMatch(/fake-ac\./);
      expect(out).not.toMatch(/eyJ[A-Za-z0-9_-]{8,}\./);
      expect(out).not.toMatch(/code_verifier=(?!\[redacted\])/);
      expect(out).not.toContain(DEFAULT_APP.secret);
      expect(out).not.toContain(PASSWORD);
    }
  });
});

describe('dirsync consent --device-code', () => {
  it('prints the code and URL, polls, verifies the tenant and records consent', async () => {
    await configure();
    const r = await runDirsync(['consent', '--device-code', '--json'], { env: envFor('global', { BROWSER: undefined }) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/open https:\/\/127\.0\.0\.1:\d+\/devicelogin .*enter the code [A-Z0-9-]+/);
    expect(r.json()).toMatchObject({ tenantId: TENANTS.contoso.id, flow: 'device-code', account: 'admin@contoso.onmicrosoft.com' });
    expect(config().consent.account).toBe('admin@contoso.onmicrosoft.com');
  });

  it('Ctrl-C while polling exits 130', async () => {
    await configure();
    fake.knobs.deviceCodeApproveAfterPolls = null;
    try {
      const run = startDirsync(['consent', '--device-code'], { env: envFor('global', { BROWSER: undefined }) });
      await run.waitForStderr(/Waiting for the sign-in on the other device/);
      run.child.kill('SIGINT');
      const r = await run.done;
      expect(r.code, r.stderr).toBe(130);
      expect(config().consent).toBeUndefined();
    } finally {
      fake.knobs.deviceCodeApproveAfterPolls = 1;
    }
  });

  it('a declined device-code sign-in is exit 4', async () => {
    await configure();
    fake.knobs.deviceCodeOutcome = 'decline';
    try {
      const r = await runDirsync(['consent', '--device-code'], { env: envFor('global', { BROWSER: undefined }) });
      expect(r.code, r.stderr).toBe(4);
    } finally {
      fake.knobs.deviceCodeOutcome = 'approve';
    }
  });
});
