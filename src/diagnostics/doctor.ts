import { randomBytes, createHash } from 'node:crypto';
import { AuthError, DirsyncError, OperationError, UsageError } from '../errors.js';
import type { ProfileConfig, TenantConfig } from '../config/store.js';
import type { SecretCodeRecord } from '../directory/store.js';
import { AADSTS, type DoctorCause } from '../entra/aadsts.js';
import { CLOUDS, endpointsFor, graphDefaultScope, type CloudName } from '../entra/clouds.js';
import { appCredentialFromEnv, type AppCredential } from '../entra/credentials.js';
import { createHttpClient, type HttpClient } from '../entra/http.js';
import { DEFAULT_WARN_MS, secretCodeStatus } from '../secrets/policy.js';
import { formatDay, relativeDays } from '../util/dates.js';
import { describeDuration } from '../util/duration.js';
import { bounded, diagnoseNetwork, probeHost, rootCode, type HostProbe, type HostRole } from './network.js';
import { fail, pass, skip, warn, type CheckResult, type Diagnosis, type DoctorReport } from './types.js';

/**
 * `dirsync doctor`: ordered checks, each a probe classified into pass / warn / fail / skip with one
 * cause and its fix. Never prompts, never opens a browser, never prints a secret; every network
 * probe is bounded by `timeoutMs`. A check whose prerequisite failed is skipped, saying which.
 */
export interface DoctorInput {
  profileName: string;
  profile: ProfileConfig;
  env: NodeJS.ProcessEnv;
  now: () => Date;
  /** The bound of each network probe. */
  timeoutMs: number;
  /** msal's token cache file of this profile. */
  signInCache: string;
  /** The current Secret Code record; undefined when none was issued (or no directory exists). */
  readSecretCode(): Promise<SecretCodeRecord | undefined>;
  /** " --profile x" for the fix commands, or "". */
  profileFlag: string;
  signal?: AbortSignal;
  debug?: (line: string) => void;
}

/** The allowed skew between this machine and the sign-in host (tokens carry 5 minutes of slack). */
export const CLOCK_SKEW_LIMIT_MS = 5 * 60_000;

/** Codes the authorize page answers before anyone signs in: a wrong app registration or cloud. */
const PREFLIGHT_CODES = new Set([50011, 500113, 700016, 7000112, 70001, 50194, 90002, 900439, 900440, 90038, 650056, 650057]);

const causeOf = (code: number | undefined): DoctorCause => (code !== undefined ? AADSTS[code]?.cause : undefined) ?? 'unclassified';

