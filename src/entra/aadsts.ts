import { AuthError, UsageError, type DirsyncError } from '../errors.js';


/**
 * The AADSTS catalogue: the Entra error codes an admin meets while connecting dirsync, each mapped to
 * the setting to review, in plain words. Support engineers read these; keep them concrete.
 */
export interface AadstsEntry {
  /** What happened, in one sentence. */
  what: string;
  /** The setting to review (shown after "Review:"). */
  review: string;
  /** For app-only (CI) credentials: the environment variable that is wrong. */
  variable?: string;
  /** Usage errors (exit 2) rather than sign-in failures (exit 4). */
  usage?: boolean;
  /** Why this happens to dirsync users, most likely first (`dirsync explain`); default: `what`. */
  causes?: string[];
  /** The `dirsync doctor` cause this code is (README "When something fails"). */
  cause?: DoctorCause;
}

/**
 * The stable identifiers `dirsync doctor --json` names causes with (README "When something
 * fails"). Scripts and support runbooks depend on them: add, never rename.
 */
export type DoctorCause =
  | 'not-configured'
  | 'tenant-not-found'
  | 'wrong-cloud'
  | 'login-unreachable'
  | 'graph-unreachable'
  | 'proxy-unreachable'
  | 'tls-untrusted'
  | 'clock-skew'
  | 'consent-declined'
  | 'admin-lacks-role'
  | 'redirect-uri-mismatch'
  | 'app-not-found'
  | 'conditional-access'
  | 'client-secret-expired'
  | 'signin-expired'
  | 'signin-missing'
  | 'secret-code-missing'
  | 'secret-code-expired'
  | 'secret-code-expiring'
  | 'job-quarantined'
  | 'permission-missing'
  | 'unclassified';

/** Microsoft's own page for one AADSTS code (the error lookup the sign-in error reference points to). */
export const aadstsDocs = (code: number) => `https://login.microsoftonline.com/error?code=${code}`;
export const AADSTS_REFERENCE = 'https://learn.microsoft.com/entra/identity-platform/reference-error-codes';

const APP_REG = 'Microsoft Entra admin center → App registrations → your dirsync app';

