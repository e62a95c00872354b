import fs from 'node:fs';
import { createHash, createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import {
  ConfidentialClientApplication,
  CryptoProvider,
  LogLevel,
  PublicClientApplication,
  type AccountInfo,
  type AuthenticationResult,
  type Configuration,
  type INetworkModule,
  type NetworkResponse,
} from '@azure/msal-node';
import { AuthError, DirsyncError, InterruptedError, NotConfiguredError, OperationError, UsageError } from '../errors.js';
import { isGuid } from '../config/validate.js';
import { authFailure, type OAuthFailure } from './aadsts.js';
import { fileCachePlugin } from './cache.js';
import { appCredentialFromEnv, type AppCredential } from './credentials.js';
import { endpointsFor, graphDefaultScope, type CloudName } from './clouds.js';
import { GraphClient, type Organization } from './graph.js';
import { createHttpClient, type HttpClient } from './http.js';
import { escapeHtml, htmlPage, Loopback, type Callback } from './loopback.js';

/**
 * Sign-in and consent with Microsoft Entra through @azure/msal-node (imported only here, and this
 * module only by the commands that sign in).
 */

export interface EntraSettings {
  tenantId: string;
  cloud: CloudName;
  clientId: string;
  env: NodeJS.ProcessEnv;
  /** msal's token cache file for this profile; omitted = in memory. */
  cachePath?: string;
  signal?: AbortSignal;
  debug?: (line: string) => void;
  http?: HttpClient;
}

export interface SignInUi {
  /** Shows the URL and opens a browser on it (the UI decides how). */
  openBrowser(url: string): Promise<void>;
  /** A spinner or a line while waiting for the person. */
  waiting(message: string): { stop(): void };
  /** Device code: tell the person where to go and what to type. */
  deviceCode(info: { verificationUri: string; userCode: string; expiresInSeconds: number }): void;
}

export interface ConsentOutcome {
  tenantId: string;
  tenantDisplayName?: string;
  account?: string;
  permissions: string[];
  grantedAt: string;
  flow: 'browser' | 'device-code';
  /** Whether /adminconsent granted the app's permissions for the whole organisation. */
  adminConsent: boolean;
}

// --- msal plumbing ---------------------------------------------------------------------------------

/** msal's networkClient on top of the proxy-aware client; remembers the last network failure. */
function networkClient(http: HttpClient, signal: AbortSignal | undefined, state: { lastError?: DirsyncError }): INetworkModule {
  const send = async <T>(url: string, method: 'GET' | 'POST', options?: { headers?: Record<string, string>; body?: string }, timeout?: number): Promise<NetworkResponse<T>> => {
    try {
      const res = await http(url, { method, headers: options?.headers, body: method === 'POST' ? (options?.body ?? '') : undefined, timeoutMs: timeout, signal });
      let body: unknown = {};
      try {
        body = res.text ? JSON.parse(res.text) : {};
      } catch {
        body = {};
      }
      return { status: res.status, headers: res.headers, body: body as T };
    } catch (error) {
      if (error instanceof DirsyncError) state.lastError = error;
      throw error;
    }
  };
  return {
    sendGetRequestAsync: (url, options, timeout) => send(url, 'GET', options, timeout),
    sendPostRequestAsync: (url, options) => send(url, 'POST', options),
  };
}

interface MsalContext {
  config: Configuration;
  net: { lastError?: DirsyncError };
  authority: string;
  login: string;
  graph: string;
  http: HttpClient;
}

function msalContext(s: EntraSettings, auth: Partial<Configuration['auth']> = {}): MsalContext {
  const endpoints = endpointsFor(s.cloud, s.env);
  const http = s.http ?? createHttpClient(s.env, { debug: s.debug });
  const net: { lastError?: DirsyncError } = {};
  const authority = `${endpoints.login}/${s.tenantId}`;
  s.debug?.(`authority ${authority}${endpoints.overridden ? ' (DIRSYNC_LOGIN_ENDPOINT)' : ''}, Graph ${endpoints.graph}`);
  const config: Configuration = {
    auth: {
      clientId: s.clientId,
      authority,
      // Trust the authority as given: no instance discovery call to login.microsoftonline.com,
      // which a GCC High profile must never reach and which a private endpoint cannot answer.
      knownAuthorities: [new URL(endpoints.login).host],
      ...auth,
    },
    cache: s.cachePath ? { cachePlugin: fileCachePlugin(s.cachePath, s.debug) } : undefined,
    system: {
      networkClient: networkClient(http, s.signal, net),
      loggerOptions: {
        piiLoggingEnabled: false,
        logLevel: LogLevel.Warning,
        loggerCallback: (_level, message, containsPii) => {
          if (!containsPii) s.debug?.(`msal: ${message}`);
        },
      },
    },
  };
  return { config, net, authority, login: endpoints.login, graph: endpoints.graph, http };
}

/** Any failure from msal as a dirsync error: AADSTS mapped, network explained, secrets never echoed. */
export function fromMsal(error: unknown, net: { lastError?: DirsyncError }, options: { appOnly?: boolean; login?: string } = {}): DirsyncError {
  if (error instanceof DirsyncError) return error;
  const e = error as { errorCode?: string; errorMessage?: string; subError?: string; correlationId?: string; name?: string; message?: string };
  const code = e.errorCode ?? '';
  if (code === 'endpoints_resolution_error' || code === 'network_error' || code === 'openid_config_error' || code === 'untrusted_authority') {
    if (net.lastError) return net.lastError;
    return new OperationError(`Could not reach the Microsoft Entra sign-in service${options.login ? ` at ${options.login}` : ''} (${code}).`, {
      hint:
        'Check the network and proxy (HTTPS_PROXY / NO_PROXY). If TLS is intercepted, trust its CA with NODE_EXTRA_CA_CERTS. ' +
        'If the tenant ID or cloud is wrong, run `dirsync configure` again.',
      details: { msal: code, correlationId: e.correlationId || undefined },
      cause: error,
    });
  }
  const description = e.errorMessage ?? '';
  if (/AADSTS\d+/.test(description) || e.name === 'ServerError' || e.name === 'InteractionRequiredAuthError') {
    return authFailure({ error: code || undefined, description, subError: e.subError, correlationId: e.correlationId || undefined }, options);
  }
  return new AuthError(`Sign-in failed (${code || e.name || 'unknown error'}).`, {
    hint: 'Run the command again with --debug for details.',
    details: { msal: code || undefined, correlationId: e.correlationId || undefined },
    cause: error,
  });
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined, timeoutMs: number | undefined, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => reject(signal?.reason instanceof Error ? signal.reason : new InterruptedError());
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeoutMs !== undefined) timer = setTimeout(() => reject(onTimeout()), timeoutMs);
    promise.then(resolve, reject).finally(() => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    });
  });
}

