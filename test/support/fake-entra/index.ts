// The fake Microsoft Entra ID + Microsoft Graph used by every test that involves Microsoft.
//
// Four real HTTPS listeners on 127.0.0.1 (random ports), with a certificate from a per-run test CA:
//   login (global), graph (global), login (US Gov), graph (US Gov)
// so a test can assert that a GCC High profile only ever reached the US Government stand-ins.
// The protocols are played closely enough for @azure/msal-node and plain fetch to work unchanged:
// OIDC discovery, /authorize (sign-in + consent page, form_post / query / fragment), /adminconsent,
// /token (authorization_code + PKCE, refresh_token, client_credentials with secret / certificate
// assertion / federated token, device_code), /devicecode, and Graph /v1.0/organization and
// /v1.0/groups with $select/$top/$filter/paging/429.
//
// Usage:
//   const fake = await startFakeEntra({ caDir: tmp });
//   spawn("node", ["bin/dirsync.js", ...], { env: { ...process.env, ...fake.env("global") } });
//   fake.knobs.outcome = "decline";
//   expect(fake.requests.filter((r) => r.cloud === "global")).toHaveLength(0);
//   await fake.close();
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, randomUUID, constants as cryptoConstants, verify as cryptoVerify, sign as cryptoSign, X509Certificate, type KeyObject } from "node:crypto";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createTestCa, type TestCa } from "./ca.js";
import { APP_READ, createSynchronization, probeTenantUrl, SYNC_WRITE, testConnectionMessage, type FakeServicePrincipal, type FakeSyncJob, type FakeSynchronization, type SecretPair } from "./synchronization.js";
import { rememberSecret } from "../cli.js";
import {
  CLOUD_INFO,
  defaultApps,
  defaultKnobs,
  defaultTenants,
  type CloudName,
  type FakeApp,
  type FakeGroup,
  type FakeTenant,
  type HostRole,
  type Knobs,
  type Outcome,
} from "./model.js";

export { createTestCa, createClientCertificate, type TestCa, type ClientCertificate } from "./ca.js";
export { caFetch, caNetworkClient, type CaFetchInit } from "./https-fetch.js";
import { caFetch, type CaFetchInit } from "./https-fetch.js";
export * from "./model.js";
export * from "./synchronization.js";

export interface RequestRecord {
  cloud: CloudName;
  role: HostRole;
  method: string;
  /** Path without the query string, e.g. "/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration". */
  path: string;
  query: Record<string, string>;
  /** Selected request headers (never Authorization). */
  headers: {
    acceptLanguage?: string;
    userAgent?: string;
    clientRequestId?: string;
    contentType?: string;
    consistencyLevel?: string;
  };
  /** Whether an `Authorization: Bearer …` header was sent (the token itself is not kept). */
  bearer: boolean;
  /** Form body of POSTs, with secret values (codes, verifiers, secrets, assertions, tokens) replaced by "[redacted]". */
  form?: Record<string, string>;
  status: number;
  at: Date;
}

export interface ConsentRecord {
  tenantId: string;
  clientId: string;
  via: "authorize" | "adminconsent" | "devicecode";
  scopes: string[];
  at: Date;
}

export interface StartFakeEntraOptions {
  /** Directory for the per-run test CA (created with openssl if absent). */
  caDir?: string;
  /** Or an already created CA. One of caDir / certs is required. */
  certs?: TestCa;
  /** Tenants (default: defaultTenants(): Contoso, a GCC moderate tenant, a GCC High tenant). */
  tenants?: FakeTenant[];
  /** App registrations (default: defaultApps(): the dirsync public client with a secret). */
  apps?: FakeApp[];
  /** Initial knob values. */
  knobs?: Partial<Knobs>;
}

export interface FakeEntra {
  /** https://127.0.0.1:PORT — DIRSYNC_LOGIN_ENDPOINT for the global cloud. Authority = `${loginUrl}/${tenant}`. */
  loginUrl: string;
  /** https://127.0.0.1:PORT — DIRSYNC_GRAPH_ENDPOINT for the global cloud (requests at `${graphUrl}/v1.0/...`). */
  graphUrl: string;
  usgovLoginUrl: string;
  usgovGraphUrl: string;
  /** "127.0.0.1:PORT" of both login listeners: msal's knownAuthorities (skips instance discovery). */
  knownAuthorities: string[];
  /** The CA to trust (NODE_EXTRA_CA_CERTS) and its PEM. */
  caCertPath: string;
  caCert: string;
  /** fetch that trusts the test CA, for driving the fake from the test process (redirect: manual unless follow). */
  fetch(url: string | URL, init?: CaFetchInit): Promise<Response>;
  /** Environment for a child dirsync process pointed at one cloud's stand-ins. */
  env(cloud?: CloudName): Record<string, string>;
  /** Every request received, in order. Live array: clear with `requests.length = 0`. */
  requests: RequestRecord[];
  /** Mutable behaviour switches; change them at any time. */
  knobs: Knobs;
  /** Tenants by id (mutable: add groups, change outcome, …). */
  tenants: Map<string, FakeTenant>;
  /** App registrations by client id (mutable). */
  apps: Map<string, FakeApp>;
  /** Consents granted through the fake, in order. */
  consents: ConsentRecord[];
  /** Resolve a tenant by GUID or verified domain (case-insensitive). */
  findTenant(idOrDomain: string): FakeTenant | undefined;
  /** Register (or replace) an app. */
  addApp(app: Partial<FakeApp> & { clientId: string }): FakeApp;
  /** Device code flow: the user enters the code and signs in (default: the most recent pending code). */
  approveDeviceCode(userCode?: string): void;
  /** Pending device codes' user codes, most recent last. */
  pendingDeviceCodes(): string[];
  /** An access token for Graph as the fake would issue it (app-only, for tests that drive Graph directly). */
  issueAppToken(opts?: { tenant?: string; clientId?: string; cloud?: CloudName }): string;
  /** Entra's provisioning: enterprise apps, their jobs and saved credentials, Test Connection log, faults. */
  sync: FakeSynchronization;
  /** Name of the generated group at index i (0-based) of a tenant: what /v1.0/groups serves. */
  groupAt(tenant: FakeTenant, index: number): FakeGroup;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------

interface AuthCode {
  tenantId: string;
  clientId: string;
  redirectUri: string;
  scopes: string[];
  codeChallenge?: string;
  codeChallengeMethod?: string;
  nonce?: string;
  user: { oid: string; upn: string; name: string; tenantId: string };
  expiresAt: number;
  redeemed: boolean;
  cloud: CloudName;
}

interface RefreshGrant {
  tenantId: string;
  clientId: string;
  scopes: string[];
  user: AuthCode["user"];
  cloud: CloudName;
}

interface DeviceCodeEntry {
  deviceCode: string;
  userCode: string;
  tenantId: string;
  clientId: string;
  scopes: string[];
  polls: number;
  approved: boolean;
  expiresAt: number;
  cloud: CloudName;
  done: boolean;
}

interface AccessTokenInfo {
  tenantId: string;
  aud: string;
  clientId: string;
  exp: number;
  oid: string;
  scp?: string;
  roles?: string[];
}

const OIDC_SCOPES = new Set(["openid", "profile", "offline_access", "email"]);
const GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";
const SECRET_FORM_FIELDS = new Set([
  "code",
  "code_verifier",
  "client_secret",
  "client_assertion",
  "refresh_token",
  "device_code",
  "assertion",
  "password",
]);
const GROUP_PROPERTIES = [
  "id",
  "displayName",
  "description",
  "mail",
  "mailEnabled",
  "mailNickname",
  "securityEnabled",
  "groupTypes",
  "createdDateTime",
  "visibility",
] as const;

function b64url(input: Buffer | string): string {
  return Buffer.from(input).toString("base64url");
}

function entraTimestamp(d = new Date()): string {
  // Entra's format: "2025-10-05 14:03:07Z"
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

function isGuid(s: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

function readBody(req: IncomingMessage, limit = 1 << 20): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error("body too large"));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** AADSTS error text as Entra writes it, with trace id, correlation id and timestamp lines. */
function aadstsDescription(code: number, message: string, ids: { traceId: string; correlationId: string; timestamp: string }): string {
  return `AADSTS${code}: ${message}\r\nTrace ID: ${ids.traceId}\r\nCorrelation ID: ${ids.correlationId}\r\nTimestamp: ${ids.timestamp}`;
}

function loopbackRedirectMatches(registered: string, requested: string): boolean {
  let r: URL;
  let q: URL;
  try {
    r = new URL(registered);
    q = new URL(requested);
  } catch {
    return false;
  }
  if (q.hash || q.username || q.password) return false;
  const loopback = (h: string) => h === "localhost" || h === "127.0.0.1" || h === "[::1]";
  if (r.protocol !== q.protocol || r.hostname !== q.hostname) return false;
  const path = (u: URL) => (u.pathname === "" ? "/" : u.pathname);
  if (path(r) !== path(q) || r.search !== q.search) return false;
  // RFC 8252 §7.3 / Entra: for loopback redirect URIs the port is ignored.
  if (loopback(r.hostname) && r.protocol === "http:") return true;
  return r.port === q.port;
}

// ---------------------------------------------------------------------------------------------

export async function startFakeEntra(options: StartFakeEntraOptions = {}): Promise<FakeEntra> {
  const certs = options.certs ?? (options.caDir ? createTestCa(options.caDir) : undefined);
  if (!certs) throw new Error("startFakeEntra: pass caDir (a temp directory) or certs (from createTestCa)");

  const knobs: Knobs = { ...defaultKnobs(), ...options.knobs };
  const tenants = new Map<string, FakeTenant>();
  for (const t of options.tenants ?? defaultTenants()) tenants.set(t.id.toLowerCase(), t);
  const apps = new Map<string, FakeApp>();
  for (const a of options.apps ?? defaultApps()) apps.set(a.clientId.toLowerCase(), a);

  const requests: RequestRecord[] = [];
  const consents: ConsentRecord[] = [];
  const authCodes = new Map<string, AuthCode>();
  const refreshTokens = new Map<string, RefreshGrant>();
  const deviceCodes = new Map<string, DeviceCodeEntry>();
  const accessTokens = new Map<string, AccessTokenInfo>();
  let graphRequestCount = 0;
  const sync = createSynchronization();

  // Token signing key (id_tokens and access tokens are real RS256 JWTs; jwks_uri publishes it).
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const kid = createHash("sha256").update(publicKey.export({ type: "spki", format: "der" })).digest("base64url").slice(0, 27);

  function signJwt(payload: Record<string, unknown>): string {
    const header = b64url(JSON.stringify({ typ: "JWT", alg: "RS256", kid }));
    const body = b64url(JSON.stringify(payload));
    const sig = cryptoSign("RSA-SHA256", Buffer.from(`${header}.${body}`), privateKey);
    return `${header}.${body}.${b64url(sig)}`;
  }

  function findTenant(idOrDomain: string): FakeTenant | undefined {
    const key = idOrDomain.toLowerCase();
    const byId = tenants.get(key);
    if (byId) return byId;
    for (const t of tenants.values()) if (t.domains.some((d) => d.toLowerCase() === key)) return t;
    return undefined;
  }

  function groupAt(tenant: FakeTenant, index: number): FakeGroup {
    if (index < tenant.groups.length) return tenant.groups[index]!;
    const n = index - tenant.groups.length + 1;
    return {
      id: `${tenant.id.slice(0, 8)}-0000-4000-8000-${n.toString(16).padStart(12, "0")}`,
      displayName: `Group ${String(n).padStart(6, "0")}`,
    };
  }

  // Listeners -----------------------------------------------------------------------------------
  const servers: Server[] = [];
  const origins: Record<`${CloudName}:${HostRole}`, string> = {
    "global:login": "",
    "global:graph": "",
    "usgov:login": "",
    "usgov:graph": "",
  };

  async function listen(cloud: CloudName, role: HostRole): Promise<void> {
    const server = createServer({ cert: certs!.serverCert, key: certs!.serverKey }, (req, res) => {
      void handle(cloud, role, req, res).catch((err: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { "content-type": "text/plain" });
        }
        res.end(`fake entra internal error: ${String(err)}`);
      });
    });
    servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    origins[`${cloud}:${role}`] = `https://127.0.0.1:${port}`;
  }