export const AADSTS: Record<number, AadstsEntry> = {
  90002: {
    what: 'The tenant was not found.',
    review: 'the Tenant ID (Identity → Overview → Tenant ID), and whether the tenant is in GCC High (--gcc-high) or the global cloud',
    variable: 'AZURE_TENANT_ID',
    usage: true,
    cause: 'tenant-not-found', causes: ['The Tenant ID has a typo, or was copied from another tenant.', 'The tenant is in GCC High but dirsync asked the global cloud (or the reverse).', 'The tenant was deleted.'],
  },
  900439: {
    what: 'This US Government tenant cannot sign in through the global (commercial) cloud endpoint.',
    review: 'the cloud: the tenant is in GCC High — run `dirsync configure --gcc-high`',
    cause: 'wrong-cloud', causes: ['The profile is configured for the global cloud, but the tenant is a GCC High (US Government) tenant.'],
  },
  900440: {
    what: 'This tenant lives in the global cloud, but the sign-in went to the US Government (GCC High) endpoint.',
    review: 'the cloud: GCC (moderate) and commercial tenants are global — run `dirsync configure --cloud global` (without --gcc-high)',
    cause: 'wrong-cloud', causes: ['The profile was configured with --gcc-high, but the tenant is commercial or GCC (moderate), which live in the global cloud.'],
  },
  65004: {
    what: 'Consent was declined on the consent page.',
    review: 'the permissions the app asks for; run `dirsync consent` again and choose Accept (tick "Consent on behalf of your organization")',
    cause: 'consent-declined', causes: ['The administrator clicked Cancel on the consent page.', 'The box "Consent on behalf of your organization" was not ticked and consent was then refused.'],
  },
  65001: {
    what: 'The app has not been granted consent in this tenant.',
    review: 'consent: an administrator must run `dirsync consent` (or grant admin consent under Enterprise applications → Permissions)',
    cause: 'consent-declined', causes: ['Nobody has granted tenant-wide consent to the dirsync app yet.', 'Consent was revoked under Enterprise applications → Permissions.', 'A permission was added to the app registration after consent was granted.'],
  },
  90094: {
    what: 'The signed-in account may not grant consent for the whole organisation.',
    review:
      'the admin role: sign in as a Global Administrator, Privileged Role Administrator or Cloud Application Administrator (Identity → Roles & admins)',
    cause: 'admin-lacks-role', causes: ['The account that signed in is not a Global Administrator, Privileged Role Administrator or Cloud Application Administrator.', 'The admin role is eligible in PIM but not activated.'],
  },
  90095: {
    what: 'An administrator must approve this app first (admin consent workflow).',
    review: 'the admin role: ask a Global Administrator to run `dirsync consent`, or approve the request under Enterprise applications → Admin consent requests',
    cause: 'admin-lacks-role', causes: ['The admin consent workflow is on and the account that signed in may only request consent.'],
  },
  700016: {
    what: 'The app (client ID) was not found in this tenant.',
    review: `the client ID and the app registration: check the Application (client) ID (${APP_REG} → Overview), that it is multi-tenant if it is registered in another tenant, and that it exists in the same cloud`,
    variable: 'AZURE_CLIENT_ID',
    cause: 'app-not-found', causes: ['The client ID has a typo or belongs to another app registration.', 'The app registration is single-tenant and lives in another tenant.', 'The app registration was deleted, or lives in the other cloud (global vs GCC High).'],
  },
  7000112: {
    what: 'The app is disabled in this tenant.',
    review: 'Enterprise applications → your dirsync app → Properties → "Enabled for users to sign-in?"',
    cause: 'app-not-found',
  },
  50011: {
    what: 'The redirect URI sent by dirsync is not registered on the app.',
    review: `the redirect URI: ${APP_REG} → Authentication → add a "Mobile and desktop applications" platform with redirect URI http://localhost`,
    cause: 'redirect-uri-mismatch', causes: ['The app registration has no "Mobile and desktop applications" platform with http://localhost.', 'Only a Web or SPA redirect URI is registered (dirsync signs in as a public client on a loopback port).'],
  },
  500113: {
    what: 'The app has no redirect URI registered.',
    review: `the redirect URI: ${APP_REG} → Authentication → add a "Mobile and desktop applications" platform with redirect URI http://localhost`,
    cause: 'redirect-uri-mismatch',
  },
  53003: {
    what: 'A Conditional Access policy blocked the sign-in.',
    review: 'conditional access: Protection → Conditional Access → Sign-in logs show which policy; allow this app or sign in from a compliant device/location',
    cause: 'conditional-access', causes: ['A Conditional Access policy blocks this app, this location, or this device.', 'The policy requires a compliant or hybrid-joined device the admin is not using.'],
  },
  53000: {
    what: 'Conditional Access requires a compliant or managed device.',
    review: 'conditional access: sign in from a compliant device, or exclude this app in the policy',
    cause: 'conditional-access',
  },
  50076: {
    what: 'Multi-factor authentication is required.',
    review: 'the sign-in: complete MFA in the browser (device code and browser flows support it)',
  },
  50079: {
    what: 'The account must register for multi-factor authentication first.',
    review: 'the account: register MFA at https://aka.ms/mfasetup, then run `dirsync consent` again',
  },
  50105: {
    what: 'The signed-in account is not assigned to the app.',
    review: 'Enterprise applications → your dirsync app → Users and groups (or set "Assignment required?" to No)',
  },
  50020: {
    what: 'The account belongs to another tenant and is not a guest of this one.',
    review: 'the account: sign in with an administrator of the configured tenant',
  },
  50126: { what: 'Wrong user name or password.', review: 'the account credentials used in the browser' },
  50034: { what: 'The account does not exist in this tenant.', review: 'the account: sign in with an administrator of the configured tenant' },
  50053: { what: 'The account is locked.', review: 'the account: wait, or ask another administrator to unlock it' },
  50057: { what: 'The account is disabled.', review: 'the account: use an enabled administrator account' },
  700054: { what: 'The app does not allow this response type.', review: `${APP_REG} → Authentication` },
  7000218: {
    what: 'The app requires a client secret or certificate for this flow.',
    review: `${APP_REG} → Authentication → Advanced settings → "Allow public client flows" = Yes (needed for browser and device-code sign-in)`,
  },
  7000215: {
    what: 'The client secret is wrong.',
    review: `AZURE_CLIENT_SECRET: use the secret's Value (not its Secret ID) from ${APP_REG} → Certificates & secrets`,
    variable: 'AZURE_CLIENT_SECRET',
    causes: ['AZURE_CLIENT_SECRET holds the Secret ID instead of the secret Value.', 'The secret was rotated and the CI secret not updated.'],
  },
  7000222: {
    what: 'The client secret has expired.',
    review: `AZURE_CLIENT_SECRET: create a new client secret in ${APP_REG} → Certificates & secrets and update the CI secret`,
    variable: 'AZURE_CLIENT_SECRET',
    cause: 'client-secret-expired', causes: ['The client secret in AZURE_CLIENT_SECRET passed its expiry date (at most 24 months after it was created).'],
  },
  700027: {
    what: 'The client certificate assertion was rejected (signature or certificate not registered).',
    review: `AZURE_CLIENT_CERTIFICATE_PATH: the PEM must hold the private key of a certificate uploaded to ${APP_REG} → Certificates & secrets`,
    variable: 'AZURE_CLIENT_CERTIFICATE_PATH',
  },
  700024: {
    what: 'The client assertion is outside its validity window.',
    review: 'the clock of this machine, or the federated token in AZURE_FEDERATED_TOKEN_FILE (it may have expired)',
    variable: 'AZURE_FEDERATED_TOKEN_FILE',
  },
  70021: {
    what: 'No federated identity credential matches the presented token.',
    review: `AZURE_FEDERATED_TOKEN_FILE and ${APP_REG} → Certificates & secrets → Federated credentials (issuer, subject, audience)`,
    variable: 'AZURE_FEDERATED_TOKEN_FILE',
  },
  700211: {
    what: 'No federated identity credential has the token\'s issuer.',
    review: `${APP_REG} → Federated credentials: the issuer must match the token in AZURE_FEDERATED_TOKEN_FILE`,
    variable: 'AZURE_FEDERATED_TOKEN_FILE',
  },
  700213: {
    what: 'No federated identity credential has the token\'s subject.',
    review: `${APP_REG} → Federated credentials: the subject (e.g. repo:org/repo:environment:prod) must match the token in AZURE_FEDERATED_TOKEN_FILE`,
    variable: 'AZURE_FEDERATED_TOKEN_FILE',
  },
  700082: { what: 'The saved sign-in has expired.', review: 'the sign-in: run `dirsync consent` again', cause: 'signin-expired', causes: ['The saved sign-in was not used for 90 days.', 'A sign-in frequency policy requires signing in again.'] },
  50173: { what: 'The saved sign-in was revoked (password change or admin action).', review: 'the sign-in: run `dirsync consent` again', cause: 'signin-expired', causes: ['The administrator changed their password, or an administrator revoked their sessions.'] },
  70008: { what: 'The authorization code expired before it was redeemed.', review: 'the sign-in: run `dirsync consent` again and finish it promptly' },
  54005: { what: 'The authorization code was already redeemed.', review: 'the sign-in: run `dirsync consent` again' },
  501481: { what: 'The PKCE code verifier did not match.', review: 'the network path: something between dirsync and Entra altered the request; try again' },
  70019: { what: 'The device code expired before sign-in completed.', review: 'the device-code sign-in: run `dirsync consent --device-code` again and enter the code within 15 minutes', causes: ['Nobody entered the device code within 15 minutes.'] },
  650057: {
    what: 'The app asks for a permission that is not configured on it.',
    review: `${APP_REG} → API permissions: add Microsoft Graph User.Read.All and Group.Read.All`,
  },
  650056: {
    what: 'The app is misconfigured: it lists no permissions, or consent is missing.',
    review: `${APP_REG} → API permissions: add Microsoft Graph User.Read.All and Group.Read.All, then run \`dirsync consent\``,
  },
  50194: {
    what: 'The app is not configured as multi-tenant.',
    review: `${APP_REG} → Authentication → Supported account types (or register the app in this tenant and pass its client ID)`,
    variable: 'AZURE_CLIENT_ID',
  },
  // The rest of what the sign-in error reference lists for admin consent, app-only credentials,
  // device code and clouds — and every code the fake Entra of test/support answers with.
  65005: {
    what: 'The app registration is misconfigured: it asks for access to a resource it does not list, or Graph rejected it.',
    review: `${APP_REG} → API permissions: Microsoft Graph User.Read.All and Group.Read.All, then run \`dirsync consent\``,
  },
  90093: {
    what: 'Microsoft Graph refused the consent request for the signed-in account.',
    review: 'the admin role: sign in as a Global Administrator, Privileged Role Administrator or Cloud Application Administrator',
    cause: 'admin-lacks-role',
  },
  90038: {
    what: 'The tenant belongs to another national cloud than the sign-in endpoint that was asked.',
    review: 'the cloud: GCC High tenants need `dirsync configure --gcc-high`; commercial and GCC tenants need `--cloud global`',
    cause: 'wrong-cloud',
  },
  50059: {
    what: 'No tenant could be found in the request.',
    review: 'the Tenant ID in `dirsync configure` (or AZURE_TENANT_ID)',
    variable: 'AZURE_TENANT_ID',
  },
  70001: {
    what: 'The application is disabled.',
    review: 'Enterprise applications → your dirsync app → Properties → "Enabled for users to sign-in?"',
    cause: 'app-not-found',
  },
  70002: {
    what: 'The client credential could not be validated.',
    review: `AZURE_CLIENT_SECRET: use the secret's Value from ${APP_REG} → Certificates & secrets`,
    variable: 'AZURE_CLIENT_SECRET',
  },
  700025: {
    what: 'The app registration is a public client, so it cannot use a client secret or certificate.',
    review: `CI needs a confidential app: use a separate app registration for AZURE_CLIENT_ID, or turn off "Allow public client flows" on the one CI uses (${APP_REG} → Authentication)`,
    variable: 'AZURE_CLIENT_ID',
  },
  700023: {
    what: 'The client assertion is addressed to another audience than this tenant\'s sign-in service.',
    review: 'AZURE_TENANT_ID and the cloud: the assertion must be for the token endpoint of the configured tenant',
    variable: 'AZURE_FEDERATED_TOKEN_FILE',
  },
  50027: {
    what: 'The presented token is not a valid JWT (malformed, expired, wrong issuer or audience).',
    review: 'AZURE_FEDERATED_TOKEN_FILE: it must hold the current OIDC token of the CI job (e.g. GitHub Actions `id-token: write`)',
    variable: 'AZURE_FEDERATED_TOKEN_FILE',
  },
  1002012: {
    what: 'The requested scope is not valid for this flow (client credentials need <resource>/.default).',
    review: 'the Graph endpoint and cloud: DIRSYNC_GRAPH_ENDPOINT and --cloud must belong together',
  },
  500011: {
    what: 'The resource (Microsoft Graph of this cloud) was not found in the tenant.',
    review: 'the cloud: the tenant may be in another cloud (--gcc-high, --cloud global)',
  },
  70016: {
    what: 'The device-code sign-in is still waiting for someone to enter the code (normal while dirsync polls).',
    review: 'the device-code sign-in: open the URL on another device and enter the code',
    causes: ['Nobody has entered the device code yet.'],
  },
  70018: {
    what: 'The code typed on the device login page was wrong.',
    review: 'the device-code sign-in: run `dirsync consent --device-code` again and type the code exactly as shown',
  },
  70020: {
    what: 'The device code expired or is not valid any more.',
    review: 'the device-code sign-in: run `dirsync consent --device-code` again and enter the code within 15 minutes',
    causes: ['Nobody entered the device code within 15 minutes.', 'The sign-in on the other device was declined.'],
  },
  70000: {
    what: 'The authorization code or refresh token was rejected (issued to another client, tenant or cloud).',
    review: 'the sign-in: run `dirsync consent` again; check that the client ID and cloud did not change since the last sign-in',
  },
  700005: {
    what: 'The code or refresh token was issued for another tenant or client.',
    review: 'the sign-in: run `dirsync consent` again after changing the tenant or client ID',
  },
  9002313: {
    what: 'The request was malformed: the code or refresh token is not valid.',
    review: 'the sign-in: run `dirsync consent` again',
  },
  500112: {
    what: 'The redirect URI used to redeem the code is not the one the code was issued for.',
    review: 'the network path: something between dirsync and Entra altered the request; run `dirsync consent` again',
  },
  50148: {
    what: 'The PKCE code verifier was missing or did not match.',
    review: 'the network path: something between dirsync and Entra altered the request; try again',
  },
  501491: { what: 'The PKCE code challenge was not valid.', review: 'dirsync sends S256 challenges; report this with --debug output' },
  9002325: { what: 'Entra requires PKCE for this sign-in.', review: 'dirsync always sends PKCE; a proxy may strip parameters — try again without it' },
  900144: { what: 'A required parameter was missing from the request.', review: 'the network path or DIRSYNC_LOGIN_ENDPOINT; run again with --debug' },
  900511: { what: 'A request parameter (response_mode) was not valid.', review: 'the network path or DIRSYNC_LOGIN_ENDPOINT; run again with --debug' },
  70003: { what: 'The sign-in service does not support this grant type for the app.', review: `${APP_REG} → Authentication → "Allow public client flows" = Yes` },
};

