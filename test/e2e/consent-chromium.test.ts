// The consent flow once with a real browser: Debian's headless Chromium (installed by .ci/run).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, rememberSecret, ROOT, runCli, tempConfigDir } from '../support/cli.js';
import { runDirsync } from '../support/entra-cli.js';
import { DEFAULT_APP, startFakeEntra, TENANTS, type FakeEntra } from '../support/fake-entra/index.js';

const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const PASSWORD = 'chromium e2e admin password';
rememberSecret(PASSWORD);

// Without Chromium on a developer's machine this is skipped; in CI (.ci/run installs it) it always
// runs, so a missing browser fails instead of passing silently.
describe.runIf(Boolean(process.env.CI) || (have('chromium') && have('certutil')))('dirsync consent with headless Chromium', () => {
  let fake: FakeEntra;
  let dir: string;
  beforeAll(async () => {
    fake = await startFakeEntra({ caDir: fs.mkdtempSync(path.join(os.tmpdir(), 'dirsync-chromium-ca-')) });
  });
  afterAll(async () => fake?.close());

  it('signs in, grants consent and shows the success page in a real browser', async () => {
    dir = tempConfigDir('dirsync-chromium-');
    // A private NSS database that trusts the per-run CA (HOME is the temp config dir).
    const nssdb = path.join(dir, '.pki', 'nssdb');
    fs.mkdirSync(nssdb, { recursive: true });
    execFileSync('certutil', ['-N', '-d', `sql:${nssdb}`, '--empty-password']);
    execFileSync('certutil', ['-A', '-d', `sql:${nssdb}`, '-n', 'dirsync test CA', '-t', 'C,,', '-i', fake.caCertPath]);
    const pidFile = path.join(dir, 'chromium.pid');
    const env = baseEnv(dir, {
      ...fake.env('global'),
      DIRSYNC_ADMIN_PASSWORD: PASSWORD,
      BROWSER: path.join(ROOT, 'test', 'support', 'chromium-browser.sh'),
      CHROMIUM_PIDFILE: pidFile,
      CHROMIUM_PROFILE: path.join(dir, 'chromium-profile'),
    });
    const c = await runCli(['configure', '--tenant-id', TENANTS.contoso.id, '--client-id', DEFAULT_APP.clientId, '--offline', '--no-consent'], { env });
    expect(c.code, c.stderr).toBe(0);
    try {
      const r = await runDirsync(['consent', '--json', '--timeout', '60s'], { env, timeoutMs: 90_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(r.json()).toMatchObject({ tenantId: TENANTS.contoso.id, account: 'admin@contoso.onmicrosoft.com', adminConsent: true });
      const browserRequests = fake.requests.filter((q) => q.headers.userAgent?.includes('Chrome'));
      expect(browserRequests.map((q) => q.path.split('/').pop())).toEqual(expect.arrayContaining(['adminconsent', 'authorize']));
    } finally {
      const pid = Number(fs.existsSync(pidFile) ? fs.readFileSync(pidFile, 'utf8') : 0);
      if (pid) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    }
  }, 120_000);
});