  await listen("global", "login");
  await listen("global", "graph");
  await listen("usgov", "login");
  await listen("usgov", "graph");

  const loginOrigin = (cloud: CloudName) => origins[`${cloud}:login`];
  const graphOrigin = (cloud: CloudName) => origins[`${cloud}:graph`];

  // Request dispatch ------------------------------------------------------------------------------
  async function handle(cloud: CloudName, role: HostRole, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "https://127.0.0.1");
    const method = (req.method ?? "GET").toUpperCase();
    let form: URLSearchParams | undefined;
    let json: unknown;
    if (method === "POST" || method === "PUT" || method === "PATCH") {
      const body = await readBody(req);
      // Graph takes JSON; the sign-in service takes forms.
      if (role === "graph") {
        try {
          json = body ? JSON.parse(body) : undefined;
        } catch {
          json = undefined;
        }
      } else form = new URLSearchParams(body);
    }
    const auth = req.headers["authorization"];
    const record: RequestRecord = {
      cloud,
      role,
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: {
        acceptLanguage: req.headers["accept-language"],
        userAgent: req.headers["user-agent"],
        clientRequestId: (req.headers["client-request-id"] as string | undefined) ?? undefined,
        contentType: req.headers["content-type"],
        consistencyLevel: (req.headers["consistencylevel"] as string | undefined) ?? undefined,
      },
      bearer: typeof auth === "string" && /^bearer\s+\S/i.test(auth),
      status: 0,
      at: new Date(),
    };
    if (form) {
      record.form = Object.fromEntries([...form].map(([k, v]) => [k, SECRET_FORM_FIELDS.has(k) ? "[redacted]" : v]));
    }
    requests.push(record);
    if (knobs.dateOffsetSeconds) res.setHeader("date", new Date(Date.now() + knobs.dateOffsetSeconds * 1000).toUTCString());
    const origWriteHead = res.writeHead.bind(res);
    res.writeHead = ((status: number, ...rest: unknown[]) => {
      record.status = status;
      return (origWriteHead as (...a: unknown[]) => ServerResponse)(status, ...rest);
    }) as typeof res.writeHead;

