/**
 * `npm run demo`: the whole loop on 127.0.0.1, with a temp config dir, as an admin would run it —
 * the real `dirsync` CLI against a fake Entra ID (test/support/fake-entra) that speaks Entra's
 * protocols, and Entra's provisioning service played by test/support/entra-provisioning-client.
 * Nothing leaves the machine.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_APP, startFakeEntra, TENANTS } from '../test/support/fake-entra/index.js';
import { EntraProvisioningClient, entraUser } from '../test/support/entra-provisioning-client.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = path.join(ROOT, 'bin', 'dirsync.js');
const PASSWORD = 'demo admin password';

const bold = (s: string) => (process.stdout.isTTY ? `\u001b[1m${s}\u001b[22m` : s);
let stepNo = 0;
const step = (text: string) => console.log(`\n${bold(`── ${++stepNo}. ${text}`)}`);
const say = (text: string) => console.log(`   ${text}`);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dirsync-demo-'));
const configDir = path.join(tmp, 'config');

/** Runs the real CLI, showing its output; asynchronous, because the fake Entra lives in this process. */
function dirsync(args: string[], env: NodeJS.ProcessEnv, capture = false): Promise<string> {
  console.log(`\n$ dirsync ${args.join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'] });
    let stdout = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      process.stdout.write(d);
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`dirsync ${args[0]} exited ${code}`))));
  });
}

async function main(): Promise<void> {
  step('Start a fake Microsoft Entra ID (HTTPS on 127.0.0.1, with a CA made for this run)');
  const fake = await startFakeEntra({ caDir: path.join(tmp, 'ca') });
  say(`sign-in: ${fake.loginUrl}   Graph: ${fake.graphUrl}`);
  say(`tenant: ${TENANTS.contoso.displayName} (${TENANTS.contoso.domain}), app registration ${DEFAULT_APP.clientId}`);

  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...fake.env('global'),
    DIRSYNC_CONFIG_DIR: configDir,
    DIRSYNC_ADMIN_PASSWORD: PASSWORD,
    // The browser that opens Entra's consent page: a scripted one that clicks "Accept".
    BROWSER: path.join(ROOT, 'test', 'support', 'fake-browser.sh'),
  };
  let serve: ReturnType<typeof spawn> | undefined;
  try {
    step('Configure directory sync: import mode, tenant (by its domain), security check');
    await dirsync(
      ['configure', '--import-mode', 'new-only', '--tenant-id', TENANTS.contoso.domain, '--client-id', DEFAULT_APP.clientId, '--public-url', publicUrl, '--no-consent'],
      env,
    );

    step('Sign in to Entra and grant consent for the organisation (the browser opens Entra\'s page)');
    await dirsync(['consent'], env);

    step('Issue the Secret Code that Entra provisioning will use as its bearer token');
    const renewed = await dirsync(['token', 'renew'], env, true);
    const secretCode = renewed.match(/dsync_[0-9A-Za-z]{49}/)?.[0];
    if (!secretCode) throw new Error('token renew printed no Secret Code');

    step('Start the Tenant URL (dirsync serve)');
    console.log(`\n$ dirsync serve --port ${port} &`);
    serve = spawn(process.execPath, [BIN, 'serve', '--port', String(port)], { env, stdio: ['ignore', 'inherit', 'pipe'] });
    const log: string[] = [];
    await new Promise<void>((resolve, reject) => {
      serve!.stderr!.setEncoding('utf8').on('data', (d: string) => {
        log.push(d);
        if (log.join('').includes('Press Ctrl-C to stop.')) resolve();
      });
      serve!.on('exit', (code) => reject(new Error(`dirsync serve exited ${code}: ${log.join('')}`)));
    });
    say(log.join('').trim().split('\n').join('\n   '));

    step("Entra's provisioning cycle against the Tenant URL, with the Secret Code");
    const entra = new EntraProvisioningClient(`${publicUrl}/scim/v2`, secretCode, 'aadOptscim062020');
    const check = await entra.testConnection();
    say(`Test Connection (filter on a random userName): ${check.status}`);
    const ids: Record<string, string> = {};
    for (const name of ['adele', 'alex', 'megan', 'nestor']) {
      const u = await entra.provisionUser(entraUser(name));
      ids[name] = u.id;
      say(`create user ${name}: ${u.created ? '201 Created' : 'already there'}`);
    }
    const sales = await entra.createGroup('Sales', '0b9e4a0c-3a5e-4f51-9c8e-5ad7d1e2f3a4');
    const eng = await entra.createGroup('Engineering', '5d2c8a1f-7e3b-4c9d-8a6f-2b1e0d9c8b7a');
    say(`create groups Sales, Engineering: ${sales.status}, ${eng.status}`);
    say(`add members: ${(await entra.addMembers(sales.body.id, [ids.adele!, ids.megan!])).status}, ${(await entra.addMembers(eng.body.id, [ids.alex!, ids.nestor!, ids.megan!])).status}`);
    say(`disable nestor: ${(await entra.setActive(ids.nestor!, false)).status}`);
    say(`rename Sales → Sales EMEA: ${(await entra.renameGroup(sales.body.id, 'Sales EMEA')).status}`);
    say(`retry a create Entra already made: ${(await entra.createUser(entraUser('adele'))).status} (uniqueness: Entra then finds it by filter)`);

    step('The groups that arrived');
    await dirsync(['groups', 'list'], env);
    await dirsync(['users', 'list'], env);

    step("Zero-touch rotation: link Entra's provisioning app, read the job, push a renewed Secret Code");
    // In the Entra admin center, the admin had created the enterprise app and pasted the Tenant URL and Secret Code.
    const app = fake.sync.addProvisioningApp({
      tenantId: TENANTS.contoso.id,
      displayName: 'Directory Sync (dirsync)',
      baseAddress: `${publicUrl}/scim/v2`,
      secretToken: secretCode,
    });
    await dirsync(['provisioning', 'link'], env);
    await dirsync(['provisioning', 'status'], env);
    await dirsync(['token', 'renew', '--push'], env);
    const saved = app.secrets.find((x) => x.key === 'SecretToken')?.value;
    const afterPush = await new EntraProvisioningClient(`${publicUrl}/scim/v2`, saved, 'aadOptscim062020').testConnection();
    say(`Entra's next request with the code it now holds: ${afterPush.status}`);
    await dirsync(['status'], env);
  } finally {
    if (serve && serve.exitCode === null) {
      serve.kill('SIGTERM');
      await new Promise((r) => serve!.once('exit', r));
    }
    await fake.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  console.log(`\n${bold('Done.')} Everything ran on 127.0.0.1 in a temp config dir, now removed.`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    import('node:net').then(({ createServer }) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number };
        s.close(() => resolve(port));
      });
    });
  });
}

main().catch((error: Error) => {
  console.error(`\ndemo failed: ${error.message}`);
  process.exit(1);
});
