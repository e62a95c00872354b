// `npm run demo`, the README's first command: the whole loop must run (build/demo is compiled by `npm run build`).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { expect, it } from 'vitest';
import { record, rememberSecret, ROOT } from '../support/cli.js';

it('npm run demo runs configure → consent → token renew → serve → an Entra provisioning cycle → groups list', async () => {
  const child = spawn(process.execPath, [path.join(ROOT, 'build', 'demo', 'scripts', 'demo.js')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const code = await new Promise((resolve) => child.on('exit', resolve));
  const secret = stdout.match(/dsync_[0-9A-Za-z]{49}/)?.[0];
  if (secret) rememberSecret(secret);
  record(['demo'], { stdout, stderr });
  expect(code, stderr).toBe(0);
  expect(stderr).toContain('Consent granted for Contoso');
  expect(stdout).toContain('Test Connection (filter on a random userName): 200');
  expect(stdout).toMatch(/Engineering\t5d2c8a1f-7e3b-4c9d-8a6f-2b1e0d9c8b7a\tMicrosoft Entra ID\t3\t/);
  expect(stdout).toMatch(/Sales EMEA\t0b9e4a0c-3a5e-4f51-9c8e-5ad7d1e2f3a4\tMicrosoft Entra ID\t2\t/);
  expect(stdout).toMatch(/usernestor@contoso\.com\t.*\tinactive\t/);
  expect(stdout).toMatch(/Directory:\s+4 users \(3 active\), 2 groups/);
}, 120_000);