export async function runDoctor(input: DoctorInput): Promise<DoctorReport> {
  const checks: CheckResult[] = [];
  const add = (c: CheckResult) => {
    input.debug?.(`doctor: ${c.id} ${c.status}${c.cause ? ` (${c.cause})` : ''}: ${c.summary}`);
    checks.push(c);
    return c;
  };
  const dirsync = (args: string) => `dirsync ${args}${input.profileFlag}`;
  const { profile, env } = input;
  const t = input.timeoutMs;

  // 1. The profile.
  const tenant = profile.tenant;
  if (!tenant) {
    add(
      fail(
        'config',
        'not-configured',
        `Profile "${input.profileName}" is not configured: there is no tenant.`,
        `Run \`${dirsync('configure --tenant-id <GUID>')}\` (and \`--client-id <GUID>\` to sign in), then \`${dirsync('consent')}\`.`,
      ),
    );
    for (const id of ['login-host', 'graph-host', 'clock', 'tenant', 'app-registration', 'last-failure', 'app-credential', 'signin', 'graph', 'provisioning-job', 'secret-code']) {
      add(skip(id, 'Skipped: the profile is not configured.'));
    }
    return report(checks);
  }
  add(
    pass(
      'config',
      `Profile "${input.profileName}": tenant ${tenant.tenantId} in ${CLOUDS[tenant.cloud].label}` +
        `${tenant.clientId ? `, client ID ${tenant.clientId}` : ', no client ID'}${profile.provisioning?.publicUrl ? `, public URL ${profile.provisioning.publicUrl}` : ''}.`,
    ),
  );

  let endpoints: { login: string; graph: string };
  try {
    endpoints = endpointsFor(tenant.cloud, env);
  } catch (error) {
    add(fail('login-host', 'unclassified', (error as Error).message, (error as DirsyncError).hint ?? 'Fix DIRSYNC_LOGIN_ENDPOINT / DIRSYNC_GRAPH_ENDPOINT.'));
    return report(checks);
  }
  let http: HttpClient;
  try {
    http = createHttpClient(env, { debug: input.debug });
  } catch (error) {
    add(fail('login-host', 'proxy-unreachable', (error as Error).message, (error as DirsyncError).hint ?? 'Fix HTTPS_PROXY.'));
    return report(checks);
  }

  // 2–3. The sign-in and Graph hosts, at the same time (an unreachable network costs one timeout).
  const [loginProbe, graphProbe] = await Promise.all([probeHost(http, endpoints.login, t, input.signal), probeHost(http, endpoints.graph, t, input.signal)]);
  const hostCheck = async (id: string, role: HostRole, origin: string, probe: HostProbe) => {
    if (probe.ok) return add(pass(id, `${new URL(origin).host} answers over HTTPS (HTTP ${probe.status}).`));
    const d = await diagnoseNetwork(probe.error, new URL(origin), role, env, t);
    return add(fail(id, d.cause, d.summary, d.fix));
  };
  const [loginHost, graphHost] = await Promise.all([
    hostCheck('login-host', 'login', endpoints.login, loginProbe),
    hostCheck('graph-host', 'graph', endpoints.graph, graphProbe),
  ]);
  // Keep the order of the checks stable whichever finished first.
  checks.splice(checks.indexOf(loginHost), 1);
  checks.splice(checks.indexOf(graphHost), 1);
  checks.push(loginHost, graphHost);
  const loginOk = loginHost.status === 'pass';
  const loginHostName = new URL(endpoints.login).host;

  // 4. The clock, against the sign-in host's Date header.
  if (!loginOk) add(skip('clock', `Skipped: ${loginHostName} cannot be reached.`));
  else add(clockCheck(loginProbe.date, input.now(), loginHostName));

  // 5. The tenant, through discovery.
  let tenantOk = false;
  if (!loginOk) add(skip('tenant', `Skipped: ${loginHostName} cannot be reached.`));
  else {
    const c = add(await tenantCheck(input, tenant, http, endpoints.login));
    tenantOk = c.status === 'pass';
  }
  const blocked = !loginOk ? `${loginHostName} cannot be reached` : !tenantOk ? 'the tenant check failed' : undefined;

  // 6. The app registration, as the sign-in page sees it (no one signs in).
  if (!tenant.clientId) add(skip('app-registration', 'Skipped: no client ID is configured (sign-in is optional; Graph commands need it or AZURE_* credentials).'));
  else if (blocked) add(skip('app-registration', `Skipped: ${blocked}.`));
  else add(await appRegistrationCheck(input, tenant, http, endpoints.login));

  // 7. The last failed consent or sign-in that consent/configure recorded.
  add(lastFailureCheck(input));

  // 8. App-only credentials (CI).
  let cred: AppCredential | undefined;
  let credError: unknown;
  try {
    cred = appCredentialFromEnv(env);
  } catch (error) {
    credError = error;
  }
  let graphToken: (() => Promise<string>) | undefined;
  if (credError) {
    add(fail('app-credential', 'unclassified', (credError as Error).message, (credError as DirsyncError).hint ?? 'Fix the AZURE_* variables.'));
  } else if (!cred) {
    add(skip('app-credential', 'No AZURE_* app-only credential is set (CI only).'));
  } else if (blocked) {
    add(skip('app-credential', `Skipped: ${blocked}.`));
  } else {
    const r = await appCredentialCheck(input, tenant, cred, http, endpoints.login);
    add(r.check);
    graphToken = r.token;
  }

  // 9. The cached sign-in of the administrator.
  if (cred || credError) add(skip('signin', 'AZURE_* app-only credentials are set: Graph commands do not use the cached sign-in.'));
  else if (!tenant.clientId) add(skip('signin', 'No client ID is configured, so there is no sign-in to check.'));
  else if (blocked) add(skip('signin', `Skipped: ${blocked}.`));
  else {
    const r = await signInCheck(input, tenant, http, endpoints.login);
    add(r.check);
    graphToken = r.token;
  }

  // 10. Microsoft Graph with that credential.
  const graphOk = graphHost.status === 'pass';
  let graph: import('../entra/graph.js').GraphClient | undefined;
  if (!graphOk) add(skip('graph', `Skipped: ${new URL(endpoints.graph).host} cannot be reached.`));
  else if (!graphToken) add(skip('graph', 'Skipped: no working Graph credential (see the checks above).'));
  else {
    const { GraphClient } = await import('../entra/graph.js');
    graph = new GraphClient({ baseUrl: endpoints.graph, http, getToken: graphToken, signal: input.signal, debug: input.debug, maxRetries: 1, maxRetryAfterSeconds: 2 });
    const c = add(await graphCheck(input, graph, endpoints.graph));
    if (c.status === 'fail' && c.cause !== 'permission-missing') graph = undefined;
  }

  // 11. Entra's provisioning job, when linked.
  const link = profile.provisioningJob;
  if (!link) add(skip('provisioning-job', `Not linked to Entra's provisioning job (\`${dirsync('provisioning link')}\` enables this check and zero-touch rotation).`));
  else if (!graph) add(skip('provisioning-job', `Skipped: Microsoft Graph cannot be used (see the checks above).`));
  else add(await jobCheck(input, graph, link, endpoints.graph));

  // 12. The Secret Code in the directory.
  if (!profile.provisioning) add(skip('secret-code', `Skipped: \`${dirsync('configure')}\` has not set up the directory.`));
  else add(await secretCodeCheck(input, Boolean(link)));

  return report(checks);
}