    const ids = {
      traceId: randomUUID(),
      correlationId:
        (req.headers["client-request-id"] as string | undefined) ?? url.searchParams.get("client-request-id") ?? randomUUID(),
      timestamp: entraTimestamp(),
    };
    const ctx: Ctx = { cloud, role, req, res, url, method, form, json, ids };
    if (role === "graph") return handleGraph(ctx);
    return handleLogin(ctx);
  }

  interface Ctx {
    cloud: CloudName;
    role: HostRole;
    req: IncomingMessage;
    res: ServerResponse;
    url: URL;
    method: string;
    form: URLSearchParams | undefined;
    /** The JSON body of a Graph POST/PUT/PATCH. */
    json?: unknown;
    ids: { traceId: string; correlationId: string; timestamp: string };
  }

  function sendJson(ctx: Ctx, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    ctx.res.writeHead(status, {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store, no-cache",
      "x-ms-request-id": ctx.ids.traceId,
      "client-request-id": ctx.ids.correlationId,
      ...headers,
    });
    ctx.res.end(text);
  }

  function sendHtml(ctx: Ctx, status: number, html: string): void {
    ctx.res.writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
    ctx.res.end(html);
  }

  /** Token-endpoint style error (JSON), as Entra sends it. */
  function oauthError(ctx: Ctx, status: number, error: string, code: number, message: string, extra: Record<string, unknown> = {}): void {
    sendJson(ctx, status, {
      error,
      error_description: aadstsDescription(code, message, ctx.ids),
      error_codes: [code],
      timestamp: ctx.ids.timestamp,
      trace_id: ctx.ids.traceId,
      correlation_id: ctx.ids.correlationId,
      error_uri: `${loginOrigin(ctx.cloud)}/error?code=${code}`,
      ...extra,
    });
  }

  /** Entra's own error page (no redirect back to the app). */
  function errorPage(ctx: Ctx, code: number, message: string): void {
    sendHtml(
      ctx,
      400,
      `<!DOCTYPE html><html><head><title>Sign in to your account</title></head><body>
<div id="error" data-aadsts="${code}"><h1>Sorry, but we’re having trouble signing you in.</h1>
<p class="error-message">AADSTS${code}: ${escapeHtml(message)}</p>
<table><tr><td>Request Id:</td><td>${ctx.ids.traceId}</td></tr>
<tr><td>Correlation Id:</td><td>${ctx.ids.correlationId}</td></tr>
<tr><td>Timestamp:</td><td>${ctx.ids.timestamp.replace(" ", "T")}</td></tr></table></div></body></html>`,
    );
  }

  /** Send OAuth response parameters back to the app's redirect URI in the requested response mode. */
  function respondToRedirect(ctx: Ctx, redirectUri: string, mode: string, params: Record<string, string | undefined>): void {
    const entries = Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined);
    if (mode === "form_post") {
      const inputs = entries
        .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}" />`)
        .join("");
      sendHtml(
        ctx,
        200,
        `<html><head><title>Working...</title></head><body><form method="POST" name="hiddenform" action="${escapeHtml(redirectUri)}">${inputs}<noscript><p>Script is disabled. Click Submit to continue.</p><input type="submit" value="Submit" /></noscript></form><script language="javascript">document.forms[0].submit();</script></body></html>`,
      );
      return;
    }
    const target = new URL(redirectUri);
    const qs = new URLSearchParams(entries);
    if (mode === "fragment") target.hash = qs.toString();
    else for (const [k, v] of entries) target.searchParams.append(k, v);
    ctx.res.writeHead(302, { location: target.toString(), "cache-control": "no-store" });
    ctx.res.end();
  }

  // Login host --------------------------------------------------------------------------------------
  async function handleLogin(ctx: Ctx): Promise<void> {
    const segs = ctx.url.pathname.split("/").filter(Boolean);
    const [tenantSeg, ...rest] = segs;
    const tail = rest.join("/");

    if (segs[0] === "devicelogin") return deviceLoginPage(ctx);
    if (!tenantSeg) return sendJson(ctx, 404, { error: "not_found" });

    if (ctx.method === "GET" && (tail === "v2.0/.well-known/openid-configuration" || tail === ".well-known/openid-configuration")) {
      return discovery(ctx, tenantSeg, tail.startsWith("v2.0"));
    }
    if (ctx.method === "GET" && (tail === "discovery/v2.0/keys" || tail === "discovery/keys")) {
      const jwk = publicKey.export({ format: "jwk" });
      return sendJson(ctx, 200, { keys: [{ kty: "RSA", use: "sig", kid, n: jwk.n, e: jwk.e }] });
    }
    if (tail === "oauth2/v2.0/authorize" && (ctx.method === "GET" || ctx.method === "POST")) return authorize(ctx, tenantSeg);
    if (tail === "v2.0/adminconsent" && ctx.method === "GET") return adminConsent(ctx, tenantSeg);
    if (tail === "oauth2/v2.0/token" && ctx.method === "POST") return token(ctx, tenantSeg);
    if (tail === "oauth2/v2.0/devicecode" && ctx.method === "POST") return deviceCode(ctx, tenantSeg);
    return sendJson(ctx, 404, { error: "not_found", error_description: `fake entra: no route for ${ctx.method} ${ctx.url.pathname}` });
  }

  function tenantNotFound(ctx: Ctx, tenantSeg: string): void {
    oauthError(
      ctx,
      400,
      "invalid_tenant",
      90002,
      `Tenant '${tenantSeg}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
    );
  }

  function discovery(ctx: Ctx, tenantSeg: string, v2: boolean): void {
    const generic = ["common", "organizations", "consumers"].includes(tenantSeg.toLowerCase());
    const tenant = generic ? undefined : findTenant(tenantSeg);
    if (!generic && !tenant) return tenantNotFound(ctx, tenantSeg);
    // A tenant's document names its home cloud, whichever cloud's login host was asked.
    const home: CloudName = tenant?.cloud ?? ctx.cloud;
    const origin = loginOrigin(home);
    const path = tenant ? tenant.id : tenantSeg.toLowerCase();
    const info = CLOUD_INFO[home];
    const issuer = tenant ? `${origin}/${tenant.id}/v2.0` : `${origin}/{tenantid}/v2.0`;
    const doc: Record<string, unknown> = {
      token_endpoint: `${origin}/${path}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
      jwks_uri: `${origin}/${path}/discovery/v2.0/keys`,
      response_modes_supported: ["query", "fragment", "form_post"],
      subject_types_supported: ["pairwise"],
      id_token_signing_alg_values_supported: ["RS256"],
      response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
      scopes_supported: ["openid", "profile", "email", "offline_access"],
      issuer,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${graphOrigin(home)}/oidc/userinfo`,
      authorization_endpoint: `${origin}/${path}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${origin}/${path}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${origin}/${path}/oauth2/v2.0/logout`,
      claims_supported: ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
      kerberos_endpoint: `${origin}/${path}/kerberos`,
      tenant_region_scope: tenant ? tenant.regionScope : null,
      cloud_instance_name: info.cloudInstanceName,
      cloud_graph_host_name: info.cloudGraphHostName,
      msgraph_host: info.msgraphHost,
      rbac_url: home === "usgov" ? "https://pasff.usgovcloudapi.net" : "https://pas.windows.net",
    };
    if (tenant?.regionSubScope) doc["tenant_region_sub_scope"] = tenant.regionSubScope;
    if (!v2) {
      // v1 document: sts.windows.net style issuer; kept minimal.
      doc["issuer"] = tenant ? `${origin}/${tenant.id}/` : `${origin}/{tenantid}/`;
    }
    sendJson(ctx, 200, doc);
  }

  function resolveOutcome(tenant: FakeTenant): Outcome {
    return knobs.outcome ?? tenant.outcome ?? "grant";
  }

  /** Wrong cloud: by the endpoint that was asked (global → 900439, US Gov → 900440). */
  function wrongCloudError(ctx: Ctx, tenant: FakeTenant): { code: number; message: string } {
    return ctx.cloud === "global"
      ? {
          code: 900439,
          message: `USGClientNotSupportedOnPublicEndpoint - The tenant '${tenant.id}' or the application is in the US Government cloud and is not supported on the public (global) endpoint. Use login.microsoftonline.us.`,
        }
      : {
          code: 900440,
          message: `PublicClientNotSupportedOnUSGEndpoint - The tenant '${tenant.id}' or the application is in the global (public) cloud and is not supported on the US Government endpoint. Use login.microsoftonline.com.`,
        };
  }

  function scopesOf(raw: string | null | undefined): string[] {
    return (raw ?? "").split(/\s+/).filter(Boolean);
  }

  /** Checks shared by /authorize and /adminconsent up to the point where the redirect URI is trusted. */
  function preflight(
    ctx: Ctx,
    tenantSeg: string,
    params: URLSearchParams,
  ): { tenant: FakeTenant; app: FakeApp; redirectUri: string } | undefined {
    const clientId = params.get("client_id");
    if (!clientId) {
      errorPage(ctx, 900144, "The request body must contain the following parameter: 'client_id'.");
      return undefined;
    }
    const tenant = findTenant(tenantSeg);
    if (!tenant) {
      errorPage(
        ctx,
        90002,
        `Tenant '${tenantSeg}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
      );
      return undefined;
    }
    const app = apps.get(clientId.toLowerCase());
    if (!app) {
      errorPage(
        ctx,
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${tenant.displayName}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
      );
      return undefined;
    }
    const redirectUri = params.get("redirect_uri") ?? "";
    const outcome = resolveOutcome(tenant);
    if (!redirectUri || outcome === "redirect_mismatch" || !app.redirectUris.some((r) => loopbackRedirectMatches(r, redirectUri))) {
      errorPage(
        ctx,
        50011,
        `The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application '${app.clientId}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.`,
      );
      return undefined;
    }
    return { tenant, app, redirectUri };
  }

  /** Maps a scripted failure outcome to the OAuth error parameters Entra sends back. */
  function outcomeError(
    ctx: Ctx,
    outcome: Outcome,
    tenant: FakeTenant,
    app: FakeApp,
  ): { error: string; error_subcode?: string; code: number; message: string } | undefined {
    switch (outcome) {
      case "decline":
        return { error: "access_denied", error_subcode: "cancel", code: 65004, message: "User declined to consent to access the app." };
      case "app_not_found":
        return {
          error: "unauthorized_client",
          code: 700016,
          message: `Application with identifier '${app.clientId}' was not found in the directory '${tenant.displayName}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
        };
      case "wrong_cloud":
        return { error: "invalid_request", ...wrongCloudError(ctx, tenant) };
      case "admin_lacks_role":
        return {
          error: "access_denied",
          code: 90094,
          message: `The grant requires admin permission. ${tenant.admin.upn} is not an administrator of '${tenant.displayName}' who can grant consent for the organization (Global Administrator, Privileged Role Administrator, or Cloud Application Administrator).`,
        };
      case "conditional_access":
        return { error: "access_denied", code: 53003, message: "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance." };
      default:
        return undefined;
    }
  }

  function stillOpenPage(ctx: Ctx, tenant: FakeTenant): void {
    sendHtml(
      ctx,
      200,
      `<!DOCTYPE html><html><head><title>Sign in to your account</title></head><body><h1>Permissions requested</h1><p>${escapeHtml(tenant.displayName)}</p><p>Waiting…</p></body></html>`,
    );
  }

  async function authorize(ctx: Ctx, tenantSeg: string): Promise<void> {
    const params = ctx.method === "POST" ? ctx.form! : ctx.url.searchParams;
    const ok = preflight(ctx, tenantSeg, params);
    if (!ok) return;
    const { tenant, app, redirectUri } = ok;
    const state = params.get("state") ?? undefined;
    const responseMode = params.get("response_mode") ?? "query";
    if (!["query", "fragment", "form_post"].includes(responseMode)) {
      return errorPage(ctx, 900511, `The provided value for the input parameter 'response_mode' is not valid: '${responseMode}'.`);
    }
    const fail = (error: string, code: number, message: string, subcode?: string) =>
      respondToRedirect(ctx, redirectUri, responseMode, {
        error,
        error_description: aadstsDescription(code, message, ctx.ids),
        error_subcode: subcode,
        error_uri: `${loginOrigin(ctx.cloud)}/error?code=${code}`,
        state,
      });

    if (params.get("response_type") !== "code") {
      return fail("unsupported_response_type", 700054, `response_type '${params.get("response_type") ?? ""}' is not supported for this application.`);
    }
    const challenge = params.get("code_challenge") ?? undefined;
    const method = params.get("code_challenge_method") ?? (challenge ? "plain" : undefined);
    if (challenge !== undefined) {
      if (method !== "S256" && method !== "plain") {
        return fail("invalid_request", 501491, `Invalid code_challenge_method '${method}'. Supported values are S256 and plain.`);
      }
      if (!/^[A-Za-z0-9._~-]{43,128}$/.test(challenge)) {
        return fail("invalid_request", 501491, "The code_challenge parameter is not valid.");
      }
    } else if (knobs.requirePkce) {
      return fail("invalid_request", 9002325, "Proof Key for Code Exchange is required for cross-origin authorization code redemption.");
    }
    const scopes = scopesOf(params.get("scope"));
    if (scopes.length === 0) {
      return fail("invalid_request", 900144, "The request body must contain the following parameter: 'scope'.");
    }
    if (tenant.cloud !== ctx.cloud) {
      const { code, message } = wrongCloudError(ctx, tenant);
      return fail("invalid_request", code, message);
    }
    const outcome = resolveOutcome(tenant);
    if (outcome === "no_response") return stillOpenPage(ctx, tenant);
    const err = outcomeError(ctx, outcome, tenant, app);
    if (err) return fail(err.error, err.code, err.message, err.error_subcode);
    if (app.tenants && !app.tenants.map((t) => t.toLowerCase()).includes(tenant.id)) {
      const e = outcomeError(ctx, "app_not_found", tenant, app)!;
      return fail(e.error, e.code, e.message);
    }
    const resourceError = checkResourceScopes(ctx.cloud, scopes);
    if (resourceError) return fail("invalid_resource", 500011, resourceError);

    const signedIn = knobs.signInTenant ? findTenant(knobs.signInTenant) ?? tenant : tenant;
    const code = `1.fake-ac.${b64url(randomBytes(32))}`;
    authCodes.set(code, {
      tenantId: signedIn.id,
      clientId: app.clientId,
      redirectUri,
      scopes,
      codeChallenge: challenge,
      codeChallengeMethod: method,
      nonce: params.get("nonce") ?? undefined,
      user: { ...signedIn.admin, tenantId: signedIn.id },
      expiresAt: Date.now() + 10 * 60_000,
      redeemed: false,
      cloud: ctx.cloud,
    });
    if (params.get("prompt") === "consent" || params.get("prompt") === "admin_consent") {
      signedIn.consentedApps.add(app.clientId);
      consents.push({ tenantId: signedIn.id, clientId: app.clientId, via: "authorize", scopes, at: new Date() });
    }
    const clientInfo =
      params.get("client_info") === "1" ? b64url(JSON.stringify({ uid: signedIn.admin.oid, utid: signedIn.id })) : undefined;
    respondToRedirect(ctx, redirectUri, responseMode, {
      code,
      client_info: clientInfo,
      state,
      session_state: randomUUID(),
    });
  }

  function adminConsent(ctx: Ctx, tenantSeg: string): void {
    const params = ctx.url.searchParams;
    const ok = preflight(ctx, tenantSeg, params);
    if (!ok) return;
    const { tenant, app, redirectUri } = ok;
    const state = params.get("state") ?? undefined;
    const scopes = scopesOf(params.get("scope"));
    const fail = (error: string, code: number, message: string, subcode?: string) =>
      respondToRedirect(ctx, redirectUri, "query", {
        error,
        error_subcode: subcode,
        admin_consent: "True",
        error_description: aadstsDescription(code, message, ctx.ids),
        state,
      });
    if (tenant.cloud !== ctx.cloud) {
      const { code, message } = wrongCloudError(ctx, tenant);
      return fail("invalid_request", code, message);
    }
    if (scopes.length === 0) return fail("invalid_request", 900144, "The request body must contain the following parameter: 'scope'.");
    const outcome = resolveOutcome(tenant);
    if (outcome === "no_response") return stillOpenPage(ctx, tenant);
    const err = outcomeError(ctx, outcome, tenant, app);
    if (err) return fail(err.error, err.code, err.message, err.error_subcode);
    const resourceError = checkResourceScopes(ctx.cloud, scopes);
    if (resourceError) return fail("invalid_resource", 500011, resourceError);
    const signedIn = knobs.signInTenant ? findTenant(knobs.signInTenant) ?? tenant : tenant;
    signedIn.consentedApps.add(app.clientId);
    consents.push({ tenantId: signedIn.id, clientId: app.clientId, via: "adminconsent", scopes, at: new Date() });
    const resource = CLOUD_INFO[ctx.cloud].graphResource;
    respondToRedirect(ctx, redirectUri, "query", {
      admin_consent: "True",
      tenant: signedIn.id,
      state,
      scope: app.permissions.map((p) => `${resource}/${p}`).join(" "),
    });
  }

  /** Resource part of scopes must be a Graph of this cloud (or a bare Graph permission name). */
  function checkResourceScopes(cloud: CloudName, scopes: string[]): string | undefined {
    const ok = new Set([CLOUD_INFO[cloud].graphResource, GRAPH_APP_ID]);
    if (cloud === "usgov") ok.add("https://dod-graph.microsoft.us");
    for (const s of scopes) {
      if (OIDC_SCOPES.has(s) || !s.includes("/")) continue;
      const resource = s.slice(0, s.lastIndexOf("/"));
      if (!ok.has(resource)) {
        return `The resource principal named ${resource} was not found in the tenant. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`;
      }
    }
    return undefined;
  }

  // Token endpoint ------------------------------------------------------------------------------------
  function tokenAudience(cloud: CloudName, scopes: string[]): string {
    for (const s of scopes) {
      if (s.includes("/") && !OIDC_SCOPES.has(s)) return s.slice(0, s.lastIndexOf("/"));
    }
    return CLOUD_INFO[cloud].graphResource;
  }

  function issueTokens(
    ctx: Ctx,
    grant: { tenantId: string; clientId: string; scopes: string[]; user: AuthCode["user"]; nonce?: string; clientInfo: boolean },
  ): Record<string, unknown> {
    const now = Math.floor(Date.now() / 1000);
    const tenant = tenants.get(grant.tenantId)!;
    const app = apps.get(grant.clientId.toLowerCase())!;
    const lifetime = knobs.accessTokenLifetimeSeconds;
    const aud = tokenAudience(ctx.cloud, grant.scopes);
    const scp = app.permissions.join(" ");
    const issuer = `${loginOrigin(ctx.cloud)}/${grant.tenantId}/v2.0`;
    const accessToken = signJwt({
      aud,
      iss: `https://sts.windows.net/${grant.tenantId}/`,
      iat: now,
      nbf: now,
      exp: now + lifetime,
      appid: grant.clientId,
      idtyp: "user",
      name: grant.user.name,
      oid: grant.user.oid,
      scp,
      tid: grant.tenantId,
      upn: grant.user.upn,
      ver: "1.0",
      uti: b64url(randomBytes(16)),
    });
    accessTokens.set(accessToken, { tenantId: grant.tenantId, aud, clientId: grant.clientId, exp: now + lifetime, oid: grant.user.oid, scp });
    const resource = aud;
    const body: Record<string, unknown> = {
      token_type: "Bearer",
      scope: [...app.permissions.map((p) => `${resource}/${p}`), ...grant.scopes.filter((s) => OIDC_SCOPES.has(s))].join(" "),
      expires_in: lifetime,
      ext_expires_in: lifetime,
      access_token: accessToken,
    };
    if (grant.scopes.includes("offline_access")) {
      const rt = `1.fake-rt.${b64url(randomBytes(48))}`;
      refreshTokens.set(rt, { tenantId: grant.tenantId, clientId: grant.clientId, scopes: grant.scopes, user: grant.user, cloud: ctx.cloud });
      body["refresh_token"] = rt;
      body["refresh_token_expires_in"] = 7_776_000;
    }
    if (grant.scopes.includes("openid")) {
      const claims: Record<string, unknown> = {
        aud: grant.clientId,
        iss: issuer,
        iat: now,
        nbf: now,
        exp: now + 3600,
        name: grant.user.name,
        oid: grant.user.oid,
        preferred_username: grant.user.upn,
        rh: "0.fake",
        sub: b64url(createHash("sha256").update(`${grant.user.oid}:${grant.clientId}`).digest()).slice(0, 43),
        tid: grant.tenantId,
        uti: b64url(randomBytes(16)),
        ver: "2.0",
      };
      if (grant.nonce) claims["nonce"] = grant.nonce;
      body["id_token"] = signJwt(claims);
    }
    if (grant.clientInfo) body["client_info"] = b64url(JSON.stringify({ uid: grant.user.oid, utid: grant.tenantId }));
    void tenant;
    return body;
  }

  /** Client authentication at the token endpoint. Returns an error already sent, or the auth method. */
  function authenticateClient(
    ctx: Ctx,
    app: FakeApp,
    form: URLSearchParams,
    tenant: FakeTenant,
    required: boolean,
  ): "public" | "secret" | "certificate" | "federated" | "sent" {
    const secret = form.get("client_secret");
    const assertion = form.get("client_assertion");
    if (secret !== null) {
      const match = app.secrets.find((s) => s.value === secret);
      if (!match) {
        oauthError(ctx, 401, "invalid_client", 7000215, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.clientId}'.`);
        return "sent";
      }
      if (match.expired || knobs.expiredClientSecret) {
        oauthError(ctx, 401, "invalid_client", 7000222, `The provided client secret keys for app '${app.clientId}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.`);
        return "sent";
      }
      return "secret";
    }
    if (assertion !== null) {
      if (form.get("client_assertion_type") !== "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") {
        oauthError(ctx, 400, "invalid_request", 50027, "Invalid client_assertion_type: expected urn:ietf:params:oauth:client-assertion-type:jwt-bearer.");
        return "sent";
      }
      const parts = assertion.split(".");
      let header: Record<string, unknown> = {};
      let payload: Record<string, unknown> = {};
      try {
        header = JSON.parse(Buffer.from(parts[0] ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
        payload = JSON.parse(Buffer.from(parts[1] ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
      } catch {
        // fall through: not a JWT
      }
      const x5t = typeof header["x5t"] === "string" ? (header["x5t"] as string) : undefined;
      const x5t256 = typeof header["x5t#S256"] === "string" ? (header["x5t#S256"] as string) : undefined;
      if (!x5t && !x5t256) {
        // Federated credential (workload identity): the assertion is an external IdP's token.
        if (app.federatedTokens.includes(assertion)) return "federated";
        oauthError(ctx, 400, "invalid_client", 700213, `No matching federated identity record found for presented assertion subject '${String(payload["sub"] ?? "")}'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion.`);
        return "sent";
      }
      const cert = app.certificates
        .map((pem) => new X509Certificate(pem))
        .find((c) => {
          const der = c.raw;
          return (
            (x5t !== undefined && createHash("sha1").update(der).digest("base64url") === x5t) ||
            (x5t256 !== undefined && createHash("sha256").update(der).digest("base64url") === x5t256)
          );
        });
      if (!cert) {
        oauthError(ctx, 401, "invalid_client", 700027, `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${Buffer.from(x5t ?? x5t256 ?? "", "base64url").toString("hex").toUpperCase()}'. Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${app.clientId}'.]`);
        return "sent";
      }
      const data = Buffer.from(`${parts[0]}.${parts[1]}`);
      const sig = Buffer.from(parts[2] ?? "", "base64url");
      const key: KeyObject = createPublicKey(cert.publicKey.export({ type: "spki", format: "pem" }));
      let valid = false;
      if (header["alg"] === "RS256") valid = cryptoVerify("RSA-SHA256", data, key, sig);
      else if (header["alg"] === "PS256")
        valid = cryptoVerify("sha256", data, { key, padding: cryptoConstants.RSA_PKCS1_PSS_PADDING, saltLength: cryptoConstants.RSA_PSS_SALTLEN_DIGEST }, sig);
      if (!valid) {
        oauthError(ctx, 401, "invalid_client", 700027, "Client assertion failed signature validation.");
        return "sent";
      }
      const now = Math.floor(Date.now() / 1000);
      const aud = String(payload["aud"] ?? "");
      const audOk = (() => {
        try {
          const u = new URL(aud);
          const seg = u.pathname.split("/").filter(Boolean);
          return u.origin === loginOrigin(ctx.cloud) && seg[0] !== undefined && findTenant(seg[0]) === tenant;
        } catch {
          return false;
        }
      })();
      if (!audOk) {
        oauthError(ctx, 401, "invalid_client", 700027, `Client assertion contains an invalid audience '${aud}'.`);
        return "sent";
      }
      if (payload["iss"] !== app.clientId || payload["sub"] !== app.clientId) {
        oauthError(ctx, 401, "invalid_client", 700023, "Client assertion audience claim does not match Realm issuer (iss and sub must be the client id).");
        return "sent";
      }
      if (typeof payload["exp"] !== "number" || (payload["exp"] as number) < now - 300 || (typeof payload["nbf"] === "number" && (payload["nbf"] as number) > now + 300)) {
        oauthError(ctx, 401, "invalid_client", 700024, "Client assertion is not within its valid time range.");
        return "sent";
      }
      return "certificate";
    }
    if (required || !app.publicClient) {
      oauthError(ctx, 401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
      return "sent";
    }
    return "public";
  }

  async function token(ctx: Ctx, tenantSeg: string): Promise<void> {
    const form = ctx.form ?? new URLSearchParams();
    const tenant = findTenant(tenantSeg);
    if (!tenant) return tenantNotFound(ctx, tenantSeg);
    if (tenant.cloud !== ctx.cloud) {
      const { code, message } = wrongCloudError(ctx, tenant);
      return oauthError(ctx, 400, "invalid_request", code, message);
    }
    const clientId = form.get("client_id");
    const grantType = form.get("grant_type");
    if (!grantType) return oauthError(ctx, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.");
    if (!clientId) return oauthError(ctx, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.");
    const app = apps.get(clientId.toLowerCase());
    if (!app || (app.tenants && !app.tenants.map((t) => t.toLowerCase()).includes(tenant.id))) {
      return oauthError(ctx, 400, "unauthorized_client", 700016, `Application with identifier '${clientId}' was not found in the directory '${tenant.displayName}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`);
    }
    const clientInfo = form.get("client_info") === "1";
    const scopes = scopesOf(form.get("scope"));

    switch (grantType) {
      case "authorization_code": {
        const code = form.get("code") ?? "";
        const entry = authCodes.get(code);
        if (!entry) return oauthError(ctx, 400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid. - [The provided value for the 'code' parameter is not valid.]");
        if (entry.redeemed) return oauthError(ctx, 400, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.");
        entry.redeemed = true;
        if (entry.expiresAt < Date.now()) return oauthError(ctx, 400, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.");
        if (entry.clientId.toLowerCase() !== clientId.toLowerCase()) return oauthError(ctx, 400, "invalid_grant", 70000, "The provided value for the 'code' parameter is not valid. The code was issued to a different client.");
        if (entry.cloud !== ctx.cloud) return oauthError(ctx, 400, "invalid_grant", 70000, "The provided value for the 'code' parameter is not valid. The code was issued by another cloud.");
        if ((form.get("redirect_uri") ?? "") !== entry.redirectUri) {
          return oauthError(ctx, 400, "invalid_grant", 500112, `The reply address '${form.get("redirect_uri") ?? ""}' does not match the reply address '${entry.redirectUri}' provided when requesting Authorization code.`);
        }
        if (entry.codeChallenge !== undefined) {
          const verifier = form.get("code_verifier");
          if (!verifier) return oauthError(ctx, 400, "invalid_request", 50148, "The code_verifier does not match the code_challenge supplied in the authorization request for PKCE. (code_verifier is missing)");
          const computed = entry.codeChallengeMethod === "S256" ? createHash("sha256").update(verifier).digest("base64url") : verifier;
          if (computed !== entry.codeChallenge) {
            return oauthError(ctx, 400, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.");
          }
        }
        const auth = authenticateClient(ctx, app, form, tenant, false);
        if (auth === "sent") return;
        const granted = scopes.length ? scopes : entry.scopes;
        return sendJson(ctx, 200, issueTokens(ctx, { tenantId: entry.tenantId, clientId: entry.clientId, scopes: granted, user: entry.user, nonce: entry.nonce, clientInfo }));
      }
      case "refresh_token": {
        const rt = form.get("refresh_token") ?? "";
        const entry = refreshTokens.get(rt);
        if (!entry) return oauthError(ctx, 400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid. - [The provided value for the 'refresh_token' parameter is not valid.]");
        if (knobs.expireRefreshTokens) return oauthError(ctx, 400, "invalid_grant", 700082, "The refresh token has expired due to inactivity. The token was issued on a date and was inactive for 90.00:00:00.", { suberror: "bad_token" });
        if (entry.clientId.toLowerCase() !== clientId.toLowerCase()) return oauthError(ctx, 400, "invalid_grant", 700005, "Provided Authorization Code is intended to use against other tenant or client, thus rejected.");
        if (entry.cloud !== ctx.cloud || findTenant(entry.tenantId) !== tenant) return oauthError(ctx, 400, "invalid_grant", 700005, "Provided refresh token is intended to use against other tenant, thus rejected.");
        const auth = authenticateClient(ctx, app, form, tenant, false);
        if (auth === "sent") return;
        return sendJson(ctx, 200, issueTokens(ctx, { tenantId: entry.tenantId, clientId: entry.clientId, scopes: scopes.length ? scopes : entry.scopes, user: entry.user, clientInfo }));
      }
      case "client_credentials": {
        if (scopes.length !== 1 || !scopes[0]!.endsWith("/.default")) {
          return oauthError(ctx, 400, "invalid_scope", 1002012, `The provided value for scope ${scopes.join(" ")} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`);
        }
        const resourceError = checkResourceScopes(ctx.cloud, scopes);
        if (resourceError) return oauthError(ctx, 400, "invalid_resource", 500011, resourceError);
        const auth = authenticateClient(ctx, app, form, tenant, true);
        if (auth === "sent") return;
        const now = Math.floor(Date.now() / 1000);
        const aud = tokenAudience(ctx.cloud, scopes);
        const roles = tenant.consentedApps.has(app.clientId) || !tenant.requireConsent ? app.permissions : [];
        const accessToken = makeAppToken(tenant, app, ctx.cloud, aud, roles, now);
        return sendJson(ctx, 200, { token_type: "Bearer", expires_in: knobs.accessTokenLifetimeSeconds, ext_expires_in: knobs.accessTokenLifetimeSeconds, access_token: accessToken });
      }
      case "device_code":
      case "urn:ietf:params:oauth:grant-type:device_code": {
        const dc = deviceCodes.get(form.get("device_code") ?? "");
        if (!dc || dc.clientId.toLowerCase() !== clientId.toLowerCase()) return oauthError(ctx, 400, "bad_verification_code", 70019, "Verification code is invalid or was issued for another client.");
        if (dc.done) return oauthError(ctx, 400, "invalid_grant", 54005, "The device code was already redeemed.");
        dc.polls += 1;
        if (!dc.approved && knobs.deviceCodeApproveAfterPolls !== null && dc.polls > knobs.deviceCodeApproveAfterPolls) dc.approved = true;
        if (dc.expiresAt < Date.now()) {
          dc.done = true;
          return oauthError(ctx, 400, "expired_token", 70020, "The provided value for the input parameter 'device_code' is not valid. Device codes are valid for 15 minutes.");
        }
        if (!dc.approved) return oauthError(ctx, 400, "authorization_pending", 70016, "OAuth 2.0 device flow error. Authorization is pending. Continue polling.");
        if (knobs.deviceCodeOutcome === "decline") {
          dc.done = true;
          return oauthError(ctx, 400, "authorization_declined", 70000, "The user declined the authorization request (device code flow).");
        }
        if (knobs.deviceCodeOutcome === "expire") {
          dc.done = true;
          return oauthError(ctx, 400, "expired_token", 70020, "The provided value for the input parameter 'device_code' is not valid. This device code has expired.");
        }
        dc.done = true;
        const signedIn = knobs.signInTenant ? findTenant(knobs.signInTenant) ?? tenant : tenant;
        return sendJson(ctx, 200, issueTokens(ctx, { tenantId: signedIn.id, clientId: app.clientId, scopes: dc.scopes, user: { ...signedIn.admin, tenantId: signedIn.id }, clientInfo }));
      }
      default:
        return oauthError(ctx, 400, "unsupported_grant_type", 70003, `The app requested an unsupported grant type '${grantType}'.`);
    }
  }

  function makeAppToken(tenant: FakeTenant, app: FakeApp, cloud: CloudName, aud: string, roles: string[], now: number): string {
    const spOid = `5e000000-0000-4000-8000-${createHash("sha256").update(app.clientId + tenant.id).digest("hex").slice(0, 12)}`;
    const accessToken = signJwt({
      aud,
      iss: `https://sts.windows.net/${tenant.id}/`,
      iat: now,
      nbf: now,
      exp: now + knobs.accessTokenLifetimeSeconds,
      appid: app.clientId,
      idtyp: "app",
      oid: spOid,
      roles,
      sub: spOid,
      tid: tenant.id,
      ver: "1.0",
      uti: b64url(randomBytes(16)),
    });
    accessTokens.set(accessToken, { tenantId: tenant.id, aud, clientId: app.clientId, exp: now + knobs.accessTokenLifetimeSeconds, oid: spOid, roles });
    void cloud;
    return accessToken;
  }

  function deviceCode(ctx: Ctx, tenantSeg: string): void {
    const form = ctx.form ?? new URLSearchParams();
    const tenant = findTenant(tenantSeg);
    if (!tenant) return tenantNotFound(ctx, tenantSeg);
    if (tenant.cloud !== ctx.cloud) {
      const { code, message } = wrongCloudError(ctx, tenant);
      return oauthError(ctx, 400, "invalid_request", code, message);
    }
    const clientId = form.get("client_id") ?? "";
    const app = apps.get(clientId.toLowerCase());
    if (!app) return oauthError(ctx, 400, "unauthorized_client", 700016, `Application with identifier '${clientId}' was not found in the directory '${tenant.displayName}'.`);
    if (!app.publicClient) return oauthError(ctx, 400, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'. (Allow public client flows is off for this app.)");
    const scopes = scopesOf(form.get("scope"));
    const userCode = Array.from(randomBytes(9), (b) => "BCDFGHJKLMNPQRSTVWXZ"[b % 20]).join("");
    const dc: DeviceCodeEntry = {
      deviceCode: `fake-dc.${b64url(randomBytes(32))}`,
      userCode,
      tenantId: tenant.id,
      clientId: app.clientId,
      scopes,
      polls: 0,
      approved: false,
      expiresAt: Date.now() + 900_000,
      cloud: ctx.cloud,
      done: false,
    };
    deviceCodes.set(dc.deviceCode, dc);
    const verificationUri = `${loginOrigin(ctx.cloud)}/devicelogin`;
    sendJson(ctx, 200, {
      user_code: userCode,
      device_code: dc.deviceCode,
      verification_uri: verificationUri,
      expires_in: 900,
      interval: knobs.deviceCodeInterval,
      message: `To sign in, use a web browser to open the page ${verificationUri} and enter the code ${userCode} to authenticate.`,
    });
  }

  function deviceLoginPage(ctx: Ctx): void {
    const code = ctx.url.searchParams.get("otc") ?? ctx.form?.get("otc") ?? undefined;
    if (code) {
      try {
        approveDeviceCode(code);
      } catch {
        return sendHtml(ctx, 400, `<html><body><p>That code didn't work. Check the code and try again.</p></body></html>`);
      }
      return sendHtml(ctx, 200, `<html><body><p>You have signed in to the application on your device. You may now close this window.</p></body></html>`);
    }
    sendHtml(ctx, 200, `<html><body><form method="POST"><label>Enter code <input name="otc"></label><input type="submit" value="Next"></form></body></html>`);
  }

  function approveDeviceCode(userCode?: string): void {
    const pending = [...deviceCodes.values()].filter((d) => !d.done);
    const dc = userCode ? pending.find((d) => d.userCode === userCode.toUpperCase()) : pending[pending.length - 1];
    if (!dc) throw new Error(`fake entra: no pending device code${userCode ? ` ${userCode}` : ""}`);
    dc.approved = true;
  }

  // Graph host --------------------------------------------------------------------------------------
  function graphError(ctx: Ctx, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
    sendJson(
      ctx,
      status,
      {
        error: {
          code,
          message,
          innerError: { date: new Date().toISOString().replace(/\.\d+Z$/, ""), "request-id": ctx.ids.traceId, "client-request-id": ctx.ids.correlationId },
        },
      },
      { "request-id": ctx.ids.traceId, ...headers },
    );
  }

  async function handleGraph(ctx: Ctx): Promise<void> {
    graphRequestCount += 1;
    if (knobs.graphDelayMs > 0) await new Promise((r) => setTimeout(r, knobs.graphDelayMs));
    const auth = ctx.req.headers["authorization"];
    const m = typeof auth === "string" ? /^Bearer\s+(\S+)$/i.exec(auth) : null;
    if (!m) return graphError(ctx, 401, "InvalidAuthenticationToken", "Access token is empty.");
    const info = accessTokens.get(m[1]!);
    if (!info) return graphError(ctx, 401, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed, there are no dots (.). Access token validation failure.");
    if (info.exp < Date.now() / 1000) return graphError(ctx, 401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.");
    if (info.aud !== CLOUD_INFO[ctx.cloud].graphResource && info.aud !== GRAPH_APP_ID) {
      return graphError(ctx, 401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.");
    }
    if (knobs.graph503Next > 0) {
      knobs.graph503Next -= 1;
      return graphError(ctx, 503, "serviceNotAvailable", "Service unavailable. Please try again later.", { "retry-after": String(knobs.graphRetryAfterSeconds) });
    }
    if (knobs.graph429Next > 0 || (knobs.graph429Every > 0 && graphRequestCount % knobs.graph429Every === 0)) {
      if (knobs.graph429Next > 0) knobs.graph429Next -= 1;
      return graphError(ctx, 429, "TooManyRequests", "Too many requests, please retry after the time specified in the Retry-After header.", {
        "retry-after": String(knobs.graphRetryAfterSeconds),
      });
    }
    if (knobs.graphRejectWildcardLanguage && (ctx.req.headers["accept-language"] ?? "").trim() === "*") {
      return graphError(ctx, 400, "BadRequest", "Culture name '*' is not supported. (Accept-Language)");
    }
    const tenant = tenants.get(info.tenantId);
    if (!tenant) return graphError(ctx, 401, "InvalidAuthenticationToken", "Access token validation failure: unknown tenant.");
    if (tenant.requireConsent && !tenant.consentedApps.has(info.clientId)) {
      return graphError(ctx, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.");
    }
    const path = ctx.url.pathname.replace(/\/+$/, "");
    if (path.startsWith("/v1.0/servicePrincipals")) return synchronizationRoute(ctx, tenant, info, path);
    if (ctx.method !== "GET") return graphError(ctx, 405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.");
    if (path === "/v1.0/organization") return organization(ctx, tenant);
    if (path === "/v1.0/groups") return groups(ctx, tenant);
    if (path === "/v1.0/me" && info.scp !== undefined) {
      return sendJson(ctx, 200, { "@odata.context": `${graphOrigin(ctx.cloud)}/v1.0/$metadata#users/$entity`, id: info.oid, userPrincipalName: tenant.admin.upn, displayName: tenant.admin.name });
    }
    const seg = path.split("/").filter(Boolean)[1] ?? "";
    return graphError(ctx, 400, "BadRequest", `Resource not found for the segment '${seg}'.`);
  }

  // Synchronization API (service principals, provisioning jobs, secrets, Test Connection) -----------
  function granted(info: AccessTokenInfo): string[] {
    return info.scp !== undefined ? info.scp.split(" ") : (info.roles ?? []);
  }

  async function synchronizationRoute(ctx: Ctx, tenant: FakeTenant, info: AccessTokenInfo, path: string): Promise<void> {
    const seg = path.split("/").filter(Boolean).slice(2); // after v1.0/servicePrincipals
    const has = (names: string[]) => granted(info).some((p) => names.includes(p));
    const denied = () => graphError(ctx, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.");
    const notFound = (what: string) =>
      graphError(ctx, 404, "Request_ResourceNotFound", `Resource '${what}' does not exist or one of its queried reference-property objects are not present.`);
    const inTenant = [...sync.servicePrincipals.values()].filter((sp) => sp.tenantId === tenant.id);
    const spJson = (sp: FakeServicePrincipal) => ({ id: sp.id, appId: sp.appId, displayName: sp.displayName, servicePrincipalType: "Application", tags: sp.tags });
    if (seg.length === 0) {
      if (ctx.method !== "GET") return graphError(ctx, 405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.");
      if (!has(APP_READ)) return denied();
      const filter = ctx.url.searchParams.get("$filter") ?? "";
      let list = inTenant;
      let m: RegExpExecArray | null;
      if ((m = /^appId eq '([^']*)'$/.exec(filter))) list = list.filter((sp) => sp.appId === m![1]!.toLowerCase());
      else if ((m = /^displayName eq '((?:[^']|'')*)'$/.exec(filter))) list = list.filter((sp) => sp.displayName === m![1]!.replace(/''/g, "'"));
      else if ((m = /^tags\/any\(t:t eq '([^']*)'\)$/.exec(filter))) list = list.filter((sp) => sp.tags.includes(m![1]!));
      else if (filter) return graphError(ctx, 400, "Request_UnsupportedQuery", `Unsupported or invalid query filter clause specified: ${filter}`);
      return sendJson(ctx, 200, { "@odata.context": `${graphOrigin(ctx.cloud)}/v1.0/$metadata#servicePrincipals`, value: list.map(spJson) });
    }
    const sp = inTenant.find((x) => x.id === seg[0]);
    if (seg.length === 1) {
      if (!has(APP_READ)) return denied();
      return sp ? sendJson(ctx, 200, spJson(sp)) : notFound(seg[0]!);
    }
    if (seg[1] !== "synchronization") return graphError(ctx, 400, "BadRequest", `Resource not found for the segment '${seg[1]}'.`);
    if (!has(SYNC_WRITE) && !(ctx.method === "GET" && granted(info).includes("Synchronization.Read.All"))) return denied();
    if (!sp) return notFound(seg[0]!);
    if (seg[2] === "secrets" && seg.length === 3) {
      if (ctx.method === "GET") {
        // Graph never hands a saved credential back.
        return sendJson(ctx, 200, { value: sp.secrets.filter((s) => s.key !== "SecretToken" && s.key !== "Password") });
      }
      if (ctx.method === "PUT") {
        if (sync.faults.putSecretsStatus) return graphError(ctx, sync.faults.putSecretsStatus, "InternalServerError", "An internal server error occurred while saving the credentials.");
        const value = (ctx.json as { value?: SecretPair[] } | undefined)?.value;
        if (!Array.isArray(value)) return graphError(ctx, 400, "BadRequest", "The request body must carry a value array of key/value pairs.");
        for (const p of value) if (typeof p.value === "string" && /^dsync_/.test(p.value)) rememberSecret(p.value);
        sp.secrets = value.map((p) => ({ key: String(p.key), value: String(p.value) }));
        ctx.res.writeHead(204, { "request-id": ctx.ids.traceId }).end();
        return;
      }
      return graphError(ctx, 405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.");
    }
    if (seg[2] !== "jobs") return graphError(ctx, 400, "BadRequest", `Resource not found for the segment '${seg[2]}'.`);
    const jobJson = (j: FakeSyncJob) => ({ id: j.id, templateId: j.templateId, schedule: j.schedule, status: j.status, synchronizationJobSettings: [] });
    if (seg.length === 3) {
      if (ctx.method !== "GET") return graphError(ctx, 405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.");
      return sendJson(ctx, 200, { value: sp.jobs.map(jobJson) });
    }
    const job = sp.jobs.find((j) => j.id === seg[3]);
    if (!job) return notFound(seg[3]!);
    if (seg.length === 4) return ctx.method === "GET" ? sendJson(ctx, 200, jobJson(job)) : graphError(ctx, 405, "Request_BadRequest", "Method not allowed.");
    if (ctx.method !== "POST") return graphError(ctx, 405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.");
    const noContent = () => void ctx.res.writeHead(204, { "request-id": ctx.ids.traceId }).end();
    switch (seg[4]) {
      case "validateCredentials": {
        const body = (ctx.json ?? {}) as { useSavedCredentials?: boolean; credentials?: SecretPair[] };
        const saved = body.useSavedCredentials === true;
        const creds = saved ? sp.secrets : (body.credentials ?? []);
        const value = (key: string) => creds.find((c) => c.key === key)?.value ?? "";
        for (const c of creds) if (/^dsync_/.test(c.value ?? "")) rememberSecret(c.value);
        const base = value("BaseAddress");
        const probe = await probeTenantUrl(base, value("SecretToken"));
        const forced = sync.faults.failTestConnection === "always" || (sync.faults.failTestConnection === "saved" && saved);
        const ok = probe.status === 200 && !forced;
        sync.testConnections.push({ servicePrincipalId: sp.id, saved, baseAddress: base, token: value("SecretToken"), status: probe.status, ok, at: new Date() });
        if (ok) return noContent();
        return graphError(ctx, 400, "BadRequest", testConnectionMessage(forced && probe.status === 200 ? 401 : probe.status, probe.detail));
      }
      case "restart": {
        const scope = (ctx.json as { criteria?: { resetScope?: string } } | undefined)?.criteria?.resetScope ?? "";
        job.calls.push({ action: "restart", resetScope: scope, at: new Date() });
        if (/QuarantineState|Full/.test(scope)) {
          job.status.quarantine = null;
          job.status.countSuccessiveCompleteFailures = 0;
        }
        job.status.code = "Active";
        job.schedule.state = "Active";
        return noContent();
      }
      case "start":
        job.calls.push({ action: "start", at: new Date() });
        job.status.quarantine = null;
        job.status.code = "Active";
        job.schedule.state = "Active";
        return noContent();
      case "pause":
        job.calls.push({ action: "pause", at: new Date() });
        job.status.code = "Paused";
        job.schedule.state = "Paused";
        return noContent();
      default:
        return graphError(ctx, 400, "BadRequest", `Resource not found for the segment '${seg[4]}'.`);
    }
  }

  function organization(ctx: Ctx, tenant: FakeTenant): void {
    sendJson(ctx, 200, {
      "@odata.context": `${graphOrigin(ctx.cloud)}/v1.0/$metadata#organization`,
      value: [
        {
          id: tenant.id,
          displayName: tenant.displayName,
          tenantType: "AAD",
          countryLetterCode: "US",
          createdDateTime: "2019-03-01T12:00:00Z",
          verifiedDomains: tenant.domains.map((name, i) => ({
            capabilities: i === 0 ? "Email, OfficeCommunicationsOnline" : "Email",
            isDefault: i === 0,
            isInitial: i === 0,
            name,
            type: "Managed",
          })),
        },
      ],
    });
  }

  function groups(ctx: Ctx, tenant: FakeTenant): void {
    const q = ctx.url.searchParams;
    const topRaw = q.get("$top");
    let top = 100;
    if (topRaw !== null) {
      top = Number(topRaw);
      if (!Number.isInteger(top) || top < 1 || top > 999) {
        return graphError(ctx, 400, "Request_UnsupportedQuery", `Invalid page size specified: '${topRaw}'. Must be between 1 and 999 inclusive.`);
      }
    }
    let select: string[] = [...GROUP_PROPERTIES];
    const selectRaw = q.get("$select");
    if (selectRaw) {
      select = selectRaw.split(",").map((s) => s.trim()).filter(Boolean);
      const unknown = select.find((s) => !(GROUP_PROPERTIES as readonly string[]).includes(s));
      if (unknown) return graphError(ctx, 400, "Request_BadRequest", `Could not find a property named '${unknown}' on type 'microsoft.graph.group'.`);
    }
    let prefix: string | undefined;
    const filterRaw = q.get("$filter");
    if (filterRaw) {
      const fm = /^\s*startswith\(\s*displayName\s*,\s*'((?:[^']|'')*)'\s*\)\s*$/i.exec(filterRaw);
      if (!fm) return graphError(ctx, 400, "Request_UnsupportedQuery", `Unsupported or invalid query filter clause specified for property 'displayName' of resource 'Group': ${filterRaw}`);
      prefix = fm[1]!.replace(/''/g, "'").toLowerCase();
    }
    let start = 0;
    const skip = q.get("$skiptoken");
    if (skip) {
      const n = Number(Buffer.from(skip, "base64url").toString("utf8").replace(/^fake-skip:/, ""));
      if (!Number.isInteger(n) || n < 0) return graphError(ctx, 400, "Directory_InvalidSkipToken", "The specified page token value has expired and can no longer be included in your request.");
      start = n;
    }
    const total = tenant.groups.length + tenant.generatedGroups;
    const value: Record<string, unknown>[] = [];
    let i = start;
    const matches = (g: FakeGroup) => prefix === undefined || g.displayName.toLowerCase().startsWith(prefix);
    for (; i < total && value.length < top; i++) {
      const g = groupAt(tenant, i);
      if (!matches(g)) continue;
      const full: Record<string, unknown> = {
        id: g.id,
        displayName: g.displayName,
        description: g.description ?? null,
        mail: null,
        mailEnabled: false,
        mailNickname: g.displayName.replace(/[^A-Za-z0-9]/g, "").slice(0, 64) || "group",
        securityEnabled: true,
        groupTypes: [],
        createdDateTime: "2024-01-15T09:30:00Z",
        visibility: null,
      };
      const out: Record<string, unknown> = {};
      for (const k of select) out[k] = full[k];
      value.push(out);
    }
    // Look ahead for a further match so the last page has no nextLink.
    let next: number | undefined;
    for (let j = i; j < total; j++) {
      if (matches(groupAt(tenant, j))) {
        next = j;
        break;
      }
    }
    const body: Record<string, unknown> = {
      "@odata.context": `${graphOrigin(ctx.cloud)}/v1.0/$metadata#groups(${select.join(",")})`,
    };
    if (next !== undefined) {
      const link = new URL(`${graphOrigin(ctx.cloud)}/v1.0/groups`);
      for (const [k, v] of q) if (k !== "$skiptoken") link.searchParams.set(k, v);
      link.searchParams.set("$skiptoken", b64url(`fake-skip:${next}`));
      body["@odata.nextLink"] = link.toString();
    }
    body["value"] = value;
    sendJson(ctx, 200, body);
  }

  // ------------------------------------------------------------------------------------------------
  const fake: FakeEntra = {
    loginUrl: loginOrigin("global"),
    graphUrl: graphOrigin("global"),
    usgovLoginUrl: loginOrigin("usgov"),
    usgovGraphUrl: graphOrigin("usgov"),
    knownAuthorities: [loginOrigin("global"), loginOrigin("usgov")].map((o) => new URL(o).host),
    caCertPath: certs.caCertPath,
    caCert: certs.caCert,
    fetch: caFetch(certs.caCert),
    env(cloud: CloudName = "global") {
      return {
        NODE_EXTRA_CA_CERTS: certs!.caCertPath,
        DIRSYNC_LOGIN_ENDPOINT: loginOrigin(cloud),
        DIRSYNC_GRAPH_ENDPOINT: graphOrigin(cloud),
      };
    },
    requests,
    knobs,
    sync,
    tenants,
    apps,
    consents,
    findTenant,
    addApp(app) {
      const full: FakeApp = {
        displayName: "test app",
        redirectUris: ["http://localhost", "http://127.0.0.1"],
        publicClient: false,
        secrets: [],
        certificates: [],
        federatedTokens: [],
        permissions: ["User.Read.All", "Group.Read.All"],
        ...app,
      };
      apps.set(full.clientId.toLowerCase(), full);
      return full;
    },
    approveDeviceCode,
    pendingDeviceCodes() {
      return [...deviceCodes.values()].filter((d) => !d.done).map((d) => d.userCode);
    },
    issueAppToken(opts = {}) {
      const tenant = findTenant(opts.tenant ?? [...tenants.values()][0]!.id);
      if (!tenant) throw new Error(`fake entra: unknown tenant ${opts.tenant}`);
      const app = apps.get((opts.clientId ?? [...apps.values()][0]!.clientId).toLowerCase());
      if (!app) throw new Error(`fake entra: unknown app ${opts.clientId}`);
      const cloud = opts.cloud ?? tenant.cloud;
      return makeAppToken(tenant, app, cloud, CLOUD_INFO[cloud].graphResource, app.permissions, Math.floor(Date.now() / 1000));
    },
    groupAt,
    async close() {
      // Every secret this fake handed out goes on the list that test/leak checks the suite's output
      // against: authorization codes, access and refresh tokens, device codes, client secrets.
      for (const secret of [...authCodes.keys(), ...accessTokens.keys(), ...refreshTokens.keys(), ...deviceCodes.keys()]) {
        rememberSecret(secret);
      }
      for (const app of apps.values()) for (const s of app.secrets) rememberSecret(s.value);
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      );
    },
  };
  return fake;
}
