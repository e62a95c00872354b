/**
 * config.json as a user meets it: a file from dirsync 0.1.0 still works, an invalid value is
 * refused with the file and the key named, and writers killed with kill -9 leave nothing behind
 * once the next write has run.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { baseEnv, BIN, rememberSecret, runCli, tempConfigDir } from '../support/cli.js';

const FIXTURE = new URL('../fixtures/config-0.1.0.json', import.meta.url);
/** The admin password the 0.1.0 fixture was configured with. */
const FIXTURE_PASSWORD = 'fixture password 0.1.0';
rememberSecret(FIXTURE_PASSWORD);

let dir: string;
let env: NodeJS.ProcessEnv;
let file: string;
beforeEach(() => {
  dir = tempConfigDir();
  env = baseEnv(dir);
  file = path.join(dir, 'config.json');
});

/** What a writer killed mid-write can leave: conf's temp files and the lock (dirsync 0.1.0's temp files too). */
const leftovers = () => fs.readdirSync(dir).filter((f) => /^config\.json\.(tmp-|lock$)|^\.config\.json\..*\.tmp$/.test(f));

describe('config.json', () => {
  it('a config written by dirsync 0.1.0 works as it was: tenant, consent, provisioning, password', async () => {
    fs.copyFileSync(FIXTURE, file);
    fs.chmodSync(file, 0o600);
    const status = await runCli(['status', '--json'], { env });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('72f988bf-86f1-41af-91ab-2d7cd011db47');
    expect(status.stdout).toContain('usgov-high');
    expect(status.stdout).toContain('admin@contoso.onmicrosoft.com');
    expect(status.stdout).toContain('https://dirsync.example.com/scim/v2');
    // The stored password hash still passes the security check.
    const renew = await runCli(['token', 'renew', '--json'], { env: { ...env, DIRSYNC_ADMIN_PASSWORD: FIXTURE_PASSWORD } });
    expect(renew.code, renew.stderr).toBe(0);
    rememberSecret(renew.json().secretCode);
    // The other profile is still locked after its five wrong passwords (until its lockedUntil, in the past now).
    const fixture = JSON.parse(fs.readFileSync(FIXTURE, 'utf8'));
    const after = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(after.profiles['contoso-test']).toEqual(fixture.profiles['contoso-test']);
    expect(after.profiles.default.consent).toEqual(fixture.profiles.default.consent);
    expect(after.profiles.default.tenant).toEqual(fixture.profiles.default.tenant);
  });

  it('an invalid value is refused with the file and the key named (exit 1), and the file is left as it is', async () => {
    const data = JSON.parse(fs.readFileSync(FIXTURE, 'utf8'));
    data.profiles.default.provisioning.importMode = 'everything';
    const text = JSON.stringify(data, null, 2);
    fs.writeFileSync(file, text, { mode: 0o600 });
    for (const args of [['status'], ['token', 'status'], ['token', 'renew']]) {
      const r = await runCli(args, { env: { ...env, DIRSYNC_ADMIN_PASSWORD: FIXTURE_PASSWORD } });
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toContain(`${file} has an invalid value: profiles.default.provisioning.importMode must be equal to one of the allowed values`);
      expect(r.stderr).toContain('.broken');
      expect(fs.readFileSync(file, 'utf8')).toBe(text);
    }
  });

  it('writers killed with kill -9 leave nothing that grows: the next write removes their temp files and lock', async () => {
    const password = 'kill nine password';
    rememberSecret(password);
    const withPassword = { ...env, DIRSYNC_ADMIN_PASSWORD: password };
    const c = await runCli(['configure', '--offline', '--tenant-id', '72f988bf-86f1-41af-91ab-2d7cd011db47', '--no-consent'], { env: withPassword });
    expect(c.code, c.stderr).toBe(0);
    const before = JSON.parse(fs.readFileSync(file, 'utf8')).profiles.default;

    // How long a `token renew` takes here; each killed one dies somewhere in its second half,
    // where it writes config.json (after the password check) and the directory.
    const t0 = Date.now();
    const first = await runCli(['token', 'renew', '--json'], { env: withPassword });
    expect(first.code, first.stderr).toBe(0);
    rememberSecret(first.json().secretCode);
    const duration = Date.now() - t0;

    const seen = { tmp: new Set<string>(), lock: 0 };
    for (let i = 0; i < 40; i++) {
      const child = spawn(process.execPath, [BIN, 'token', 'renew', '--json'], { env: withPassword, stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      child.stdout!.setEncoding('utf8').on('data', (d) => (out += d));
      const exited = new Promise((resolve) => child.once('exit', resolve));
      await new Promise((resolve) => setTimeout(resolve, duration * (0.4 + 0.6 * Math.random())));
      child.kill('SIGKILL');
      await exited;
      const m = /"secretCode": "([^"]+)"/.exec(out);
      if (m) rememberSecret(m[1]!);
      for (const f of leftovers()) if (f.includes('tmp')) seen.tmp.add(f);
      const lock = `${file}.lock`;
      if (fs.existsSync(lock)) {
        seen.lock++;
        // Its owner is dead and will never refresh it: move its clock on by the 10 s after which
        // any writer takes it over, so the next killed writers reach their write instead of waiting.
        const old = new Date(Date.now() - 11_000);
        fs.utimesSync(lock, old, old);
      }
    }
    console.log(`kill -9 loop: 40 writers killed; left behind: ${seen.tmp.size} temp files, a lock ${seen.lock} times`);
    // The next write (one that is not killed) cleans up whatever the killed ones left.
    const last = await runCli(['token', 'renew', '--json'], { env: withPassword, timeoutMs: 60_000 });
    expect(last.code, last.stderr).toBe(0);
    rememberSecret(last.json().secretCode);
    expect(leftovers()).toEqual([]);
    const after = JSON.parse(fs.readFileSync(file, 'utf8')).profiles.default;
    expect(after.tenant).toEqual(before.tenant);
    expect(after.provisioning).toEqual(before.provisioning);
    expect(after.security.passwordHash).toBe(before.security.passwordHash);
  }, 180_000);
});