function report(checks: CheckResult[]): DoctorReport {
  return { ok: !checks.some((c) => c.status === 'fail'), checks };
}

// --- the checks --------------------------------------------------------------------------------

export function clockCheck(date: string | undefined, now: Date, host: string): CheckResult {
  const server = date ? Date.parse(date) : NaN;
  if (Number.isNaN(server)) return skip('clock', `${host} sent no Date header to compare the clock with.`);
  const skew = now.getTime() - server;
  const abs = Math.abs(skew);
  const words = abs >= 60_000 ? `about ${describeDuration(Math.round(abs / 60_000) * 60_000)}` : describeDuration(Math.max(1000, Math.round(abs / 1000) * 1000));
  if (Math.abs(skew) > CLOCK_SKEW_LIMIT_MS) {
    return fail(
      'clock',
      'clock-skew',
      `This machine's clock is ${words} ${skew > 0 ? 'ahead of' : 'behind'} ${host} (its time: ${new Date(server).toISOString()}); Entra refuses tokens and assertions beyond 5 minutes.`,
      'Synchronise the clock with NTP (Linux: `timedatectl set-ntp true`; Windows: `w32tm /resync`; containers take the host\'s clock).',
    );
  }
  return pass('clock', `The clock is within ${words} of ${host}.`);
}

async function tenantCheck(input: DoctorInput, tenant: TenantConfig, http: HttpClient, login: string): Promise<CheckResult> {
  const { discoverTenant } = await import('../entra/discovery.js');
  try {
    const found = await bounded(
      input.timeoutMs,
      (signal) => discoverTenant(tenant.tenantId, tenant.cloud, input.env, { http, signal, debug: input.debug, rerun: `dirsync configure${input.profileFlag}` }),
      input.signal,
    );
    return pass('tenant', `Tenant ${found.tenantId} exists in ${CLOUDS[found.cloud].label}${found.regionSubScope ? ` (${found.regionSubScope})` : ''}.`);
  } catch (error) {
    if (error instanceof UsageError && error.details?.tenantCloud) {
      return fail('tenant', 'wrong-cloud', error.message, error.hint ?? `Run \`dirsync configure${input.profileFlag}\` with the right cloud.`);
    }
    if (error instanceof UsageError && (error.details?.aadsts === 90002 || /was not found/.test(error.message))) {
      return fail(
        'tenant',
        'tenant-not-found',
        error.message,
        `${error.hint ?? ''} Then run \`dirsync configure --tenant-id <GUID>${input.profileFlag}\`.`.trim(),
      );
    }
    return fromError('tenant', error, input, new URL(login), 'login');
  }
}

