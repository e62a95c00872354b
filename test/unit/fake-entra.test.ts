// Proves the fake Entra speaks the protocols the way @azure/msal-node and plain clients expect, so
// that the rest of the suite can stand on it.
import { spawn } from "node:child_process";
import { createHash, randomBytes, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  ConfidentialClientApplication,
  CryptoProvider,
  PublicClientApplication,
  type Configuration,
} from "@azure/msal-node";
import {
  DEFAULT_APP,
  TENANTS,
  caNetworkClient,
  createClientCertificate,
  createTestCa,
  defaultKnobs,
  startFakeEntra,
  type FakeEntra,
} from "../support/fake-entra/index.js";

const ROOT = resolve(import.meta.dirname, "../..");
const BROWSER = join(ROOT, "test/support/fake-browser.mjs");

let dir: string;
let fake: FakeEntra;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fake-entra-test-"));
  fake = await startFakeEntra({ caDir: join(dir, "ca") });
});

afterAll(async () => {
  await fake?.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  Object.assign(fake.knobs, defaultKnobs());
  fake.requests.length = 0;
});

function pkce() {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

function authorizeUrl(base: string, tenant: string, params: Record<string, string>): string {
  const u = new URL(`${base}/${tenant}/oauth2/v2.0/authorize`);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.toString();
}

function hiddenFields(html: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) {
    out[m[1]!] = m[2]!.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  }
  return out;
}

function msalConfig(authorityBase: string, tenant: string, auth: Partial<Configuration["auth"]> = {}): Configuration {
  return {
    auth: {
      clientId: DEFAULT_APP.clientId,
      authority: `${authorityBase}/${tenant}`,
      knownAuthorities: fake.knownAuthorities,
      ...auth,
    },
    system: { networkClient: caNetworkClient(fake.caCert) },
  };
}

function decodeJwt(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString("utf8")) as Record<string, unknown>;
}

function runNode(args: string[], env: Record<string, string>, timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`timed out: ${stderr}`));
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

describe("test CA", () => {
  it("issues a server certificate for 127.0.0.1 and localhost signed by the CA", () => {
    const ca = createTestCa(join(dir, "ca"));
    const server = new X509Certificate(ca.serverCert);
    const caCert = new X509Certificate(ca.caCert);
    expect(server.subjectAltName).toContain("IP Address:127.0.0.1");
    expect(server.subjectAltName).toContain("DNS:localhost");
    expect(server.verify(caCert.publicKey)).toBe(true);
    expect(caCert.ca).toBe(true);
    expect(fake.caCertPath).toBe(ca.caCertPath);
  });

  it("listens only on 127.0.0.1, four listeners", () => {
    const urls = [fake.loginUrl, fake.graphUrl, fake.usgovLoginUrl, fake.usgovGraphUrl];
    for (const u of urls) expect(new URL(u).hostname).toBe("127.0.0.1");
    expect(new Set(urls).size).toBe(4);
    expect(fake.env("usgov")).toEqual({
      NODE_EXTRA_CA_CERTS: fake.caCertPath,
      DIRSYNC_LOGIN_ENDPOINT: fake.usgovLoginUrl,
      DIRSYNC_GRAPH_ENDPOINT: fake.usgovGraphUrl,
    });
  });
});

