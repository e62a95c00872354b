import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthError, OperationError, UsageError } from '../../src/errors.js';
import { aadstsCode, authFailure, describeFailure, supportIds } from '../../src/entra/aadsts.js';
import { fileCachePlugin } from '../../src/entra/cache.js';
import { detectCloud, discoverTenant, parseTenantOrDomain } from '../../src/entra/discovery.js';
import { GraphClient } from '../../src/entra/graph.js';
import { proxySettings, type HttpClient } from '../../src/entra/http.js';
import { Loopback } from '../../src/entra/loopback.js';
import { browserUnavailable } from '../../src/cli/consent.js';
import { startFakeEntra, TENANTS, type FakeEntra } from '../support/fake-entra/index.js';

const response = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(typeof body === 'string' ? body : JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

/** A transport that answers Graph's requests from `answer` (the Graph client uses its streaming `fetch`). */
const transport = (answer: (url: string, init: { method?: string; headers?: Record<string, string> }) => Response | Promise<Response>): HttpClient =>
  Object.assign(async () => {
    throw new Error('not used by Graph');
  }, { fetch: async (url: string, init: { method?: string; headers?: Record<string, string> } = {}) => answer(url, init) as never }) as unknown as HttpClient;

describe('AADSTS catalogue', () => {
  it('reads the code from error_codes or the description, and the support IDs from Entra\'s text', () => {
    const f = {
      error: 'invalid_client',
      description:
        'AADSTS7000222: The provided client secret keys for app \'x\' are expired. Trace ID: 0d0c4a4e-4f8f-4a55-9b8d-4a9c1c2e3f40 Correlation ID: 5b6d7e8f-1a2b-4c3d-9e8f-0a1b2c3d4e5f Timestamp: 2025-10-05 12:00:00Z',
    };
    expect(aadstsCode(f)).toBe(7000222);
    expect(aadstsCode({ codes: [65004] })).toBe(65004);
    expect(supportIds(f)).toEqual({
      traceId: '0d0c4a4e-4f8f-4a55-9b8d-4a9c1c2e3f40',
      correlationId: '5b6d7e8f-1a2b-4c3d-9e8f-0a1b2c3d4e5f',
      timestamp: '2025-10-05 12:00:00Z',
    });
    const e = authFailure(f, { appOnly: true });
    expect(e).toBeInstanceOf(AuthError);
    expect(e.exitCode).toBe(4);
    expect(e.message).toMatch(/expired \(AADSTS7000222\)/);
    expect(e.message).toMatch(/Correlation ID 5b6d7e8f/);
    expect(e.hint).toMatch(/^Review: AZURE_CLIENT_SECRET/);
  });

  it.each([
    [65004, /Accept/],
    [700016, /client ID and the app registration/],
    [50011, /redirect URI http:\/\/localhost/],
    [900439, /--gcc-high/],
    [900440, /--cloud global/],
    [90094, /Global Administrator/],
    [53003, /Conditional Access/i],
  ])('AADSTS%i names the setting to review', (code, review) => {
    const d = describeFailure({ error: 'access_denied', description: `AADSTS${code}: something.` });
    expect(d.code).toBe(code);
    expect(d.review).toMatch(review);
  });

  it('an unknown tenant is a usage error (2); an unknown code keeps Entra\'s words', () => {
    expect(authFailure({ error: 'invalid_tenant', description: 'AADSTS90002: Tenant not found.' })).toBeInstanceOf(UsageError);
    const d = describeFailure({ error: 'invalid_request', description: 'AADSTS123456: Something new happened.' });
    expect(d.what).toMatch(/Entra said: AADSTS123456: Something new happened\./);
  });
});

describe('tenant discovery', () => {
  let fake: FakeEntra;
  let http: HttpClient;
  beforeAll(async () => {
    fake = await startFakeEntra({ caDir: fs.mkdtempSync(path.join(os.tmpdir(), 'dirsync-disc-ca-')) });
    // The test process cannot trust the per-run CA through NODE_EXTRA_CA_CERTS; use the fake's CA-aware fetch.
    const send = (url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) =>
      fake.fetch(url, { method: init.method, headers: init.headers, body: init.body });
    http = Object.assign(
      async (url: string, init = {}) => {
        const res = await send(url, init);
        const text = await res.text();
        return { status: res.status, headers: Object.fromEntries(res.headers), text, json: <T>() => JSON.parse(text) as T };
      },
      { fetch: send as never },
    ) as HttpClient;
  });
  afterAll(async () => fake?.close());
  const env = (cloud: 'global' | 'usgov' = 'global') => fake.env(cloud);

  it('resolves a verified domain to the tenant GUID', async () => {
    const d = await discoverTenant('Contoso.onmicrosoft.com', 'global', env(), { http });
    expect(d).toMatchObject({ tenantId: TENANTS.contoso.id, cloud: 'global', domain: 'contoso.onmicrosoft.com' });
  });

  it('GCC (moderate) is global; GCC High is usgov-high', async () => {
    expect((await discoverTenant(TENANTS.gcc.id, 'global', env(), { http })).cloud).toBe('global');
    expect((await discoverTenant(TENANTS.gccHigh.id, 'usgov-high', env('usgov'), { http })).cloud).toBe('usgov-high');
  });

  it('an unknown tenant is exit 2 with the GCC High question', async () => {
    const e = await discoverTenant(TENANTS.unknownId, 'global', env(), { http }).catch((x) => x);
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toMatch(/not found in Global.*AADSTS90002.*check the Tenant ID and whether it is a GCC High tenant/);
  });

  it('both cloud mismatches are exit 2 with the exact fix', async () => {
    const missing = await discoverTenant(TENANTS.gccHigh.id, 'global', env(), { http }).catch((x) => x);
    expect(missing).toBeInstanceOf(UsageError);
    expect(missing.hint).toBe('Run `dirsync configure --gcc-high`.');
    const extra = await discoverTenant(TENANTS.gcc.id, 'usgov-high', env('usgov'), { http }).catch((x) => x);
    expect(extra).toBeInstanceOf(UsageError);
    expect(extra.message).toMatch(/GCC \(moderate\) and commercial tenants are global/);
    expect(extra.hint).toMatch(/--cloud global/);
  });

  it('reads the cloud markers like Entra writes them', () => {
    expect(detectCloud({ tenant_region_scope: 'NA', tenant_region_sub_scope: 'GCC', cloud_instance_name: 'microsoftonline.com' })).toBe('global');
    expect(detectCloud({ tenant_region_scope: 'USGov', tenant_region_sub_scope: 'DODCON', cloud_instance_name: 'microsoftonline.us' })).toBe('usgov-high');
    expect(detectCloud({ tenant_region_scope: 'USGov', tenant_region_sub_scope: 'DOD', cloud_instance_name: 'microsoftonline.us' })).toBe('usgov-dod');
    expect(detectCloud({ cloud_instance_name: 'partner.microsoftonline.cn' })).toBe('china');
    expect(() => parseTenantOrDomain('not a tenant!')).toThrow(UsageError);
  });
});

describe('proxy settings', () => {
  it('come from the given environment (either case), a scheme-less proxy gets http://, a bad one is explained', () => {
    expect(proxySettings({ HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: '.microsoft.com' })).toEqual({
      httpProxy: '',
      httpsProxy: 'http://proxy:3128/',
      noProxy: '.microsoft.com',
    });
    expect(proxySettings({ https_proxy: 'proxy:3128', http_proxy: 'http://p2:8080' })).toEqual({
      httpProxy: 'http://p2:8080/',
      httpsProxy: 'http://proxy:3128/',
      noProxy: '',
    });
    expect(() => proxySettings({ HTTPS_PROXY: 'http://user:pw@[bad' })).toThrow(/HTTPS_PROXY="http:\/\/\*\*\*@\[bad" is not a URL/);
  });
});

describe('Graph client', () => {
  it('retries 429 with Retry-After a bounded number of times, then explains', async () => {
    let calls = 0;
    const http = transport(() => {
      calls++;
      return response(429, { error: { code: 'TooManyRequests', message: 'slow down' } }, { 'retry-after': '0' });
    });
    const graph = new GraphClient({ baseUrl: 'https://graph.example', http, getToken: async () => 't', maxRetries: 3 });
    const e = await graph.organization().catch((x) => x);
    expect(e).toBeInstanceOf(OperationError);
    expect(e.message).toMatch(/HTTP 429 TooManyRequests/);
    expect(calls).toBe(4);
    // A hostile Retry-After (two minutes) waits at most maxRetryAfterSeconds (plus the SDK's < 1 s jitter).
    calls = 0;
    const started = Date.now();
    const bounded = transport(() => (++calls === 1 ? response(503, { error: { code: 'serviceNotAvailable' } }, { 'retry-after': '120' }) : response(200, { value: [{ id: 'o' }] })));
    const org = await new GraphClient({ baseUrl: 'https://graph.example', http: bounded, getToken: async () => 't', maxRetryAfterSeconds: 0 }).organization();
    expect(org.id).toBe('o');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('keeps nextLinks (and the token) on its own origin', async () => {
    const seen: { url: string; authorization?: string }[] = [];
    const http = transport((url, init) => {
      seen.push({ url, authorization: init.headers?.authorization });
      return seen.length === 1
        ? response(200, { value: [{ id: '1', displayName: 'A' }], '@odata.nextLink': 'https://elsewhere.example/v1.0/groups?$select=id,displayName&$skiptoken=x' })
        : response(200, { value: [{ id: '2', displayName: 'B' }] });
    });
    const graph = new GraphClient({ baseUrl: 'https://graph.example', http, getToken: async () => 't' });
    const names: string[] = [];
    for await (const page of graph.groupPages()) names.push(...page.map((g) => g.displayName));
    expect(names).toEqual(['A', 'B']);
    expect(seen.map((s) => s.url)).toEqual([
      'https://graph.example/v1.0/groups?$select=id,displayName&$top=999',
      'https://graph.example/v1.0/groups?$select=id,displayName&$skiptoken=x',
    ]);
    // The SDK only sends the token to hosts it knows: our Graph origin is one of them.
    expect(seen.every((s) => s.authorization === 'Bearer t')).toBe(true);
  });

  it('403 is a consent problem (exit 4)', async () => {
    const http = transport(() => response(403, { error: { code: 'Authorization_RequestDenied', message: 'Insufficient privileges' } }));
    const graph = new GraphClient({ baseUrl: 'https://g.example', http, getToken: async () => 't' });
    const e = await graph.organization().catch((x) => x);
    expect(e).toBeInstanceOf(AuthError);
    expect(e.hint).toMatch(/dirsync consent/);
    const sync = await graph.get('/servicePrincipals/x/synchronization/jobs', { permission: 'Synchronization.ReadWrite.All' }).catch((x) => x);
    expect(sync.message).toMatch(/lacks Synchronization\.ReadWrite\.All/);
    expect(sync.hint).toMatch(/API permissions → Add a permission → Microsoft Graph → Synchronization\.ReadWrite\.All/);
  });
});

describe('loopback listener', () => {
  it('settles only for the expected state; favicons and forged states change nothing', async () => {
    const lb = await Loopback.start();
    try {
      expect(lb.redirectUri).toBe(`http://localhost:${lb.port}`);
      const answer = lb.expect('the-state');
      const base = `http://127.0.0.1:${lb.port}`;
      expect((await fetch(`${base}/favicon.ico`)).status).toBe(404);
      const forged = await fetch(base, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'code=abc&state=forged' });
      expect(forged.status).toBe(400);
      const twice = await fetch(`${base}/?code=abc&state=the-state&state=the-state`);
      expect(twice.status).toBe(400);
      const real = fetch(base, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'code=abc&state=the-state' });
      const cb = await answer;
      expect(cb.params.get('code')).toBe('abc');
      cb.respond('<p>done</p>');
      expect(await (await real).text()).toBe('<p>done</p>');
    } finally {
      lb.close();
    }
  });
});

describe('sign-in cache file', () => {
  it('is written 0600 and replaced atomically; a corrupt file is ignored', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dirsync-cache-'));
    const file = path.join(dir, 'sub', 'msal-cache.json');
    const plugin = fileCachePlugin(file);
    let stored = '';
    const ctx = (changed: boolean) =>
      ({ cacheHasChanged: changed, tokenCache: { serialize: () => '{"Account":{}}', deserialize: (t: string) => (stored = t) } }) as never;
    await plugin.afterCacheAccess(ctx(true));
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['msal-cache.json']);
    await plugin.beforeCacheAccess(ctx(false));
    expect(stored).toBe('{"Account":{}}');
    fs.writeFileSync(file, 'not json');
    stored = '';
    await plugin.beforeCacheAccess(ctx(false));
    expect(stored).toBe('');
  });
});

describe('browser detection', () => {
  it('suggests device code on SSH and on Linux without a display; $BROWSER wins', () => {
    expect(browserUnavailable({ SSH_CONNECTION: 'a b c d' }, 'darwin')).toMatch(/SSH/);
    expect(browserUnavailable({}, 'linux')).toMatch(/no display/);
    expect(browserUnavailable({ DISPLAY: ':0' }, 'linux')).toBeUndefined();
    expect(browserUnavailable({ WSL_DISTRO_NAME: 'Ubuntu' }, 'linux')).toBeUndefined();
    expect(browserUnavailable({ BROWSER: 'lynx', SSH_TTY: '/dev/pts/0' }, 'linux')).toBeUndefined();
    expect(browserUnavailable({}, 'darwin')).toBeUndefined();
  });
});