/**
 * One GET of the authorize page with dirsync's client ID and redirect URI, as the browser would
 * open it, without following it: Entra answers a wrong client ID (AADSTS700016) or an unregistered
 * redirect URI (AADSTS50011) before anyone signs in. Nothing is signed in and nothing is redeemed.
 */
async function appRegistrationCheck(input: DoctorInput, tenant: TenantConfig, http: HttpClient, login: string): Promise<CheckResult> {
  const u = new URL(`${login}/${tenant.tenantId}/oauth2/v2.0/authorize`);
  u.searchParams.set('client_id', tenant.clientId!);
  u.searchParams.set('response_type', 'code');
  u.searchParams.set('redirect_uri', 'http://localhost');
  u.searchParams.set('scope', `${graphDefaultScope(tenant.cloud)} openid profile offline_access`);
  u.searchParams.set('response_mode', 'form_post');
  u.searchParams.set('code_challenge', createHash('sha256').update(randomBytes(32)).digest('base64url'));
  u.searchParams.set('code_challenge_method', 'S256');
  u.searchParams.set('state', randomBytes(16).toString('base64url'));
  let text: string;
  let location: string | undefined;
  try {
    const res = await bounded(input.timeoutMs, (signal) => http(u.href, { timeoutMs: input.timeoutMs, signal, headers: { Accept: 'text/html' } }), input.signal);
    text = res.text;
    location = res.headers.location;
  } catch (error) {
    return fromError('app-registration', error, input, new URL(login), 'login');
  }
  let answer = text;
  if (location) {
    try {
      const l = new URL(location, login);
      answer = `${l.searchParams.get('error_description') ?? ''} ${new URLSearchParams(l.hash.slice(1)).get('error_description') ?? ''}`;
    } catch {
      answer = '';
    }
  }
  const code = Number(/AADSTS(\d+)/.exec(answer)?.[1] ?? NaN);
  if (Number.isFinite(code) && PREFLIGHT_CODES.has(code)) {
    const entry = AADSTS[code];
    return fail(
      'app-registration',
      causeOf(code),
      `The sign-in page refuses dirsync's app registration ${tenant.clientId} with AADSTS${code}: ${entry?.what ?? 'see `dirsync explain`'}`,
      `Review ${entry?.review ?? 'the app registration'}. (\`dirsync explain AADSTS${code}\` has the details.)`,
    );
  }
  return pass('app-registration', `The sign-in page accepts client ID ${tenant.clientId} with the redirect URI http://localhost.`);
}

