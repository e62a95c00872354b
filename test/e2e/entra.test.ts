import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { baseEnv, rememberSecret, ROOT, runCli, tempConfigDir } from '../support/cli.js';
import { startConnectProxy } from '../support/connect-proxy.js';
import { runDirsync, startDirsync } from '../support/entra-cli.js';
import { createClientCertificate, DEFAULT_APP, startFakeEntra, TENANTS, type FakeEntra } from '../support/fake-entra/index.js';

const PASSWORD = 'entra e2e admin password';
rememberSecret(PASSWORD);
rememberSecret(DEFAULT_APP.secret);
const CI_APP = 'c1c1c1c1-0000-4000-8000-00000000c1c1';
const FEDERATED_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmNvbnRvc28vZGlyc3luYzplbnZpcm9ubWVudDpwcm9kIn0.c2lnbmF0dXJl';
rememberSecret(FEDERATED_TOKEN);

let fake: FakeEntra;
let caDir: string;
let dir: string;

beforeAll(async () => {
  caDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dirsync-entra-ca-'));
  fake = await startFakeEntra({ caDir });
  const cert = createClientCertificate(caDir, 'ci');
  fake.addApp({ clientId: CI_APP, displayName: 'dirsync CI', secrets: [{ value: DEFAULT_APP.secret }], certificates: [cert.certPem], federatedTokens: [FEDERATED_TOKEN] });
});
afterAll(async () => {
  await fake?.close();
});

beforeEach(() => {
  dir = tempConfigDir('dirsync-entra-');
  fake.requests.length = 0;
  Object.assign(fake.knobs, { outcome: null, expiredClientSecret: false, graph429Next: 0, graph503Next: 0, graphRejectWildcardLanguage: false });
  const contoso = fake.tenants.get(TENANTS.contoso.id)!;
  contoso.generatedGroups = 0;
});

const ci = (extra: NodeJS.ProcessEnv = {}) =>
  baseEnv(dir, { ...fake.env('global'), AZURE_TENANT_ID: TENANTS.contoso.id, AZURE_CLIENT_ID: CI_APP, AZURE_CLIENT_SECRET: DEFAULT_APP.secret, ...extra });

const list = (env: NodeJS.ProcessEnv, extra: string[] = []) => runDirsync(['groups', 'list', '--source', 'entra', ...extra], { env, timeoutMs: 60_000 });