// --- pages -----------------------------------------------------------------------------------------

export function successPage(outcome: { tenantDisplayName?: string; tenantId: string; account?: string }): string {
  return htmlPage(
    'Consent granted',
    `<h1 class="ok">✓ dirsync is connected to ${escapeHtml(outcome.tenantDisplayName ?? outcome.tenantId)}</h1>` +
      `<p>Consent was granted for the organisation${outcome.account ? ` by <b>${escapeHtml(outcome.account)}</b>` : ''}.</p>` +
      '<p><b>Return to the terminal</b> for the next step. You can close this tab.</p>',
  );
}

export function failurePage(error: DirsyncError): string {
  const [first, ...rest] = error.message.split('\n');
  return htmlPage(
    'Sign-in failed',
    `<h1 class="bad">✗ Sign-in or consent did not complete</h1><p>${escapeHtml(first ?? '')}</p>` +
      (error.hint ? `<p>${escapeHtml(error.hint)}</p>` : '') +
      (rest.length ? `<p class="ids">${escapeHtml(rest.join('\n'))}</p>` : '') +
      '<p>The terminal shows the same. You can close this tab.</p>',
  );
}

// --- the browser flow --------------------------------------------------------------------------------

const b64url = (bytes: number) => randomBytes(bytes).toString('base64url');