function lastFailureCheck(input: DoctorInput): CheckResult {
  const f = input.profile.lastFailure;
  if (!f) return pass('last-failure', 'No failed consent or sign-in is recorded since the last success.');
  const n = f.code ? Number(/^AADSTS(\d+)$/.exec(f.code)?.[1] ?? NaN) : NaN;
  const entry = Number.isFinite(n) ? AADSTS[n] : undefined;
  const at = new Date(f.at);
  const when = Number.isNaN(at.getTime()) ? f.at : `${formatDay(at)} ${at.toISOString().slice(11, 16)} UTC (${relativeDays(at, input.now())})`;
  const ids = [f.traceId && `trace ID ${f.traceId}`, f.correlationId && `correlation ID ${f.correlationId}`].filter(Boolean).join(', ');
  return fail(
    'last-failure',
    causeOf(Number.isFinite(n) ? n : undefined),
    `The last ${f.flow === 'device-code' ? 'device-code ' : ''}consent/sign-in failed on ${when}${f.code ? ` with ${f.code}` : ''}: ${f.code ? f.message.replace(` (${f.code}).`, '.') : f.message}${ids ? ` (${ids})` : ''}`,
    `${entry ? `Review ${entry.review}` : 'Fix what the message names'}, then run \`dirsync consent${input.profileFlag}\` again.` +
      `${f.code?.startsWith('AADSTS') ? ` \`dirsync explain ${f.code}\` has the details.` : ''}`,
  );
}

async function appCredentialCheck(
  input: DoctorInput,
  tenant: TenantConfig,
  cred: AppCredential,
  http: HttpClient,
  login: string,
): Promise<{ check: CheckResult; token?: () => Promise<string> }> {
  const { appOnlyTokenSource } = await import('../entra/signin.js');
  const make = (signal?: AbortSignal) =>
    appOnlyTokenSource(cred, { tenantId: tenant.tenantId, cloud: tenant.cloud, env: input.env, signal, debug: input.debug, http });
  try {
    await bounded(input.timeoutMs, (signal) => make(signal).getToken(), input.signal);
  } catch (error) {
    return { check: await fromError('app-credential', error, input, new URL(login), 'login') };
  }
  const source = make(input.signal);
  return {
    check: pass('app-credential', `App-only token issued for AZURE_CLIENT_ID ${cred.clientId} with ${cred.variable}.`),
    token: () => source.getToken(),
  };
}

async function signInCheck(input: DoctorInput, tenant: TenantConfig, http: HttpClient, login: string): Promise<{ check: CheckResult; token?: () => Promise<string> }> {
  const { refreshCachedSignIn, cachedSignInTokenSource } = await import('../entra/signin.js');
  const settings = (signal?: AbortSignal) => ({
    tenantId: tenant.tenantId,
    cloud: tenant.cloud as CloudName,
    clientId: tenant.clientId!,
    env: input.env,
    cachePath: input.signInCache,
    signal,
    debug: input.debug,
    http,
  });
  try {
    const { account } = await bounded(input.timeoutMs, (signal) => refreshCachedSignIn(settings(signal)), input.signal);
    const source = cachedSignInTokenSource(settings(input.signal));
    return { check: pass('signin', `The saved sign-in of ${account} refreshes silently.`), token: () => source.getToken() };
  } catch (error) {
    if (error instanceof AuthError && error.details?.signIn === 'missing') {
      // Graph is optional (the portal flow needs none) — unless a provisioning job is linked.
      const linked = Boolean(input.profile.provisioningJob);
      return {
        check: (linked ? fail : warn)(
          'signin',
          'signin-missing',
          `No sign-in is saved for tenant ${tenant.tenantId}: Graph commands (provisioning${linked ? ' of the linked job' : ''}, token renew --push, groups --source entra) cannot run.`,
          `Run \`dirsync consent${input.profileFlag}\` (or use AZURE_* app-only credentials in CI).`,
        ),
      };
    }
    if (error instanceof AuthError && error.details?.signIn === 'expired') {
      return { check: fail('signin', 'signin-expired', error.message, `Run \`dirsync consent${input.profileFlag}\` to sign in again.`) };
    }
    return { check: await fromError('signin', error, input, new URL(login), 'login') };
  }
}

async function graphCheck(input: DoctorInput, graph: import('../entra/graph.js').GraphClient, origin: string): Promise<CheckResult> {
  try {
    await bounded(input.timeoutMs, () => graph.get('/groups?$select=id&$top=1', { permission: 'Group.Read.All' }), input.signal);
    return pass('graph', 'Microsoft Graph answers with this credential (groups can be read).');
  } catch (error) {
    return fromError('graph', error, input, new URL(origin), 'graph');
  }
}

async function jobCheck(input: DoctorInput, graph: import('../entra/graph.js').GraphClient, link: NonNullable<ProfileConfig['provisioningJob']>, origin: string): Promise<CheckResult> {
  const [{ getJob }, { summarizeJob, jobUnhealthy }] = await Promise.all([import('../provisioning/synchronization.js'), import('../provisioning/status.js')]);
  let job;
  try {
    job = summarizeJob(await bounded(input.timeoutMs, () => getJob(graph, link.servicePrincipalId, link.jobId), input.signal), `dirsync token renew${input.profileFlag}`);
  } catch (error) {
    return fromError('provisioning-job', error, input, new URL(origin), 'graph');
  }
  if (job.quarantine) {
    const q = job.quarantine;
    const since = q.since ? ` since ${formatDay(new Date(q.since))} (${relativeDays(new Date(q.since), input.now())})` : '';
    return fail(
      'provisioning-job',
      'job-quarantined',
      `Entra's provisioning job of "${link.displayName}" is quarantined: ${q.reason}${q.error?.code ? ` (${q.error.code})` : ''}${since}. No changes reach this directory.`,
      q.fix,
    );
  }
  if (jobUnhealthy(job)) {
    return fail(
      'provisioning-job',
      'job-quarantined',
      `Entra's provisioning job of "${link.displayName}" is disabled (Entra disables a job after four weeks in quarantine).`,
      `Fix the cause, then run \`dirsync provisioning restart --full${input.profileFlag}\`.`,
    );
  }
  return pass('provisioning-job', `Entra's provisioning job of "${link.displayName}" is ${job.state}.`);
}

