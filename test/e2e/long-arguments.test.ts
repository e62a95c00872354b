import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, rememberSecret, runCli, tempConfigDir } from '../support/cli.js';

/**
 * A 100 KB value pasted into any flag: the error quotes its first characters and says how long it
 * was — never the whole value — in text and in --json errors alike.
 */
const PASSWORD = 'long argument admin password';
const LONG = 'a'.repeat(102_400);
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';

let dir: string;
let env: NodeJS.ProcessEnv;
let existingFile: string;

beforeAll(async () => {
  dir = tempConfigDir();
  env = baseEnv(dir, { DIRSYNC_ADMIN_PASSWORD: PASSWORD });
  rememberSecret(PASSWORD);
  const r = await runCli(['configure', '--tenant-id', TENANT, '--no-consent', '--offline'], { env });
  expect(r.code, r.stderr).toBe(0);
  existingFile = path.join(dir, 'config.json');
  expect(fs.existsSync(existingFile)).toBe(true);
});

/** Every flag that takes a value (and the arguments that name a file), with the exit code a long value gets. */
/** `parser`: commander's own error (always text; --json covers dirsync's errors). */
const CASES: { name: string; args: () => string[]; exit: number; parser?: boolean }[] = [
  { name: '--profile', args: () => ['--profile', LONG, 'status'], exit: 2 },
  { name: '--config-dir', args: () => ['--config-dir', path.join(dir, LONG), 'status'], exit: 1 },
  { name: 'configure --tenant-id', args: () => ['configure', '--offline', '--tenant-id', LONG], exit: 2 },
  { name: 'configure --cloud', args: () => ['configure', '--offline', '--cloud', LONG], exit: 2 },
  { name: 'configure --import-mode', args: () => ['configure', '--offline', '--import-mode', LONG], exit: 2 },
  { name: 'configure --client-id', args: () => ['configure', '--offline', '--client-id', LONG], exit: 2 },
  { name: 'configure --public-url', args: () => ['configure', '--offline', '--public-url', LONG], exit: 2 },
  { name: 'configure --timeout', args: () => ['configure', '--offline', '--timeout', LONG], exit: 2 },
  { name: 'consent --timeout', args: () => ['consent', '--timeout', LONG], exit: 2 },
  { name: 'token renew --grace', args: () => ['token', 'renew', '--grace', LONG], exit: 2 },
  { name: 'token renew --if-expiring-within', args: () => ['token', 'renew', '--if-expiring-within', LONG], exit: 2 },
  { name: 'token status --warn-within', args: () => ['token', 'status', '--warn-within', LONG], exit: 2 },
  { name: 'groups list --source', args: () => ['groups', 'list', '--source', LONG], exit: 2, parser: true },
  { name: 'groups list --filter', args: () => ['groups', 'list', '--filter', LONG], exit: 0 },
  { name: 'users list --filter', args: () => ['users', 'list', '--filter', LONG], exit: 0 },
  { name: 'directory import FILE', args: () => ['directory', 'import', LONG], exit: 2 },
  { name: 'serve --host', args: () => ['serve', '--port', '0', '--host', LONG], exit: 2 },
  { name: 'serve --port', args: () => ['serve', '--port', LONG], exit: 2 },
  { name: 'serve --public-url', args: () => ['serve', '--public-url', LONG], exit: 2 },
  { name: 'serve --tls-cert', args: () => ['serve', '--tls-cert', LONG, '--tls-key', existingFile], exit: 2 },
  { name: 'serve --tls-key', args: () => ['serve', '--tls-cert', existingFile, '--tls-key', LONG], exit: 2 },
  { name: 'serve --max-body-size', args: () => ['serve', '--max-body-size', LONG], exit: 2 },
  { name: 'an unknown option', args: () => ['status', `--${LONG}`], exit: 2, parser: true },
];

function expectBounded(text: string): void {
  expect(text.length).toBeLessThan(1500);
  expect(text).not.toContain('a'.repeat(61));
  // `"aaa…" (102400 characters)`, quotes escaped in JSON; a path shows its own, longer length.
  expect(text).toMatch(/a{20,60}…(\\?")? \(1024\d\d characters\)/);
}

describe('a 100 KB value in any flag is quoted short', () => {
  it.each(CASES)('$name', async ({ args, exit, parser }) => {
    const text = await runCli(args(), { env });
    expect(text.code, text.stderr.slice(0, 500)).toBe(exit);
    expectBounded(text.stdout + text.stderr);
    if (exit === 0 || parser) return;
    const json = await runCli(['--json', ...args()], { env });
    expect(json.code).toBe(exit);
    expect(json.stdout).toBe('');
    const error = JSON.parse(json.stderr.trim().split('\n').pop()!).error;
    expect(error.exitCode).toBe(exit);
    expectBounded(json.stderr);
    expect(error.message).toMatch(/characters\)/);
  });
});