export interface BrowserConsentOptions {
  timeoutMs: number;
  /** Skip /adminconsent and only sign in (delegated consent on the sign-in page). */
  signInOnly?: boolean;
}

/**
 * Tenant-wide consent through the browser, in one tab:
 *  1. `/adminconsent` (v2) with `<graph>/.default`: the admin grants every permission the app
 *     registration lists — delegated and application — for the whole organisation. It answers with a
 *     GET query on our loopback; it returns no token.
 *  2. the loopback answers that with a redirect to the sign-in (authorization code + PKCE S256,
 *     state, response_mode=form_post), which the existing session completes; msal redeems the code.
 *  3. Graph /organization must name the configured tenant.
 * `prompt=consent` on a sign-in would only cover delegated permissions (and only for that user unless
 * the admin ticks a box), so it cannot give the tenant-wide grant CI's app-only credentials need.
 */
export async function consentWithBrowser(s: EntraSettings, ui: SignInUi, options: BrowserConsentOptions): Promise<ConsentOutcome> {
  const m = msalContext(s);
  const pca = new PublicClientApplication(m.config);
  const scope = graphDefaultScope(s.cloud);
  const loopback = await Loopback.start(s.debug);
  let pending: Callback | undefined;
  const fail = (error: DirsyncError): never => {
    pending?.respond(failurePage(error), 200);
    pending = undefined;
    throw error;
  };
  const timeoutError = () =>
    new AuthError(`No answer from the browser within ${describeMs(options.timeoutMs)}: sign-in and consent did not complete.`, {
      hint:
        'If the browser showed a Microsoft error (e.g. AADSTS50011, redirect URI), fix that setting. If no browser opened, ' +
        'open the URL printed above; over SSH or without a display use `dirsync consent --device-code`; or allow more time with --timeout 10m.',
    });
  const started = Date.now();
  const remaining = () => Math.max(1, options.timeoutMs - (Date.now() - started));
  let spinner: { stop(): void } | undefined;
  const open = async (url: string) => {
    await ui.openBrowser(url);
    spinner = ui.waiting('Waiting for you to sign in and grant consent in the browser — Ctrl-C to cancel');
  };
  try {
    let adminConsent = false;
    let firstUrl: string | undefined;
    let adminState: string | undefined;
    if (!options.signInOnly) {
      adminState = b64url(24);
      const u = new URL(`${m.login}/${s.tenantId}/v2.0/adminconsent`);
      u.searchParams.set('client_id', s.clientId);
      u.searchParams.set('scope', scope);
      u.searchParams.set('redirect_uri', loopback.redirectUri);
      u.searchParams.set('state', adminState);
      firstUrl = u.href;
    }
    const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
    const signInState = b64url(24);
    let authUrl: string;
    try {
      authUrl = await pca.getAuthCodeUrl({
        scopes: [scope],
        redirectUri: loopback.redirectUri,
        codeChallenge: challenge,
        codeChallengeMethod: 'S256',
        state: signInState,
        responseMode: 'form_post' as never,
      });
    } catch (error) {
      throw fromMsal(error, m.net, { login: m.login });
    }
    const sentState = new URL(authUrl).searchParams.get('state') ?? signInState;

    if (firstUrl && adminState) {
      const adminAnswer = loopback.expect(adminState);
      await open(firstUrl);
      pending = await abortable(adminAnswer, s.signal, remaining(), timeoutError);
      const p = pending.params;
      s.debug?.(`admin consent answer: ${p.get('error') ? `error ${p.get('error')}` : `admin_consent=${p.get('admin_consent')}`}`);
      if (p.get('error')) fail(authFailure(failureFromParams(p), { prefix: 'Admin consent failed' }));
      if (p.get('admin_consent')?.toLowerCase() !== 'true') {
        fail(new AuthError('Admin consent was not granted.', { hint: 'Run `dirsync consent` again and choose Accept as an administrator.' }));
      }
      const consentedTenant = p.get('tenant')?.toLowerCase();
      if (consentedTenant && consentedTenant !== s.tenantId) fail(otherTenant(consentedTenant, s.tenantId));
      adminConsent = true;
      const signInAnswer = loopback.expect(sentState);
      pending.redirect(authUrl);
      pending = await abortable(signInAnswer, s.signal, remaining(), timeoutError);
    } else {
      const signInAnswer = loopback.expect(sentState);
      await open(authUrl);
      pending = await abortable(signInAnswer, s.signal, remaining(), timeoutError);
    }
    const p = pending.params;
    if (p.get('error')) fail(authFailure(failureFromParams(p), { prefix: 'Sign-in failed' }));
    const code = p.get('code');
    if (!code) fail(new AuthError('The browser returned no authorization code.', { hint: 'Run `dirsync consent` again.' }));
    let result: AuthenticationResult;
    try {
      result = await pca.acquireTokenByCode({
        code: code!,
        scopes: [scope],
        redirectUri: loopback.redirectUri,
        codeVerifier: verifier,
        clientInfo: p.get('client_info') ?? undefined,
      });
    } catch (error) {
      return fail(fromMsal(error, m.net, { login: m.login }));
    }
    s.debug?.(`signed in: tenant ${result.tenantId}, correlation ID ${result.correlationId}`);
    try {
      const outcome = await verify(s, m, result, adminConsent, 'browser');
      pending.respond(successPage(outcome));
      pending = undefined;
      return outcome;
    } catch (error) {
      return fail(error instanceof DirsyncError ? error : fromMsal(error, m.net));
    }
  } catch (error) {
    if (pending && error instanceof DirsyncError) pending.respond(failurePage(error));
    throw error;
  } finally {
    spinner?.stop();
    loopback.close();
  }
}