async function secretCodeCheck(input: DoctorInput, linked: boolean): Promise<CheckResult> {
  const renew = `dirsync token renew${linked ? ' --push' : ''}${input.profileFlag}`;
  const then = linked ? '' : ' and paste it into Entra (Provisioning → Admin Credentials → Secret Token)';
  let record: SecretCodeRecord | undefined;
  try {
    record = await input.readSecretCode();
  } catch (error) {
    return fail('secret-code', 'unclassified', `The directory cannot be read: ${(error as Error).message.split('\n')[0]}`, (error as DirsyncError).hint ?? 'Run again with --debug.');
  }
  const now = input.now();
  const s = secretCodeStatus(record, now, DEFAULT_WARN_MS);
  if (s.state === 'none') {
    return fail(
      'secret-code',
      'secret-code-missing',
      s.reason === 'revoked' ? 'The Secret Code was revoked: Entra gets 401 from the Tenant URL and quarantines provisioning.' : 'No Secret Code has been issued: Entra cannot authenticate to the Tenant URL.',
      `Run \`${renew}\`${then}.`,
    );
  }
  if (s.state === 'expired') {
    return fail(
      'secret-code',
      'secret-code-expired',
      `The Secret Code ${s.fingerprint} expired on ${s.expiresOn} (${relativeDays(new Date(s.expiresAt!), now)}): Entra gets 401 and quarantines provisioning.`,
      `Run \`${renew}\`${then}.`,
    );
  }
  if (s.state === 'expiring') {
    return warn(
      'secret-code',
      'secret-code-expiring',
      `The Secret Code ${s.fingerprint} expires on ${s.expiresOn} (${relativeDays(new Date(s.expiresAt!), now)}).`,
      `Run \`${renew}\`${then} before then (or schedule \`dirsync token renew --push --if-expiring-within 30d\`).`,
    );
  }
  return pass('secret-code', `The Secret Code ${s.fingerprint} is valid until ${s.expiresOn} (${relativeDays(new Date(s.expiresAt!), now)}).`);
}

/** Any failure of a probe as one check: sign-in codes by the catalogue, Graph 403s, the network. */
async function fromError(id: string, error: unknown, input: DoctorInput, target: URL, role: HostRole): Promise<CheckResult> {
  const d = await diagnose(error, input, target, role);
  return fail(id, d.cause, d.summary, d.fix);
}

async function diagnose(error: unknown, input: DoctorInput, target: URL, role: HostRole): Promise<Diagnosis> {
  const first = (error as Error)?.message?.split('\n')[0] ?? String(error);
  if (error instanceof AuthError && typeof error.details?.permission === 'string') {
    return {
      cause: 'permission-missing',
      summary: `${first} (${error.details.status === 403 ? 'HTTP 403' : 'denied'})`,
      fix: error.hint ?? `Grant ${error.details.permission} to the app registration, then run \`dirsync consent${input.profileFlag}\`.`,
    };
  }
  if (error instanceof DirsyncError && typeof error.details?.aadsts === 'number') {
    const code = error.details.aadsts;
    return {
      cause: causeOf(code),
      summary: first,
      fix: `${error.hint ?? `Review ${AADSTS[code]?.review ?? 'the sign-in settings'}.`} (\`dirsync explain AADSTS${code}\`)`,
    };
  }
  const answered = error instanceof DirsyncError && typeof error.details?.status === 'number';
  if (!answered && (rootCode(error) || (error instanceof OperationError && error.details?.msal))) {
    return diagnoseNetwork(error, target, role, input.env, input.timeoutMs);
  }
  return {
    cause: 'unclassified',
    summary: first,
    fix: (error as DirsyncError)?.hint ?? 'Run the failing command with --debug and send the output with the support bundle (`dirsync doctor --bundle FILE`).',
  };
}