describe('groups list --source entra with CI credentials (no human)', () => {
  it('AZURE_CLIENT_SECRET: app-only token, groups as JSON in the local list\'s shape', async () => {
    const r = await list(ci(), ['--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toEqual([
      { name: 'Engineering', id: '0f1e2d3c-0000-4000-8000-000000000001', updatedBy: 'Microsoft Entra ID', members: null, updatedAt: null },
      { name: 'Finance', id: '0f1e2d3c-0000-4000-8000-000000000002', updatedBy: 'Microsoft Entra ID', members: null, updatedAt: null },
      { name: 'Sales EMEA', id: '0f1e2d3c-0000-4000-8000-000000000003', updatedBy: 'Microsoft Entra ID', members: null, updatedAt: null },
    ]);
    const token = fake.requests.find((q) => q.path.endsWith('/oauth2/v2.0/token'));
    expect(token?.form).toMatchObject({ grant_type: 'client_credentials', client_id: CI_APP, client_secret: '[redacted]', scope: 'https://graph.microsoft.com/.default' });
    const groups = fake.requests.find((q) => q.path === '/v1.0/groups');
    expect(groups?.query).toMatchObject({ $select: 'id,displayName', $top: '999' });
    expect(groups?.headers.acceptLanguage).toBe('en-US');
  });

  it('--debug names the credential and endpoints, never the secret or a token', async () => {
    const r = await list(ci(), ['--debug']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/credential: app-only credential \(AZURE_CLIENT_ID c1c1c1c1-.* with AZURE_CLIENT_SECRET\)/);
    expect(r.stderr).toMatch(/GET https:\/\/127\.0\.0\.1:\d+\/v1\.0\/groups/);
    expect(r.stderr).not.toContain(DEFAULT_APP.secret);
    expect(r.stderr).not.toMatch(/eyJ[A-Za-z0-9_-]{8,}\./);
  });

  it('AZURE_CLIENT_CERTIFICATE_PATH: a signed client assertion', async () => {
    const r = await list(ci({ AZURE_CLIENT_SECRET: undefined, AZURE_CLIENT_CERTIFICATE_PATH: path.join(caDir, 'ci.pem') }), ['--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toHaveLength(3);
    const token = fake.requests.find((q) => q.path.endsWith('/oauth2/v2.0/token'));
    expect(token?.form?.client_assertion_type).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
  });

  it('AZURE_FEDERATED_TOKEN_FILE: workload identity', async () => {
    const file = path.join(dir, 'federated-token');
    fs.writeFileSync(file, `${FEDERATED_TOKEN}\n`);
    const r = await list(ci({ AZURE_CLIENT_SECRET: undefined, AZURE_FEDERATED_TOKEN_FILE: file }), ['--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toHaveLength(3);
  });

  it('an expired client secret (AADSTS7000222) is exit 4 naming AZURE_CLIENT_SECRET', async () => {
    fake.knobs.expiredClientSecret = true;
    const r = await list(ci());
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/AADSTS7000222/);
    expect(r.stderr).toMatch(/AZURE_CLIENT_SECRET/);
    expect(r.stdout).toBe('');
  });

  it('a wrong client secret (AADSTS7000215) names AZURE_CLIENT_SECRET; a wrong federated token names AZURE_FEDERATED_TOKEN_FILE', async () => {
    const wrong = await list(ci({ AZURE_CLIENT_SECRET: 'not-the-secret-value' }));
    expect(wrong.code, wrong.stderr).toBe(4);
    expect(wrong.stderr).toMatch(/AADSTS7000215[\s\S]*AZURE_CLIENT_SECRET/);
    const file = path.join(dir, 'other-token');
    fs.writeFileSync(file, 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJvdGhlciJ9.c2ln');
    const fed = await list(ci({ AZURE_CLIENT_SECRET: undefined, AZURE_FEDERATED_TOKEN_FILE: file }));
    expect(fed.code, fed.stderr).toBe(4);
    expect(fed.stderr).toMatch(/AADSTS700213[\s\S]*AZURE_FEDERATED_TOKEN_FILE/);
    const missing = await list(ci({ AZURE_CLIENT_SECRET: undefined, AZURE_CLIENT_CERTIFICATE_PATH: path.join(dir, 'nope.pem') }));
    expect(missing.code, missing.stderr).toBe(2);
    expect(missing.stderr).toMatch(/AZURE_CLIENT_CERTIFICATE_PATH/);
  });

  it('without any credential or sign-in: exit 3/4 with what to set', async () => {
    const r = await list(baseEnv(dir, { ...fake.env('global') }));
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/AZURE_CLIENT_ID/);
  });
});

describe('groups list --source entra: paging, throttling, filtering', () => {
  it('follows @odata.nextLink, honours 429 Retry-After, sets Accept-Language, filters by name', async () => {
    fake.tenants.get(TENANTS.contoso.id)!.generatedGroups = 2500;
    fake.knobs.graph429Next = 2;
    fake.knobs.graphRetryAfterSeconds = 1;
    fake.knobs.graphRejectWildcardLanguage = true;
    const r = await list(ci(), ['--json']);
    expect(r.code, r.stderr).toBe(0);
    const groups = r.json();
    expect(groups).toHaveLength(2503);
    expect(new Set(groups.map((g: { id: string }) => g.id)).size).toBe(2503);
    const graphCalls = fake.requests.filter((q) => q.role === 'graph');
    expect(graphCalls.filter((q) => q.status === 429)).toHaveLength(2);
    expect(graphCalls.filter((q) => q.status === 200)).toHaveLength(3);
    const filtered = await list(ci(), ['--json', '--filter', 'FIN']);
    expect(filtered.code, filtered.stderr).toBe(0);
    expect(filtered.json().map((g: { name: string }) => g.name)).toContain('Finance');
    for (const g of filtered.json()) expect(g.name.toLowerCase()).toContain('fin');
  });

  it('tab-separated rows when stdout is a pipe; a friendly line when nothing matches', async () => {
    const r = await list(ci());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('Engineering\t0f1e2d3c-0000-4000-8000-000000000001');
    const none = await list(ci(), ['--filter', 'no such group']);
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('');
    expect(none.stderr).toMatch(/No group name in Microsoft Entra contains "no such group"/);
  });

  it('100k groups stream: rows reach stdout while Graph is still being paged, in bounded memory', async () => {
    fake.tenants.get(TENANTS.contoso.id)!.generatedGroups = 100_000;
    const rssFile = path.join(dir, 'maxrss');
    const running = startDirsync(['groups', 'list', '--source', 'entra', '--json'], {
      env: ci({ DIRSYNC_TEST_MAXRSS_FILE: rssFile }),
      nodeArgs: ['--import', path.join(ROOT, 'test', 'support', 'maxrss.mjs')],
      timeoutMs: 120_000,
    });
    let firstOutput: Date | undefined;
    running.child.stdout!.once('data', () => (firstOutput = new Date()));
    const r = await running.done;
    expect(r.code, r.stderr).toBe(0);
    const rows = r.json();
    expect(rows).toHaveLength(100_003);
    const pages = fake.requests.filter((q) => q.role === 'graph' && q.path === '/v1.0/groups');
    expect(pages).toHaveLength(101);
    // Streamed: the first rows were written before the last page was even asked for.
    expect(firstOutput!.getTime()).toBeLessThan(pages.at(-1)!.at.getTime());
    // Peak memory stays bounded whatever the count. (undici, the HTTP client behind Graph, costs
    // about 40 MiB more than node:http here; see test/bench/groups-entra.mjs for the figures.)
    const peakMiB = Number(fs.readFileSync(rssFile, 'utf8').trim()) / 1024;
    expect(peakMiB).toBeLessThan(140);
  }, 180_000);
});

describe('the cached sign-in from dirsync consent', () => {
  it('later Graph commands use it without opening a browser', async () => {
    const env = baseEnv(dir, {
      ...fake.env('global'),
      DIRSYNC_ADMIN_PASSWORD: PASSWORD,
      BROWSER: path.join(ROOT, 'test', 'support', 'fake-browser.sh'),
    });
    const c = await runCli(['configure', '--tenant-id', TENANTS.contoso.id, '--client-id', DEFAULT_APP.clientId, '--offline', '--no-consent'], { env });
    expect(c.code, c.stderr).toBe(0);
    const consent = await runDirsync(['consent'], { env });
    expect(consent.code, consent.stderr).toBe(0);
    fake.requests.length = 0;
    const r = await list({ ...env, BROWSER: '/bin/false' }, ['--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toHaveLength(3);
    expect(fake.requests.some((q) => q.path.endsWith('/authorize') || q.path.endsWith('/adminconsent'))).toBe(false);
    // unconfigure forgets the sign-in; Graph commands then say how to sign in again (exit 3: no tenant).
    const cache = path.join(dir, 'msal-cache.json');
    expect(fs.existsSync(cache)).toBe(true);
    const u = await runCli(['unconfigure', '--yes'], { env });
    expect(u.code, u.stderr).toBe(0);
    expect(fs.existsSync(cache)).toBe(false);
    const after = await list(env);
    expect(after.code, after.stderr).toBe(3);
  });
});

describe('proxy settings', () => {
  it('HTTPS_PROXY carries every Microsoft call through a CONNECT tunnel; NO_PROXY bypasses it', async () => {
    const proxy = await startConnectProxy();
    try {
      const login = new URL(fake.loginUrl).host;
      const graph = new URL(fake.graphUrl).host;
      const r = await list(ci({ HTTPS_PROXY: proxy.url }), ['--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(proxy.tunnels).toContain(login);
      expect(proxy.tunnels).toContain(graph);
      const before = proxy.tunnels.length;
      const bypass = await list(ci({ https_proxy: proxy.url, NO_PROXY: '127.0.0.1' }), ['--json']);
      expect(bypass.code, bypass.stderr).toBe(0);
      expect(proxy.tunnels.length).toBe(before);
    } finally {
      await proxy.close();
    }
  });

  it('a proxy that refuses the tunnel is explained (exit 1)', async () => {
    const proxy = await startConnectProxy({ refuse: true });
    try {
      const r = await list(ci({ HTTPS_PROXY: proxy.url }));
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/proxy/i);
      expect(r.stderr).toMatch(/HTTPS_PROXY/);
    } finally {
      await proxy.close();
    }
  });
});

describe('TLS trust', () => {
  it('an untrusted certificate is explained, never bypassed', async () => {
    const env = ci();
    delete env.NODE_EXTRA_CA_CERTS;
    const r = await list(env);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/not trusted/);
    expect(r.stderr).toMatch(/NODE_EXTRA_CA_CERTS/);
  });
});