function failureFromParams(p: URLSearchParams): OAuthFailure {
  return {
    error: p.get('error') ?? undefined,
    description: p.get('error_description') ?? undefined,
    subError: p.get('error_subcode') ?? undefined,
    correlationId: p.get('correlation_id') ?? undefined,
    traceId: p.get('trace_id') ?? undefined,
    timestamp: p.get('timestamp') ?? undefined,
  };
}

function otherTenant(actual: string, configured: string): AuthError {
  return new AuthError(`You signed in to tenant ${actual}, but this profile is configured for tenant ${configured}.`, {
    hint: `Sign in with an administrator account of tenant ${configured} (use a private window, or sign out first), or run \`dirsync configure --tenant-id ${actual}\` if that tenant is the right one.`,
    details: { signedInTenant: actual, configuredTenant: configured },
  });
}

async function verify(s: EntraSettings, m: MsalContext, result: AuthenticationResult, adminConsent: boolean, flow: ConsentOutcome['flow']): Promise<ConsentOutcome> {
  if (result.tenantId && result.tenantId.toLowerCase() !== s.tenantId) throw otherTenant(result.tenantId.toLowerCase(), s.tenantId);
  const graph = new GraphClient({ baseUrl: m.graph, http: m.http, getToken: async () => result.accessToken, signal: s.signal, debug: s.debug });
  const org: Organization = await graph.organization();
  if (org.id.toLowerCase() !== s.tenantId) throw otherTenant(org.id.toLowerCase(), s.tenantId);
  return {
    tenantId: s.tenantId,
    tenantDisplayName: org.displayName ?? undefined,
    account: result.account?.username || undefined,
    permissions: result.scopes
      .filter((x) => !['openid', 'profile', 'offline_access', 'email'].includes(x))
      .map((x) => x.replace(/^https?:\/\/[^/]+\//, '')),
    grantedAt: new Date().toISOString(),
    flow,
    adminConsent,
  };
}

// --- device code -----------------------------------------------------------------------------------

/** For SSH sessions and machines without a browser: a code to enter on another device. */
export async function consentWithDeviceCode(s: EntraSettings, ui: SignInUi, options: { timeoutMs: number }): Promise<ConsentOutcome> {
  const m = msalContext(s);
  const pca = new PublicClientApplication(m.config);
  const request = {
    scopes: [graphDefaultScope(s.cloud)],
    timeout: Math.ceil(options.timeoutMs / 1000),
    cancel: false,
    deviceCodeCallback: (r: { verificationUri: string; userCode: string; expiresIn: number }) =>
      ui.deviceCode({ verificationUri: r.verificationUri, userCode: r.userCode, expiresInSeconds: r.expiresIn }),
  };
  const onAbort = () => {
    request.cancel = true;
  };
  s.signal?.addEventListener('abort', onAbort, { once: true });
  let spinner: { stop(): void } | undefined;
  const original = request.deviceCodeCallback;
  request.deviceCodeCallback = (r) => {
    original(r);
    spinner = ui.waiting('Waiting for the sign-in on the other device — Ctrl-C to cancel');
  };
  try {
    const result = await abortable(pca.acquireTokenByDeviceCode(request).catch((error: unknown) => {
      const e = error as { errorCode?: string };
      if (e.errorCode === 'device_code_polling_cancelled') throw new InterruptedError();
      if (e.errorCode === 'user_timeout_reached' || e.errorCode === 'device_code_expired') {
        throw new AuthError(`Nobody completed the device-code sign-in within ${describeMs(options.timeoutMs)}.`, {
          hint: 'Run `dirsync consent --device-code` again and enter the code promptly, or allow more time with --timeout 15m.',
        });
      }
      throw fromMsal(error, m.net, { login: m.login });
    }), s.signal, undefined, () => new Error('unreachable'));
    if (!result) throw new AuthError('The device-code sign-in returned nothing.', { hint: 'Run `dirsync consent --device-code` again.' });
    return await verify(s, m, result, false, 'device-code');
  } finally {
    spinner?.stop();
    s.signal?.removeEventListener('abort', onAbort);
  }
}

// --- tokens for Graph --------------------------------------------------------------------------------

export { appCredentialFromEnv, type AppCredential } from './credentials.js';

function readVariableFile(variable: string, file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`${variable} names a file that cannot be read: ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`, {
      hint: `Point ${variable} at the file, readable by this user.`,
    });
  }
}