/** What the OAuth `error` alone says, when no AADSTS code came back. */
const OAUTH_ERRORS: Record<string, string> = {
  access_denied: 'The request was denied in the browser.',
  consent_required: 'Consent is required.',
  interaction_required: 'An interactive sign-in is required.',
  invalid_client: 'The client credential was rejected.',
  unauthorized_client: 'The app is not allowed to do this in the tenant.',
  invalid_grant: 'The grant (code, refresh token or assertion) was rejected.',
  invalid_tenant: 'The tenant was not found.',
  invalid_request: 'Entra rejected the request.',
  temporarily_unavailable: 'Microsoft Entra is temporarily unavailable.',
  server_error: 'Microsoft Entra had an internal error.',
  authorization_declined: 'The sign-in was declined.',
  expired_token: 'The device code expired.',
};

export interface OAuthFailure {
  /** The OAuth `error` (access_denied, invalid_client, …). */
  error?: string;
  /** `error_description`; usually starts with "AADSTS<code>:". */
  description?: string;
  /** `error_codes` from a token response. */
  codes?: number[];
  subError?: string;
  correlationId?: string;
  traceId?: string;
  timestamp?: string;
}

/** The AADSTS code in a failure, from `error_codes` or the description. */
export function aadstsCode(f: OAuthFailure): number | undefined {
  if (f.codes?.length) return f.codes[0];
  const m = /AADSTS(\d+)/.exec(f.description ?? '');
  return m ? Number(m[1]) : undefined;
}

