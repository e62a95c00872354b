// `configure` with tenant discovery and consent at its end, against the fake Entra.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { baseEnv, rememberSecret, ROOT, runCli, tempConfigDir } from '../support/cli.js';
import { DEFAULT_APP, startFakeEntra, TENANTS, type FakeEntra } from '../support/fake-entra/index.js';

const PASSWORD = 'configure e2e admin password';
rememberSecret(PASSWORD);

let fake: FakeEntra;
let dir: string;

describe('configure: tenant discovery and consent', () => {
  beforeAll(async () => {
    fake = await startFakeEntra({ caDir: fs.mkdtempSync(path.join(os.tmpdir(), 'dirsync-configure-ca-')) });
  });
  afterAll(async () => fake?.close());
  beforeEach(() => {
    dir = tempConfigDir('dirsync-configure-');
    fake.requests.length = 0;
    fake.knobs.outcome = null;
  });
  const env = (cloud: 'global' | 'usgov' = 'global', extra: NodeJS.ProcessEnv = {}) =>
    baseEnv(dir, { ...fake.env(cloud), DIRSYNC_ADMIN_PASSWORD: PASSWORD, BROWSER: path.join(ROOT, 'test', 'support', 'fake-browser.sh'), ...extra });
  const profile = () => JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).profiles.default;

  it('resolves a verified domain to the tenant GUID', async () => {
    const r = await runCli(['configure', '--tenant-id', 'contoso.onmicrosoft.com', '--client-id', DEFAULT_APP.clientId, '--no-consent', '--json'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().tenantId).toBe(TENANTS.contoso.id);
    expect(profile().tenant).toMatchObject({ tenantId: TENANTS.contoso.id, domain: 'contoso.onmicrosoft.com', cloud: 'global' });
  });

  it('an unknown tenant is exit 2: check the Tenant ID and whether it is a GCC High tenant', async () => {
    const r = await runCli(['configure', '--tenant-id', TENANTS.unknownId, '--no-consent'], { env: env() });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/not found in Global.*check the Tenant ID and whether it is a GCC High tenant/);
    expect(fs.existsSync(path.join(dir, 'config.json')) ? profile().tenant : undefined).toBeUndefined();
  });

  it('a GCC High tenant without --gcc-high is exit 2 with the exact fix, before any sign-in', async () => {
    const r = await runCli(['configure', '--tenant-id', TENANTS.gccHigh.id, '--client-id', DEFAULT_APP.clientId], { env: env() });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/--gcc-high/);
    expect(fake.requests.some((q) => /authorize|adminconsent|token/.test(q.path))).toBe(false);
  });

  it('--gcc-high on a global (GCC moderate) tenant is exit 2 with the exact fix', async () => {
    const r = await runCli(['configure', '--tenant-id', TENANTS.gcc.id, '--gcc-high', '--client-id', DEFAULT_APP.clientId], { env: env('usgov') });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/--cloud global/);
  });

  it('--offline makes no request', async () => {
    const r = await runCli(['configure', '--tenant-id', TENANTS.contoso.id, '--offline', '--no-consent'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(fake.requests).toEqual([]);
  });

  it('continues into sign-in and consent unless --no-consent', async () => {
    const r = await runCli(['configure', '--tenant-id', TENANTS.contoso.id, '--client-id', DEFAULT_APP.clientId], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(profile().consent).toMatchObject({ tenantDisplayName: 'Contoso', account: 'admin@contoso.onmicrosoft.com' });
    expect(fake.consents.at(-1)?.via).toBe('adminconsent');
  });
});