function certificateCredential(env: NodeJS.ProcessEnv): { thumbprintSha256: string; privateKey: string; x5c: string } {
  const file = env.AZURE_CLIENT_CERTIFICATE_PATH!;
  const pem = readVariableFile('AZURE_CLIENT_CERTIFICATE_PATH', file);
  const certs = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const key = /-----BEGIN (?:ENCRYPTED |RSA |EC )?PRIVATE KEY-----[\s\S]+?-----END (?:ENCRYPTED |RSA |EC )?PRIVATE KEY-----/.exec(pem)?.[0];
  if (!certs[0] || !key) {
    throw new UsageError(`AZURE_CLIENT_CERTIFICATE_PATH (${file}) must be a PEM file holding the certificate and its private key.`, {
      hint: 'Concatenate them: cat cert.pem key.pem > client.pem (PFX files are not supported; convert with openssl pkcs12 -nodes).',
    });
  }
  let privateKey: string;
  try {
    privateKey = createPrivateKey({ key, passphrase: env.AZURE_CLIENT_CERTIFICATE_PASSWORD || undefined })
      .export({ format: 'pem', type: 'pkcs8' })
      .toString();
  } catch {
    throw new UsageError(`The private key in AZURE_CLIENT_CERTIFICATE_PATH (${file}) cannot be read.`, {
      hint: 'If it is encrypted, set AZURE_CLIENT_CERTIFICATE_PASSWORD.',
    });
  }
  const cert = new X509Certificate(certs[0]);
  return {
    thumbprintSha256: createHash('sha256').update(cert.raw).digest('hex').toUpperCase(),
    privateKey,
    x5c: certs.join('\n'),
  };
}

export interface TokenSource {
  getToken(): Promise<string>;
  /** For status lines and --debug: where the credential comes from. */
  describe: string;
  appOnly: boolean;
}