/** Trace ID, correlation ID and timestamp, from the fields or Entra's description text. */
export function supportIds(f: OAuthFailure): { traceId?: string; correlationId?: string; timestamp?: string } {
  const d = f.description ?? '';
  const grab = (re: RegExp) => re.exec(d)?.[1];
  return {
    traceId: f.traceId || grab(/Trace ID:\s*([0-9a-f-]{36})/i),
    correlationId: f.correlationId || grab(/Correlation ID:\s*([0-9a-f-]{36})/i),
    timestamp: f.timestamp || grab(/Timestamp:\s*(\d{4}-\d{2}-\d{2}[T ][\d:.]+Z?)/i),
  };
}

export interface DescribedFailure {
  code?: number;
  /** One line: what happened. */
  what: string;
  /** "Review: …" — the setting to check. */
  review: string;
  /** "Trace ID … · Correlation ID … · Timestamp …", or empty. */
  support: string;
  entry?: AadstsEntry;
  error?: string;
}

export function describeFailure(f: OAuthFailure, context: { appOnly?: boolean } = {}): DescribedFailure {
  const code = aadstsCode(f);
  const entry = code === undefined ? undefined : AADSTS[code];
  const ids = supportIds(f);
  const support = [
    ids.traceId && `Trace ID ${ids.traceId}`,
    ids.correlationId && `Correlation ID ${ids.correlationId}`,
    ids.timestamp && `Timestamp ${ids.timestamp}`,
  ]
    .filter(Boolean)
    .join(' · ');
  const firstSentence = (f.description ?? '').replace(/\r?\n.*$/s, '').replace(/\s*Trace ID:.*$/s, '').trim();
  let what = entry?.what ?? (f.error && OAUTH_ERRORS[f.error]) ?? 'Microsoft Entra refused the request.';
  if (f.error === 'access_denied' && f.subError === 'cancel' && code === undefined) what = AADSTS[65004]!.what;
  let review =
    entry?.review ??
    (context.appOnly
      ? 'AZURE_CLIENT_ID, AZURE_TENANT_ID and the credential variable (AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH or AZURE_FEDERATED_TOKEN_FILE)'
      : 'the tenant ID, the cloud (--gcc-high), the client ID and app registration, and that you sign in as an administrator');
  if (!entry && firstSentence) what = `${what} Entra said: ${firstSentence}`;
  if (context.appOnly && entry?.variable && !review.startsWith(entry.variable)) review = `${entry.variable} — ${review}`;
  return { code, what, review, support, entry, error: f.error };
}

/** A sign-in/consent failure as the error dirsync exits with (4, or 2 for a wrong tenant). */
export function authFailure(f: OAuthFailure, context: { appOnly?: boolean; prefix?: string } = {}): DirsyncError {
  const d = describeFailure(f, context);
  const label = d.code !== undefined ? ` (AADSTS${d.code})` : f.error ? ` (${f.error})` : '';
  const message = `${context.prefix ? `${context.prefix}: ` : ''}${d.what.replace(/\.$/, '')}${label}.` + (d.support ? `\nFor Microsoft support: ${d.support}` : '');
  const extra = {
    hint: `Review: ${d.review}.`,
    details: {
      aadsts: d.code,
      error: f.error,
      subError: f.subError || undefined,
      correlationId: supportIds(f).correlationId,
      traceId: supportIds(f).traceId,
      timestamp: supportIds(f).timestamp,
    },
  };
  return d.entry?.usage && !context.appOnly ? new UsageError(message, extra) : new AuthError(message, extra);
}
