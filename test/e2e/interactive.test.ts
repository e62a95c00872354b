import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { baseEnv, rememberSecret, ROOT, runCli, tempConfigDir } from '../support/cli.js';
import { KEY, PtySession } from '../support/pty.js';

const PASSWORD = 'interactive admin pass';
rememberSecret(PASSWORD);
const TENANT = '9188040d-6c67-4c5b-b112-36a304b66dad';

let session: PtySession | undefined;
afterEach(() => session?.kill());

const pause = (ms = 150) => new Promise((r) => setTimeout(r, ms));

async function answer(s: PtySession, prompt: string | RegExp, keys: string): Promise<void> {
  await s.waitFor(prompt);
  await pause();
  s.write(keys);
}

describe('configure at a terminal', () => {
  it('asks the reference procedure\'s questions in order, validates as you type, and never echoes the password', async () => {
    const dir = tempConfigDir();
    session = new PtySession(['configure', '--offline'], baseEnv(dir, { TERM: 'xterm-256color' }));
    const s = session;
    // 1. The import question first; "No" (new users and groups only) is the default.
    await answer(s, 'sync existing users and groups', KEY.down + KEY.enter);
    // 2. The tenant ID, with where to find it; a bad value is refused in place.
    await s.waitFor('Tenant properties');
    await answer(s, 'Microsoft Entra tenant ID', 'contoso');
    await pause();
    s.write(KEY.enter);
    await s.waitFor('Expected a GUID');
    await pause();
    s.write('\u007f'.repeat(7) + TENANT.toUpperCase());
    await pause();
    s.write(KEY.enter);
    // 3. GCC High, explained.
    await s.waitFor('Only US federal customers');
    await answer(s, 'GCC High environment?', 'y' + KEY.enter);
    // The app registration for sign-in: a bad value is refused, empty skips sign-in for now.
    await s.waitFor('Leave it empty to sign in later');
    await answer(s, 'Application (client) ID', 'my-app' + KEY.enter);
    await s.waitFor('Expected a GUID like');
    await pause();
    s.write('\u007f'.repeat(6));
    await pause();
    s.write(KEY.enter);
    // 4. The new admin password, twice; a mismatch asks again.
    await answer(s, 'New admin password', PASSWORD + KEY.enter);
    await answer(s, 'Repeat the admin password', 'something else!' + KEY.enter);
    await s.waitFor('The two passwords differ');
    await pause();
    await answer(s, /New admin password[\s\S]*New admin password/, PASSWORD + KEY.enter);
    await pause(300);
    s.write(PASSWORD + KEY.enter);
    expect(await s.exitCode).toBe(0);
    expect(s.text).toContain('Directory sync is configured');
    expect(s.text).toContain('dirsync consent');
    expect(s.text).not.toContain(PASSWORD);

    const stored = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).profiles.default;
    expect(stored.tenant).toMatchObject({ tenantId: TENANT, cloud: 'usgov-high' });
    expect(stored.provisioning.importMode).toBe('sync-existing');
    // The password set at the prompt is the one the security check takes.
    const renew = await runCli(['token', 'renew', '--json'], { env: baseEnv(dir, { DIRSYNC_ADMIN_PASSWORD: PASSWORD }) });
    expect(renew.code, renew.stderr).toBe(0);
    rememberSecret(renew.json().secretCode);
  });

  it('Ctrl-C at a prompt exits 130 and writes nothing', async () => {
    const dir = tempConfigDir();
    session = new PtySession(['configure', '--offline'], baseEnv(dir, { TERM: 'xterm-256color' }));
    await answer(session, 'sync existing users and groups', KEY.ctrlC);
    expect(await session.exitCode).toBe(130);
    expect(fs.existsSync(path.join(dir, 'config.json'))).toBe(false);
  });

  it('asks for the security check password on a configured profile, masked', async () => {
    const dir = tempConfigDir();
    const setup = await runCli(['configure', '--offline', '--tenant-id', TENANT], { env: baseEnv(dir, { DIRSYNC_ADMIN_PASSWORD: PASSWORD }) });
    expect(setup.code, setup.stderr).toBe(0);
    session = new PtySession(['token', 'renew'], baseEnv(dir, { TERM: 'xterm-256color' }));
    await answer(session, 'Security check — admin password', PASSWORD + KEY.enter);
    expect(await session.exitCode).toBe(0);
    const code = session.text.match(/dsync_[0-9A-Za-z]{49}/)?.[0];
    expect(code).toBeDefined();
    rememberSecret(code!);
    expect(session.text).not.toContain(PASSWORD);
    expect(session.text).toContain('*'.repeat(PASSWORD.length));
  });
});

describe('configure → consent at a terminal', () => {
  it('asks everything, opens the browser, shows a spinner while waiting, and ends with the next step', async () => {
    const { startFakeEntra, TENANTS, DEFAULT_APP } = await import('../support/fake-entra/index.js');
    const os = await import('node:os');
    const fake = await startFakeEntra({ caDir: fs.mkdtempSync(path.join(os.tmpdir(), 'dirsync-pty-ca-')) });
    try {
      const dir = tempConfigDir();
      session = new PtySession(
        ['configure'],
        baseEnv(dir, {
          TERM: 'xterm-256color',
          ...fake.env('global'),
          BROWSER: path.join(ROOT, 'test', 'support', 'fake-browser.sh'),
          // The admin takes a moment on Entra's page, so the spinner shows.
          FAKE_BROWSER_DELAY_MS: '1200',
        }),
      );
      const s = session;
      await answer(s, 'sync existing users and groups', KEY.enter);
      await answer(s, 'Microsoft Entra tenant ID', TENANTS.contoso.id + KEY.enter);
      await answer(s, 'GCC High environment?', KEY.enter);
      await answer(s, 'Application (client) ID', DEFAULT_APP.clientId + KEY.enter);
      await answer(s, 'New admin password', PASSWORD + KEY.enter);
      await answer(s, 'Repeat the admin password', PASSWORD + KEY.enter);
      await s.waitFor('Open this URL to continue in your web browser');
      await s.waitFor(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] Waiting for you to sign in and grant consent in the browser/);
      expect(await s.exitCode).toBe(0);
      expect(s.text).toContain('Consent granted for Contoso');
      expect(s.text).toContain('dirsync token renew');
      expect(s.text).not.toContain(PASSWORD);
      const stored = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).profiles.default;
      expect(stored.tenant.clientId).toBe(DEFAULT_APP.clientId);
      expect(stored.consent.account).toBe('admin@contoso.onmicrosoft.com');
    } finally {
      await fake.close();
    }
  });
});