/** App-only token for Graph from the AZURE_* credential (client credentials grant). */
export function appOnlyTokenSource(cred: AppCredential, s: Omit<EntraSettings, 'clientId' | 'cachePath'>): TokenSource {
  const settings: EntraSettings = { ...s, clientId: cred.clientId };
  const auth: Partial<Configuration['auth']> =
    cred.kind === 'secret'
      ? { clientSecret: s.env.AZURE_CLIENT_SECRET }
      : cred.kind === 'certificate'
        ? { clientCertificate: certificateCredential(s.env) }
        : { clientAssertion: async () => readVariableFile('AZURE_FEDERATED_TOKEN_FILE', s.env.AZURE_FEDERATED_TOKEN_FILE!).trim() };
  const m = msalContext(settings, auth);
  const cca = new ConfidentialClientApplication(m.config);
  return {
    appOnly: true,
    describe: `app-only credential (AZURE_CLIENT_ID ${cred.clientId} with ${cred.variable})`,
    async getToken() {
      try {
        const result = await cca.acquireTokenByClientCredential({ scopes: [graphDefaultScope(s.cloud)] });
        if (!result) throw new AuthError('Entra returned no token for the app-only credential.', { hint: `Check ${cred.variable}.` });
        s.debug?.(`app-only token acquired (correlation ID ${result.correlationId})`);
        return result.accessToken;
      } catch (error) {
        const mapped = fromMsal(error, m.net, { appOnly: true, login: m.login });
        if (mapped instanceof AuthError && !/AZURE_/.test(`${mapped.message} ${mapped.hint ?? ''}`)) {
          throw new AuthError(`${mapped.message}`, { hint: `${mapped.hint ?? ''} Check AZURE_CLIENT_ID, AZURE_TENANT_ID and ${cred.variable}.`.trim(), details: mapped.details });
        }
        throw mapped;
      }
    },
  };
}

/** The signed-in admin's token from the profile's cache (refreshed silently; never opens a browser). */
export function cachedSignInTokenSource(s: EntraSettings): TokenSource {
  const m = msalContext(s);
  const pca = new PublicClientApplication(m.config);
  const notSignedIn = (why: string) =>
    new AuthError(`${why} Graph commands need a signed-in administrator or an app-only credential.`, {
      hint:
        'Run `dirsync consent` to sign in, or in CI set AZURE_CLIENT_ID with AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH or AZURE_FEDERATED_TOKEN_FILE.',
    });
  return {
    appOnly: false,
    describe: 'the signed-in administrator (sign-in cache)',
    async getToken() {
      const accounts: AccountInfo[] = await pca.getTokenCache().getAllAccounts();
      const account = accounts.find((a) => a.tenantId?.toLowerCase() === s.tenantId) ?? undefined;
      if (!account) throw notSignedIn(`No sign-in is saved for tenant ${s.tenantId}.`);
      try {
        const result = await pca.acquireTokenSilent({ account, scopes: [graphDefaultScope(s.cloud)] });
        s.debug?.(`token from the sign-in cache for ${account.username} (correlation ID ${result.correlationId})`);
        return result.accessToken;
      } catch (error) {
        const e = error as { name?: string; errorCode?: string };
        if (e.name === 'InteractionRequiredAuthError' || e.errorCode === 'no_tokens_found' || e.errorCode === 'invalid_grant') {
          const mapped = fromMsal(error, m.net);
          throw notSignedIn(`The saved sign-in for ${account.username} has expired or was revoked (${mapped.message.split('\n')[0]}).`);
        }
        throw fromMsal(error, m.net, { login: m.login });
      }
    },
  };
}

/**
 * `dirsync doctor`: can the cached sign-in still be refreshed? Forces a refresh-token redemption
 * (never interactive, never a browser). Throws AuthError with `details.signIn` = "missing" (nothing
 * saved for the tenant) or "expired" (Entra refused the refresh: expired, revoked, password changed).
 */
