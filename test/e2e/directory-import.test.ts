import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { baseEnv, rememberSecret, runCli, tempConfigDir } from '../support/cli.js';

const PASSWORD = 'directory import admin password';

describe('dirsync directory import', () => {
  it('asks for the security check: none or a wrong password changes nothing; --password-stdin imports', async () => {
    rememberSecret(PASSWORD);
    const dir = tempConfigDir();
    const env = baseEnv(dir);
    const configured = await runCli(['configure', '--tenant-id', '72f988bf-86f1-41af-91ab-2d7cd011db47', '--no-consent', '--offline'], {
      env: { ...env, DIRSYNC_ADMIN_PASSWORD: PASSWORD },
    });
    expect(configured.code, configured.stderr).toBe(0);
    const file = path.join(dir, 'people.csv');
    fs.writeFileSync(file, 'type,name,displayName,members\nuser,ann@contoso.com,Ann,\ngroup,Sales,,ann@contoso.com\n');

    const asked = await runCli(['directory', 'import', file], { env });
    expect(asked.code).toBe(2);
    expect(asked.stderr).toMatch(/admin password \(security check\) is required/);
    expect(asked.stderr).toMatch(/--password-stdin/);

    const wrong = await runCli(['directory', 'import', file, '--password-stdin'], { env, input: 'not the password\n' });
    expect(wrong.code).toBe(5);
    expect(wrong.stderr).toMatch(/Wrong admin password/);
    expect((await runCli(['users', 'list', '--json'], { env })).json()).toEqual([]);

    const imported = await runCli(['directory', 'import', file, '--json', '--password-stdin'], { env, input: `${PASSWORD}\n` });
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.json()).toMatchObject({ users: 1, groups: 1, memberships: 1, skipped: [] });
    expect((await runCli(['users', 'list', '--json'], { env })).json()).toEqual([
      expect.objectContaining({ userName: 'ann@contoso.com', updatedBy: 'Administrator' }),
    ]);
  });
});
