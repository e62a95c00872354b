import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigStore, type ConfigFile } from '../../src/config/store.js';
import { ROOT } from '../support/cli.js';

const FIXTURE = new URL('../fixtures/config-0.1.0.json', import.meta.url);
const fixture = (): ConfigFile => JSON.parse(fs.readFileSync(FIXTURE, 'utf8'));

let dir: string;
let file: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dirsync-config-'));
  file = path.join(dir, 'config.json');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** What the file holds, without conf's own bookkeeping. */
function stored(): ConfigFile {
  const { __internal__: _, ...rest } = JSON.parse(fs.readFileSync(file, 'utf8'));
  return rest;
}

const JOB = {
  servicePrincipalId: '4a5b6c7d-0000-4000-8000-000000000001',
  appId: '8adf8e6e-67b2-4cf2-a259-e3dc5476c621',
  displayName: 'dirsync provisioning',
  jobId: 'scim.4a5b6c7d000040008000000000000001.72f988bf86f141af91ab2d7cd011db47',
  linkedAt: '2026-12-02T14:00:00.000Z',
};

describe('config.json held by conf', () => {
  it('loads a file written by dirsync 0.1.0 with nothing lost, and keeps it all through a write', () => {
    fs.copyFileSync(FIXTURE, file);
    const store = new ConfigStore(file);
    expect(store.read()).toEqual(fixture());
    expect(store.profile('contoso-test').security?.lockedUntil).toBe('2026-12-02T13:45:00.000Z');

    store.updateProfile('default', (p) => ({ ...p, provisioningJob: JOB }));
    const after = stored();
    expect(after.schemaVersion).toBe(1);
    expect(after.profiles['contoso-test']).toEqual(fixture().profiles['contoso-test']);
    expect(after.profiles.default).toEqual({ ...fixture().profiles.default, provisioningJob: JOB });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    // Still a file dirsync 0.1.0 reads: schemaVersion and profiles at the top.
    expect(Object.keys(JSON.parse(fs.readFileSync(file, 'utf8')))).toEqual(expect.arrayContaining(['schemaVersion', 'profiles']));
  });

  it('creates a new file 0600 in a 0700 dir, and a read creates nothing', () => {
    const nested = path.join(dir, 'new');
    const store = new ConfigStore(path.join(nested, 'config.json'));
    expect(store.profile('default')).toEqual({});
    expect(fs.existsSync(nested)).toBe(false);
    store.updateProfile('default', () => ({ provisioning: { importMode: 'new-only' } }));
    expect(fs.statSync(nested).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(nested, 'config.json')).mode & 0o777).toBe(0o600);
    expect(new ConfigStore(path.join(nested, 'config.json')).profile('default')).toEqual({ provisioning: { importMode: 'new-only' } });
  });

  it('removes a profile that becomes empty, and keeps the others', () => {
    const store = new ConfigStore(file);
    store.updateProfile('a', () => ({ provisioning: { importMode: 'new-only' } }));
    store.updateProfile('b', () => ({ provisioning: { importMode: 'sync-existing' } }));
    store.updateProfile('a', () => undefined);
    expect(Object.keys(stored().profiles)).toEqual(['b']);
  });

  it('refuses to write an invalid value, naming the file and the key, and leaves the file as it was', () => {
    fs.copyFileSync(FIXTURE, file);
    const store = new ConfigStore(file);
    expect(() =>
      store.updateProfile('default', (p) => ({ ...p, provisioning: { importMode: 'everything' as 'new-only' } })),
    ).toThrow(`dirsync refused to write ${file}: profiles.default.provisioning.importMode must be equal to one of the allowed values`);
    expect(() => store.updateProfile('default', (p) => ({ ...p, provisioningJob: { ...JOB, linkedAt: 'yesterday' } }))).toThrow(
      'profiles.default.provisioningJob.linkedAt must match format "date-time"',
    );
    expect(stored()).toEqual(fixture());
  });

  it('refuses to read an invalid value, naming the file, the key and the recovery', () => {
    const data = fixture();
    data.profiles.default!.tenant!.cloud = 'mars' as 'global';
    data.profiles.default!.lastFailure = { message: 'x', at: 'not a date' };
    const text = JSON.stringify(data, null, 2);
    fs.writeFileSync(file, text);
    const error = (() => {
      try {
        new ConfigStore(file).read();
      } catch (e) {
        return e as Error & { hint?: string; exitCode?: number };
      }
    })();
    expect(error?.message).toContain(`The configuration file ${file} has an invalid value: profiles.default.tenant.cloud must be equal to one of the allowed values`);
    expect(error?.message).toContain('profiles.default.lastFailure.at must match format "date-time"');
    expect(error?.hint).toContain(`mv "${file}" "${file}.broken"`);
    expect(error?.exitCode).toBe(1);
    expect(() => new ConfigStore(file).updateProfile('default', (p) => p)).toThrow('has an invalid value');
    expect(fs.readFileSync(file, 'utf8')).toBe(text);
  });

  it('refuses a file written by a newer dirsync, on read and on write, without changing it', () => {
    const text = JSON.stringify({ ...fixture(), schemaVersion: 2 });
    fs.writeFileSync(file, text);
    const store = new ConfigStore(file);
    expect(() => store.read()).toThrow('was written by a newer dirsync (schema 2; this one knows 1)');
    expect(() => store.updateProfile('default', (p) => p)).toThrow('was written by a newer dirsync');
    expect(fs.readFileSync(file, 'utf8')).toBe(text);
  });

  it('the next write removes the temp files and the lock a killed writer left, and nothing else', () => {
    fs.copyFileSync(FIXTURE, file);
    const leftovers = ['config.json.tmp-4683210123abc123', '.config.json.4242.1764683210123.k3j4h5.tmp'];
    for (const name of leftovers) fs.writeFileSync(path.join(dir, name), '{"half": ');
    fs.writeFileSync(path.join(dir, 'config.json.bak'), 'mine');
    // A lock (proper-lockfile: a directory) that its dead owner stopped refreshing 20 s ago.
    fs.mkdirSync(`${file}.lock`);
    const old = new Date(Date.now() - 20_000);
    fs.utimesSync(`${file}.lock`, old, old);

    const started = Date.now();
    new ConfigStore(file).updateProfile('default', (p) => ({ ...p, provisioning: { importMode: 'new-only' } }));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(fs.readdirSync(dir).sort()).toEqual(['config.json', 'config.json.bak']);
    expect(stored().profiles.default?.provisioning?.importMode).toBe('new-only');
  });

  it('takes over a lock file that a killed dirsync 0.1.0 left', () => {
    fs.copyFileSync(FIXTURE, file);
    fs.writeFileSync(`${file}.lock`, '4242', { mode: 0o600 });
    const old = new Date(Date.now() - 40_000);
    fs.utimesSync(`${file}.lock`, old, old);
    new ConfigStore(file).updateProfile('default', (p) => ({ ...p, provisioning: { importMode: 'new-only' } }));
    expect(stored().profiles.default?.provisioning?.importMode).toBe('new-only');
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
  });

  it('waits while another process holds the lock, then writes', async () => {
    fs.copyFileSync(FIXTURE, file);
    // Another process takes the lock with proper-lockfile (it keeps it fresh) and holds it 2 s.
    const holder = spawn(
      process.execPath,
      ['-e', `require('proper-lockfile').lock(${JSON.stringify(file)}, { realpath: false }).then((release) => { console.log('held'); setTimeout(release, 2000); })`],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise((resolve) => holder.stdout!.once('data', resolve));
    const started = Date.now();
    new ConfigStore(file).updateProfile('default', (p) => ({ ...p, provisioning: { importMode: 'new-only' } }));
    expect(Date.now() - started).toBeGreaterThan(1_000);
    expect(stored().profiles.default?.provisioning?.importMode).toBe('new-only');
    await new Promise((resolve) => holder.once('exit', resolve));
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
  });
});

describe('the default config dir', () => {
  it('is the one conf would choose for dirsync (env-paths, suffix "nodejs")', async () => {
    const { default: envPaths } = await import('env-paths');
    const { defaultConfigDir } = await import('../../src/config/paths.js');
    expect(defaultConfigDir(process.env)).toBe(envPaths('dirsync', { suffix: 'nodejs' }).config);
    expect(defaultConfigDir({ HOME: '/home/ada' }, 'linux')).toBe('/home/ada/.config/dirsync-nodejs');
  });
});