export async function refreshCachedSignIn(s: EntraSettings): Promise<{ account: string }> {
  const m = msalContext(s);
  const pca = new PublicClientApplication(m.config);
  const accounts: AccountInfo[] = await pca.getTokenCache().getAllAccounts();
  const account = accounts.find((a) => a.tenantId?.toLowerCase() === s.tenantId);
  if (!account) {
    throw new AuthError(`No sign-in is saved for tenant ${s.tenantId}.`, {
      hint: 'Run `dirsync consent` to sign in (or use AZURE_* app-only credentials in CI).',
      details: { signIn: 'missing' },
    });
  }
  try {
    await pca.acquireTokenSilent({ account, scopes: [graphDefaultScope(s.cloud)], forceRefresh: true });
    return { account: account.username };
  } catch (error) {
    const e = error as { name?: string; errorCode?: string };
    if (e.name === 'InteractionRequiredAuthError' || e.errorCode === 'no_tokens_found' || e.errorCode === 'invalid_grant') {
      const mapped = fromMsal(error, m.net);
      throw new AuthError(`The saved sign-in for ${account.username} can no longer be refreshed (${mapped.message.split('\n')[0]!.replace(/\.$/, '')}).`, {
        hint: 'Run `dirsync consent` to sign in again.',
        details: { ...mapped.details, signIn: 'expired' },
      });
    }
    throw fromMsal(error, m.net, { login: m.login });
  }
}

/**
 * The Graph token source for a profile: AZURE_* app-only credentials when set (CI), else the cached
 * sign-in. Tenant: the configured one, else AZURE_TENANT_ID.
 */
export function graphTokenSource(options: {
  tenant?: { tenantId: string; cloud: CloudName; clientId?: string };
  env: NodeJS.ProcessEnv;
  cachePath: string;
  signal?: AbortSignal;
  debug?: (line: string) => void;
  warn?: (line: string) => void;
  http?: HttpClient;
}): { source: TokenSource; tenantId: string; cloud: CloudName } {
  const cred = appCredentialFromEnv(options.env);
  const cloud = options.tenant?.cloud ?? 'global';
  if (cred) {
    const tenantId = options.tenant?.tenantId ?? cred.tenantId;
    if (!tenantId) {
      throw new NotConfiguredError('No tenant: the profile is not configured and AZURE_TENANT_ID is not set.', {
        hint: 'Set AZURE_TENANT_ID to the tenant ID, or run `dirsync configure`.',
      });
    }
    if (options.tenant && cred.tenantId && cred.tenantId !== options.tenant.tenantId) {
      options.warn?.(`AZURE_TENANT_ID (${cred.tenantId}) differs from the configured tenant ${options.tenant.tenantId}; using the configured tenant.`);
    }
    const source = appOnlyTokenSource(cred, { tenantId, cloud, env: options.env, signal: options.signal, debug: options.debug, http: options.http });
    options.debug?.(`credential: ${source.describe}`);
    return { source, tenantId, cloud };
  }
  if (!options.tenant) {
    throw new NotConfiguredError('This profile is not configured.', {
      hint: 'Run `dirsync configure` and `dirsync consent`, or in CI set AZURE_TENANT_ID and AZURE_CLIENT_ID with a credential variable.',
    });
  }
  if (!options.tenant.clientId) {
    throw new NotConfiguredError('No client ID is configured, so there is no sign-in to use.', {
      hint: 'Run `dirsync configure --client-id <GUID>` and `dirsync consent`, or set AZURE_CLIENT_ID with a credential variable.',
    });
  }
  const source = cachedSignInTokenSource({
    tenantId: options.tenant.tenantId,
    cloud,
    clientId: options.tenant.clientId,
    env: options.env,
    cachePath: options.cachePath,
    signal: options.signal,
    debug: options.debug,
    http: options.http,
  });
  options.debug?.(`credential: ${source.describe}`);
  return { source, tenantId: options.tenant.tenantId, cloud };
}

export function describeMs(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000} minute${ms === 60_000 ? '' : 's'}`;
  if (ms % 1000 === 0) return `${ms / 1000} second${ms === 1000 ? '' : 's'}`;
  return `${ms} ms`;
}