describe("OIDC discovery", () => {
  it("resolves a verified domain to the tenant GUID (issuer and endpoints carry the GUID)", async () => {
    const res = await fake.fetch(`${fake.loginUrl}/${TENANTS.contoso.domain}/v2.0/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Record<string, unknown>;
    expect(doc["issuer"]).toBe(`${fake.loginUrl}/${TENANTS.contoso.id}/v2.0`);
    expect(doc["token_endpoint"]).toBe(`${fake.loginUrl}/${TENANTS.contoso.id}/oauth2/v2.0/token`);
    expect(doc["authorization_endpoint"]).toBe(`${fake.loginUrl}/${TENANTS.contoso.id}/oauth2/v2.0/authorize`);
    expect(doc["jwks_uri"]).toBeTypeOf("string");
    expect(doc["tenant_region_scope"]).toBe("NA");
    expect(doc).not.toHaveProperty("tenant_region_sub_scope");
    expect(doc["cloud_instance_name"]).toBe("microsoftonline.com");
    expect(doc["msgraph_host"]).toBe("graph.microsoft.com");
    expect(fake.requests).toMatchObject([{ cloud: "global", role: "login", method: "GET", status: 200 }]);
  });

  it("marks a GCC (moderate) tenant as global cloud with sub-scope GCC", async () => {
    const doc = (await (await fake.fetch(`${fake.loginUrl}/${TENANTS.gcc.id}/v2.0/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(doc).toMatchObject({ tenant_region_scope: "NA", tenant_region_sub_scope: "GCC", cloud_instance_name: "microsoftonline.com" });
  });

  it("marks a GCC High tenant as US Government (USGov / DODCON / microsoftonline.us), even when asked on the global host", async () => {
    const onUsgov = (await (await fake.fetch(`${fake.usgovLoginUrl}/${TENANTS.gccHigh.domain}/v2.0/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(onUsgov).toMatchObject({
      issuer: `${fake.usgovLoginUrl}/${TENANTS.gccHigh.id}/v2.0`,
      tenant_region_scope: "USGov",
      tenant_region_sub_scope: "DODCON",
      cloud_instance_name: "microsoftonline.us",
      msgraph_host: "graph.microsoft.us",
    });
    const onGlobal = (await (await fake.fetch(`${fake.loginUrl}/${TENANTS.gccHigh.id}/v2.0/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(onGlobal["cloud_instance_name"]).toBe("microsoftonline.us");
    expect(String(onGlobal["token_endpoint"])).toContain(fake.usgovLoginUrl);
  });

  it("answers an unknown tenant with 400 invalid_tenant AADSTS90002, as Entra does", async () => {
    const res = await fake.fetch(`${fake.loginUrl}/${TENANTS.unknownId}/v2.0/.well-known/openid-configuration`);
    expect(res.status).toBe(400);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body["error"]).toBe("invalid_tenant");
    expect(body["error_codes"]).toEqual([90002]);
    expect(body["error_description"]).toMatch(new RegExp(`^AADSTS90002: Tenant '${TENANTS.unknownId}' not found\\.`));
    expect(body["error_description"]).toMatch(/Trace ID: [0-9a-f-]{36}\r\nCorrelation ID: [0-9a-f-]{36}\r\nTimestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
    for (const k of ["timestamp", "trace_id", "correlation_id"]) expect(body[k]).toBeTypeOf("string");
  });
});

describe("authorization code flow with plain fetch", () => {
  const redirectUri = "http://localhost:53123";

  async function getCode(extra: Record<string, string> = {}) {
    const { verifier, challenge } = pkce();
    const res = await fake.fetch(
      authorizeUrl(fake.loginUrl, TENANTS.contoso.domain, {
        client_id: DEFAULT_APP.clientId,
        response_type: "code",
        redirect_uri: redirectUri,
        scope: "https://graph.microsoft.com/.default openid profile offline_access",
        state: "st-123",
        code_challenge: challenge,
        code_challenge_method: "S256",
        response_mode: "form_post",
        client_info: "1",
        ...extra,
      }),
    );
    return { res, verifier, html: await res.text() };
  }

  async function redeem(fields: Record<string, string>) {
    const res = await fake.fetch(`${fake.loginUrl}/${TENANTS.contoso.id}/oauth2/v2.0/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_id: DEFAULT_APP.clientId, grant_type: "authorization_code", redirect_uri: redirectUri, ...fields }).toString(),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  }

  it("form_post: an auto-submitting form carrying code and state to the redirect URI", async () => {
    const { res, html } = await getCode();
    expect(res.status).toBe(200);
    expect(html).toContain(`action="${redirectUri}"`);
    expect(html).toMatch(/method="POST"/);
    expect(html).toContain("document.forms[0].submit()");
    const fields = hiddenFields(html);
    expect(fields["state"]).toBe("st-123");
    expect(fields["code"]).toBeTruthy();
    expect(JSON.parse(Buffer.from(fields["client_info"]!, "base64url").toString())).toEqual({ uid: expect.any(String), utid: TENANTS.contoso.id });
  });

  it("redeems the code once, checking the PKCE verifier and the redirect URI", async () => {
    const { html, verifier } = await getCode();
    const code = hiddenFields(html)["code"]!;

    const wrongRedirect = await redeem({ code, code_verifier: verifier, redirect_uri: "http://localhost:9999" });
    expect(wrongRedirect.body["error"]).toBe("invalid_grant");
    expect(wrongRedirect.body["error_codes"]).toEqual([500112]);

    const second = await getCode();
    const code2 = hiddenFields(second.html)["code"]!;
    const badVerifier = await redeem({ code: code2, code_verifier: pkce().verifier });
    expect(badVerifier.status).toBe(400);
    expect(badVerifier.body["error_codes"]).toEqual([501481]);

    const third = await getCode();
    const code3 = hiddenFields(third.html)["code"]!;
    const ok = await redeem({ code: code3, code_verifier: third.verifier, client_info: "1" });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ token_type: "Bearer", expires_in: expect.any(Number) });
    const id = decodeJwt(ok.body["id_token"]);
    expect(id).toMatchObject({ tid: TENANTS.contoso.id, aud: DEFAULT_APP.clientId, iss: `${fake.loginUrl}/${TENANTS.contoso.id}/v2.0`, preferred_username: "admin@contoso.onmicrosoft.com", ver: "2.0" });
    expect(ok.body["refresh_token"]).toBeTypeOf("string");

    const again = await redeem({ code: code3, code_verifier: third.verifier });
    expect(again.body["error"]).toBe("invalid_grant");
    expect(again.body["error_codes"]).toEqual([54005]);
  });

  it("query response mode redirects with code and state", async () => {
    const { res } = await getCode({ response_mode: "query" });
    expect(res.status).toBe(302);
    const loc = new URL(res.headers.get("location")!);
    expect(loc.origin).toBe(redirectUri);
    expect(loc.searchParams.get("state")).toBe("st-123");
    expect(loc.searchParams.get("code")).toBeTruthy();
  });

  it("declined consent: access_denied, error_subcode=cancel, AADSTS65004 with trace/correlation/timestamp", async () => {
    fake.knobs.outcome = "decline";
    const { res } = await getCode({ response_mode: "query", "client-request-id": "11111111-2222-4333-8444-555555555555" });
    const loc = new URL(res.headers.get("location")!);
    expect(loc.searchParams.get("error")).toBe("access_denied");
    expect(loc.searchParams.get("error_subcode")).toBe("cancel");
    expect(loc.searchParams.get("state")).toBe("st-123");
    const desc = loc.searchParams.get("error_description")!;
    expect(desc).toMatch(/^AADSTS65004: User declined to consent to access the app\./);
    expect(desc).toContain("Correlation ID: 11111111-2222-4333-8444-555555555555");
    expect(desc).toMatch(/Trace ID: .+\r\nCorrelation ID: .+\r\nTimestamp: .+Z$/);
  });

  it.each([
    ["app_not_found", "unauthorized_client", 700016],
    ["admin_lacks_role", "access_denied", 90094],
    ["wrong_cloud", "invalid_request", 900439],
    ["conditional_access", "access_denied", 53003],
  ] as const)("scripted outcome %s → %s AADSTS%i via form_post", async (outcome, error, code) => {
    fake.knobs.outcome = outcome;
    const fields = hiddenFields((await getCode()).html);
    expect(fields["error"]).toBe(error);
    expect(fields["error_description"]).toMatch(new RegExp(`^AADSTS${code}: `));
    expect(fields["state"]).toBe("st-123");
    expect(fields["code"]).toBeUndefined();
  });

  it("per-tenant outcome, overridden by the knob", async () => {
    const contoso = fake.findTenant(TENANTS.contoso.domain)!;
    contoso.outcome = "decline";
    try {
      expect(hiddenFields((await getCode()).html)["error"]).toBe("access_denied");
      fake.knobs.outcome = "grant";
      expect(hiddenFields((await getCode()).html)["code"]).toBeTruthy();
    } finally {
      delete contoso.outcome;
    }
  });

  it("redirect URI mismatch (AADSTS50011) is shown on Entra's own page, never sent to the app", async () => {
    const { res, html } = await getCode({ redirect_uri: "http://evil.example:8080/" });
    expect(res.status).toBe(400);
    expect(res.headers.get("location")).toBeNull();
    expect(html).toContain("AADSTS50011");
    expect(html).not.toContain("<form");
    fake.knobs.outcome = "redirect_mismatch";
    const scripted = await getCode();
    expect(scripted.html).toContain("AADSTS50011");
  });

  it("a client id unknown everywhere is Entra's page AADSTS700016; a wrong-cloud tenant gets AADSTS900440", async () => {
    const { html } = await getCode({ client_id: "99999999-9999-4999-8999-999999999999" });
    expect(html).toContain("AADSTS700016");
    const { challenge } = pkce();
    const res = await fake.fetch(
      authorizeUrl(fake.usgovLoginUrl, TENANTS.contoso.id, {
        client_id: DEFAULT_APP.clientId, response_type: "code", redirect_uri: redirectUri, scope: "openid", state: "s",
        code_challenge: challenge, code_challenge_method: "S256", response_mode: "query",
      }),
    );
    expect(new URL(res.headers.get("location")!).searchParams.get("error_description")).toMatch(/^AADSTS900440: /);
  });

  it("requires PKCE", async () => {
    const res = await fake.fetch(
      authorizeUrl(fake.loginUrl, TENANTS.contoso.id, { client_id: DEFAULT_APP.clientId, response_type: "code", redirect_uri: redirectUri, scope: "openid", state: "s" }),
    );
    expect(new URL(res.headers.get("location")!).searchParams.get("error")).toBe("invalid_request");
  });
});

describe("admin consent endpoint", () => {
  const redirectUri = "http://localhost:41234/";
  const url = (tenant = TENANTS.contoso.id) =>
    `${fake.loginUrl}/${tenant}/v2.0/adminconsent?` +
    new URLSearchParams({ client_id: DEFAULT_APP.clientId, redirect_uri: redirectUri, state: "ac-1", scope: "https://graph.microsoft.com/.default" }).toString();

  it("redirects with admin_consent=True, tenant, state and scope, and records the consent", async () => {
    const res = await fake.fetch(url());
    expect(res.status).toBe(302);
    const loc = new URL(res.headers.get("location")!);
    expect(loc.origin + loc.pathname).toBe(redirectUri);
    expect(Object.fromEntries(loc.searchParams)).toMatchObject({ admin_consent: "True", tenant: TENANTS.contoso.id, state: "ac-1" });
    expect(loc.searchParams.get("scope")).toContain("https://graph.microsoft.com/Group.Read.All");
    expect(fake.consents.at(-1)).toMatchObject({ tenantId: TENANTS.contoso.id, clientId: DEFAULT_APP.clientId, via: "adminconsent" });
  });

  it("errors carry error + error_description and also admin_consent=True", async () => {
    fake.knobs.outcome = "admin_lacks_role";
    const loc = new URL((await fake.fetch(url())).headers.get("location")!);
    expect(loc.searchParams.get("admin_consent")).toBe("True");
    expect(loc.searchParams.get("error")).toBe("access_denied");
    expect(loc.searchParams.get("error_description")).toMatch(/^AADSTS90094: /);
    expect(loc.searchParams.get("state")).toBe("ac-1");
  });
});

describe("client credentials", () => {
  it("client secret via msal ConfidentialClientApplication; expired and wrong secrets name AADSTS codes", async () => {
    const cca = new ConfidentialClientApplication(msalConfig(fake.loginUrl, TENANTS.contoso.domain, { clientSecret: DEFAULT_APP.secret }));
    const result = await cca.acquireTokenByClientCredential({ scopes: ["https://graph.microsoft.com/.default"] });
    expect(result?.accessToken).toBeTruthy();
    // msal takes result.tenantId from an id_token only: app-only results carry "".
    expect(result?.tenantId).toBe("");
    expect(decodeJwt(result!.accessToken)).toMatchObject({ tid: TENANTS.contoso.id, roles: ["User.Read.All", "Group.Read.All", "Application.Read.All", "Synchronization.ReadWrite.All"], idtyp: "app" });
    // the token works at Graph
    const org = await fake.fetch(`${fake.graphUrl}/v1.0/organization`, { headers: { authorization: `Bearer ${result!.accessToken}` } });
    expect(((await org.json()) as any).value[0].id).toBe(TENANTS.contoso.id);
    // msal only asked the fake: discovery then token, no instance discovery
    expect(fake.requests.map((r) => `${r.cloud} ${r.role} ${r.method} ${r.path}`)).toEqual([
      `global login GET /${TENANTS.contoso.domain}/v2.0/.well-known/openid-configuration`,
      // msal keeps the authority's own path segment (the domain) for the token endpoint
      `global login POST /${TENANTS.contoso.domain}/oauth2/v2.0/token`,
      "global graph GET /v1.0/organization",
    ]);
    expect(fake.requests[1]!.form).toMatchObject({ grant_type: "client_credentials", client_secret: "[redacted]" });

    fake.knobs.expiredClientSecret = true;
    const expired = new ConfidentialClientApplication(msalConfig(fake.loginUrl, TENANTS.contoso.id, { clientSecret: DEFAULT_APP.secret }));
    await expect(expired.acquireTokenByClientCredential({ scopes: ["https://graph.microsoft.com/.default"] })).rejects.toMatchObject({
      errorCode: "invalid_client",
      errorMessage: expect.stringContaining("AADSTS7000222"),
    });
    fake.knobs.expiredClientSecret = false;
    const wrong = new ConfidentialClientApplication(msalConfig(fake.loginUrl, TENANTS.contoso.id, { clientSecret: "nope" }));
    await expect(wrong.acquireTokenByClientCredential({ scopes: ["https://graph.microsoft.com/.default"] })).rejects.toMatchObject({
      errorMessage: expect.stringContaining("AADSTS7000215"),
    });
  });

  it("certificate assertion (RS256/x5t and PS256/x5t#S256) verified against the registered certificate", async () => {
    const cert = createClientCertificate(join(dir, "client-certs"), "ci");
    const other = createClientCertificate(join(dir, "client-certs"), "other");
    const clientId = "c1c1c1c1-0000-4000-8000-00000000ce01";
    fake.addApp({ clientId, certificates: [cert.certPem] });
    for (const c of [
      { thumbprint: cert.thumbprint, privateKey: cert.keyPem },
      { thumbprintSha256: cert.thumbprintSha256, privateKey: cert.keyPem },
    ]) {
      const cca = new ConfidentialClientApplication(msalConfig(fake.loginUrl, TENANTS.contoso.id, { clientId, clientCertificate: c }));
      const r = await cca.acquireTokenByClientCredential({ scopes: ["https://graph.microsoft.com/.default"] });
      expect(r?.accessToken).toBeTruthy();
    }
    // right thumbprint, wrong key → signature fails
    const forged = new ConfidentialClientApplication(
      msalConfig(fake.loginUrl, TENANTS.contoso.id, { clientId, clientCertificate: { thumbprint: cert.thumbprint, privateKey: other.keyPem } }),
    );
    await expect(forged.acquireTokenByClientCredential({ scopes: ["https://graph.microsoft.com/.default"] })).rejects.toMatchObject({
      errorMessage: expect.stringContaining("AADSTS700027"),
    });
    // unregistered certificate
    const unknown = new ConfidentialClientApplication(
      msalConfig(fake.loginUrl, TENANTS.contoso.id, { clientId, clientCertificate: { thumbprint: other.thumbprint, privateKey: other.keyPem } }),
    );
    await expect(unknown.acquireTokenByClientCredential({ scopes: ["https://graph.microsoft.com/.default"] })).rejects.toMatchObject({
      errorMessage: expect.stringContaining("not registered"),
    });
  });

  it("federated token (client_assertion read from a file) must equal a registered one", async () => {
    const clientId = "c1c1c1c1-0000-4000-8000-00000000fed1";
    const token = `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify({ iss: "https://token.actions.githubusercontent.com", sub: "repo:contoso/dirsync:ref:refs/heads/main", aud: "api://AzureADTokenExchange" })).toString("base64url")}.c2ln`;
    const file = join(dir, "federated-token");
    writeFileSync(file, token);
    fake.addApp({ clientId, federatedTokens: [token] });
    const cca = new ConfidentialClientApplication(
      msalConfig(fake.loginUrl, TENANTS.contoso.id, { clientId, clientAssertion: async () => readFileSync(file, "utf8") }),
    );
    expect((await cca.acquireTokenByClientCredential({ scopes: ["https://graph.microsoft.com/.default"] }))?.accessToken).toBeTruthy();
    const bad = new ConfidentialClientApplication(msalConfig(fake.loginUrl, TENANTS.contoso.id, { clientId, clientAssertion: token + "x" }));
    await expect(bad.acquireTokenByClientCredential({ scopes: ["https://graph.microsoft.com/.default"] })).rejects.toMatchObject({
      errorMessage: expect.stringContaining("AADSTS700213"),
    });
  });

  it("works in a child process with msal's own fetch, trusting the CA only through NODE_EXTRA_CA_CERTS", async () => {
    const script = join(dir, "cc.mjs");
    writeFileSync(
      script,
      `import { ConfidentialClientApplication } from ${JSON.stringify(join(ROOT, "node_modules/@azure/msal-node/lib/msal-node.cjs"))};
const [authority, known, clientId, secret] = process.argv.slice(2);
const cca = new ConfidentialClientApplication({ auth: { clientId, authority, clientSecret: secret, knownAuthorities: [known] } });
try { const r = await cca.acquireTokenByClientCredential({ scopes: ["https://graph.microsoft.us/.default"] }); console.log(JSON.stringify({ ok: true, tid: JSON.parse(Buffer.from(r.accessToken.split(".")[1], "base64url")).tid })); }
catch (e) { console.log(JSON.stringify({ ok: false, errorCode: e.errorCode, message: e.errorMessage })); }
`,
    );
    const args = [script, `${fake.usgovLoginUrl}/${TENANTS.gccHigh.domain}`, new URL(fake.usgovLoginUrl).host, DEFAULT_APP.clientId, DEFAULT_APP.secret];
    const ok = await runNode(args, { NODE_EXTRA_CA_CERTS: fake.caCertPath });
    expect(JSON.parse(ok.stdout)).toEqual({ ok: true, tid: TENANTS.gccHigh.id });
    expect(fake.requests.every((r) => r.cloud === "usgov")).toBe(true);
    // Without the CA msal reports only endpoints_resolution_error.
    const untrusted = await runNode(args, {});
    expect(JSON.parse(untrusted.stdout)).toMatchObject({ ok: false, errorCode: "endpoints_resolution_error" });
  });
});

describe("public client with msal-node", () => {
  it("getAuthCodeUrl + acquireTokenByCode with PKCE, then a silent refresh", async () => {
    const pca = new PublicClientApplication(msalConfig(fake.loginUrl, TENANTS.contoso.id));
    const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
    const redirectUri = "http://localhost:50505";
    const scopes = ["https://graph.microsoft.com/.default"];
    const url = await pca.getAuthCodeUrl({ scopes, redirectUri, codeChallenge: challenge, codeChallengeMethod: "S256", responseMode: "form_post" as never, state: "xyz" });
    const page = await (await fake.fetch(url)).text();
    const fields = hiddenFields(page);
    expect(fields["state"]).toBe("xyz");
    const result = await pca.acquireTokenByCode({ code: fields["code"]!, codeVerifier: verifier, redirectUri, scopes, clientInfo: fields["client_info"] });
    expect(result.account?.tenantId).toBe(TENANTS.contoso.id);
    expect(result.account?.username).toBe("admin@contoso.onmicrosoft.com");
    expect(result.idTokenClaims).toMatchObject({ tid: TENANTS.contoso.id });
    const authz = fake.requests.find((r) => r.path.endsWith("/authorize"))!;
    expect(authz.query).toMatchObject({ client_id: DEFAULT_APP.clientId, code_challenge_method: "S256", redirect_uri: redirectUri });

    fake.requests.length = 0;
    const silent = await pca.acquireTokenSilent({ account: result.account!, scopes, forceRefresh: true });
    expect(silent.accessToken).not.toBe(result.accessToken);
    expect(fake.requests.at(-1)!.form).toMatchObject({ grant_type: "refresh_token", refresh_token: "[redacted]" });

    fake.knobs.expireRefreshTokens = true;
    await expect(pca.acquireTokenSilent({ account: result.account!, scopes, forceRefresh: true })).rejects.toMatchObject({
      errorCode: "invalid_grant",
      name: "InteractionRequiredAuthError",
    });
  });

  it("acquireTokenInteractive end to end with the scripted browser (form_post to msal's loopback)", async () => {
    const logFile = join(dir, "browser-ok.jsonl");
    const pca = new PublicClientApplication(msalConfig(fake.loginUrl, TENANTS.contoso.domain));
    const result = await pca.acquireTokenInteractive({
      scopes: ["https://graph.microsoft.com/.default"],
      prompt: "consent",
      openBrowser: async (url) => {
        void runNode([BROWSER, url], { NODE_EXTRA_CA_CERTS: fake.caCertPath, FAKE_BROWSER_LOG: logFile });
      },
      successTemplate: "<p>Signed in. Return to the terminal.</p>",
    });
    expect(result.tenantId).toBe(TENANTS.contoso.id);
    expect(fake.consents.at(-1)).toMatchObject({ via: "authorize", tenantId: TENANTS.contoso.id });
    await new Promise((r) => setTimeout(r, 200));
    const steps = readFileSync(logFile, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { method: string; url: string; text: string });
    const post = steps.find((s) => s.method === "POST")!;
    expect(post.url).toMatch(/^http:\/\/localhost:\d+\/?$/);
    expect(post.text).toContain("Return to the terminal");
  });

  it.each(["forged-state", "favicon"])("the flow survives a browser that also sends %s requests to the loopback", async (mode) => {
    const logFile = join(dir, `browser-${mode}.jsonl`);
    const pca = new PublicClientApplication(msalConfig(fake.loginUrl, TENANTS.contoso.id));
    const result = await pca.acquireTokenInteractive({
      scopes: ["https://graph.microsoft.com/.default"],
      openBrowser: async (url) => {
        void runNode([BROWSER, url], { NODE_EXTRA_CA_CERTS: fake.caCertPath, FAKE_BROWSER_MODE: mode, FAKE_BROWSER_LOG: logFile });
      },
    });
    expect(result.tenantId).toBe(TENANTS.contoso.id);
    await new Promise((r) => setTimeout(r, 200));
    const steps = readFileSync(logFile, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { method: string; url: string; status: number });
    const loopback = steps.filter((s) => s.url.startsWith("http://localhost:"));
    expect(loopback.length).toBe(2);
    if (mode === "forged-state") expect(loopback[0]).toMatchObject({ method: "POST", status: 400 });
    else expect(loopback[0]).toMatchObject({ method: "GET", url: expect.stringContaining("/favicon.ico") });
  });

  it("knobs.signInTenant: the admin signs in to another tenant than the authority named", async () => {
    fake.knobs.signInTenant = TENANTS.gcc.domain;
    const pca = new PublicClientApplication(msalConfig(fake.loginUrl, TENANTS.contoso.id));
    const result = await pca.acquireTokenInteractive({
      scopes: ["https://graph.microsoft.com/.default"],
      openBrowser: async (url) => {
        void runNode([BROWSER, url], { NODE_EXTRA_CA_CERTS: fake.caCertPath });
      },
    });
    expect(result.tenantId).toBe(TENANTS.gcc.id);
    const org = (await (await fake.fetch(`${fake.graphUrl}/v1.0/organization`, { headers: { authorization: `Bearer ${result.accessToken}` } })).json()) as any;
    expect(org.value[0].id).toBe(TENANTS.gcc.id);
  });

  it("a declined consent reaches msal's loopback as a ServerError with the AADSTS text", async () => {
    fake.knobs.outcome = "decline";
    const pca = new PublicClientApplication(msalConfig(fake.loginUrl, TENANTS.contoso.id));
    await expect(
      pca.acquireTokenInteractive({
        scopes: ["https://graph.microsoft.com/.default"],
        openBrowser: async (url) => {
          void runNode([BROWSER, url], { NODE_EXTRA_CA_CERTS: fake.caCertPath });
        },
      }),
      // msal's loopback keeps error and error_description but drops error_subcode (it reads "suberror").
    ).rejects.toMatchObject({ name: "ServerError", errorCode: "access_denied", subError: "", errorMessage: expect.stringMatching(/^AADSTS65004: .*\r?\nTrace ID: /s) });
  });

  it("device code: authorization_pending until approved, then tokens", async () => {
    fake.knobs.deviceCodeInterval = 0.05;
    fake.knobs.deviceCodeApproveAfterPolls = null;
    const pca = new PublicClientApplication(msalConfig(fake.usgovLoginUrl, TENANTS.gccHigh.id));
    let message = "";
    const result = await pca.acquireTokenByDeviceCode({
      scopes: ["https://graph.microsoft.us/.default"],
      deviceCodeCallback: (r) => {
        message = r.message;
        // Approve once a poll has been answered "pending" (not after a fixed delay, which a busy machine can outlast).
        const approveAfterPending = setInterval(() => {
          if (fake.requests.some((q) => q.path.endsWith("/token") && q.status === 400)) {
            clearInterval(approveAfterPending);
            fake.approveDeviceCode(r.userCode);
          }
        }, 20);
      },
    });
    expect(message).toContain(`${fake.usgovLoginUrl}/devicelogin`);
    expect(result?.tenantId).toBe(TENANTS.gccHigh.id);
    const polls = fake.requests.filter((r) => r.path.endsWith("/token"));
    expect(polls.length).toBeGreaterThan(1);
    expect(polls.slice(0, -1).every((r) => r.status === 400)).toBe(true);
    expect(fake.requests.every((r) => r.cloud === "usgov")).toBe(true);
  });

  it("device code declined", async () => {
    fake.knobs.deviceCodeInterval = 0.05;
    fake.knobs.deviceCodeOutcome = "decline";
    const pca = new PublicClientApplication(msalConfig(fake.loginUrl, TENANTS.contoso.id));
    await expect(pca.acquireTokenByDeviceCode({ scopes: ["https://graph.microsoft.com/.default"], deviceCodeCallback: () => {} })).rejects.toMatchObject({
      errorCode: "post_request_failed",
    });
  });
});

describe("Graph", () => {
  const get = (url: string, token?: string, headers: Record<string, string> = {}) =>
    fake.fetch(url, { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });

  it("requires a token issued by the fake, for this cloud's Graph", async () => {
    const none = await get(`${fake.graphUrl}/v1.0/organization`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as any).error.code).toBe("InvalidAuthenticationToken");
    expect((await get(`${fake.graphUrl}/v1.0/organization`, "eyJ.forged.token")).status).toBe(401);
    const usgovToken = fake.issueAppToken({ tenant: TENANTS.gccHigh.id });
    expect((await get(`${fake.graphUrl}/v1.0/organization`, usgovToken)).status).toBe(401);
    const org = (await (await get(`${fake.usgovGraphUrl}/v1.0/organization`, usgovToken)).json()) as any;
    expect(org.value[0]).toMatchObject({ id: TENANTS.gccHigh.id, displayName: TENANTS.gccHigh.displayName });
    expect(org.value[0].verifiedDomains[0]).toMatchObject({ name: TENANTS.gccHigh.domain, isInitial: true });
  });

  it("pages 100k generated groups with $top=999 and absolute nextLinks on the same host", async () => {
    const contoso = fake.findTenant(TENANTS.contoso.id)!;
    contoso.generatedGroups = 100_000;
    try {
      const token = fake.issueAppToken({ tenant: TENANTS.contoso.id });
      let url: string | undefined = `${fake.graphUrl}/v1.0/groups?$select=id,displayName&$top=999`;
      let count = 0;
      let pages = 0;
      const ids = new Set<string>();
      while (url) {
        expect(url.startsWith(`${fake.graphUrl}/v1.0/groups?`)).toBe(true);
        const page = (await (await get(url, token, { "accept-language": "en-US" })).json()) as { value: { id: string; displayName: string }[]; "@odata.nextLink"?: string };
        pages += 1;
        count += page.value.length;
        if (pages === 1) expect(Object.keys(page.value[0]!).sort()).toEqual(["displayName", "id"]);
        for (const g of page.value) ids.add(g.id);
        url = page["@odata.nextLink"];
      }
      expect(count).toBe(100_003);
      expect(ids.size).toBe(100_003);
      expect(pages).toBe(Math.ceil(100_003 / 999));
      expect(fake.requests.at(-1)!.headers.acceptLanguage).toBe("en-US");
    } finally {
      contoso.generatedGroups = 0;
    }
  });

  it("$filter startswith(displayName,…), $top bounds and $select validation", async () => {
    const token = fake.issueAppToken({ tenant: TENANTS.contoso.id });
    const f = encodeURIComponent("startswith(displayName,'fin')");
    const r = (await (await get(`${fake.graphUrl}/v1.0/groups?$filter=${f}`, token)).json()) as any;
    expect(r.value.map((g: any) => g.displayName)).toEqual(["Finance"]);
    expect(r["@odata.nextLink"]).toBeUndefined();
    expect((await get(`${fake.graphUrl}/v1.0/groups?$top=1000`, token)).status).toBe(400);
    expect((await get(`${fake.graphUrl}/v1.0/groups?$select=nope`, token)).status).toBe(400);
  });

  it("throttles with 429 + Retry-After when asked", async () => {
    const token = fake.issueAppToken({ tenant: TENANTS.contoso.id });
    fake.knobs.graph429Next = 1;
    fake.knobs.graphRetryAfterSeconds = 2;
    const first = await get(`${fake.graphUrl}/v1.0/groups`, token);
    expect(first.status).toBe(429);
    expect(first.headers.get("retry-after")).toBe("2");
    expect(((await first.json()) as any).error.code).toBe("TooManyRequests");
    expect((await get(`${fake.graphUrl}/v1.0/groups`, token)).status).toBe(200);
  });

  it("403 before consent when the tenant requires it", async () => {
    const contoso = fake.findTenant(TENANTS.contoso.id)!;
    contoso.requireConsent = true;
    contoso.consentedApps.delete(DEFAULT_APP.clientId);
    try {
      const token = fake.issueAppToken({ tenant: TENANTS.contoso.id });
      const res = await get(`${fake.graphUrl}/v1.0/groups`, token);
      expect(res.status).toBe(403);
      expect(((await res.json()) as any).error.code).toBe("Authorization_RequestDenied");
    } finally {
      contoso.requireConsent = false;
    }
  });
});

describe("fake browser", () => {
  it("FAKE_BROWSER_MODE=none does nothing (a closed tab)", async () => {
    const logFile = join(dir, "browser-none.jsonl");
    const r = await runNode([BROWSER, `${fake.loginUrl}/${TENANTS.contoso.id}/v2.0/.well-known/openid-configuration`], {
      NODE_EXTRA_CA_CERTS: fake.caCertPath,
      FAKE_BROWSER_MODE: "none",
      FAKE_BROWSER_LOG: logFile,
    });
    expect(r.code).toBe(0);
    expect(fake.requests).toHaveLength(0);
    expect(existsSync(logFile)).toBe(true);
  });

  it("records Entra's error page text for a redirect mismatch", async () => {
    const logFile = join(dir, "browser-50011.jsonl");
    const url = authorizeUrl(fake.loginUrl, TENANTS.contoso.id, {
      client_id: DEFAULT_APP.clientId, response_type: "code", redirect_uri: "https://wrong.example/cb", scope: "openid", state: "s", code_challenge: pkce().challenge, code_challenge_method: "S256",
    });
    const r = await runNode([BROWSER, url], { NODE_EXTRA_CA_CERTS: fake.caCertPath, FAKE_BROWSER_LOG: logFile });
    expect(r.code).toBe(0);
    const last = JSON.parse(readFileSync(logFile, "utf8").trim().split("\n").at(-1)!) as { status: number; text: string };
    expect(last.status).toBe(400);
    expect(last.text).toContain("AADSTS50011");
  });
});
