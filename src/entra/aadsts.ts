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
}

const APP_REG = 'Microsoft Entra admin center → App registrations → your dirsync app';

export const AADSTS: Record<number, AadstsEntry> = {
  90002: {
    what: 'The tenant was not found.',
    review: 'the Tenant ID (Identity → Overview → Tenant ID), and whether the tenant is in GCC High (--gcc-high) or the global cloud',
    variable: 'AZURE_TENANT_ID',
    usage: true,
  },
  900439: {
    what: 'This US Government tenant cannot sign in through the global (commercial) cloud endpoint.',
    review: 'the cloud: the tenant is in GCC High — run `dirsync configure --gcc-high`',
  },
  900440: {
    what: 'This tenant lives in the global cloud, but the sign-in went to the US Government (GCC High) endpoint.',
    review: 'the cloud: GCC (moderate) and commercial tenants are global — run `dirsync configure --cloud global` (without --gcc-high)',
  },
  65004: {
    what: 'Consent was declined on the consent page.',
    review: 'the permissions the app asks for; run `dirsync consent` again and choose Accept (tick "Consent on behalf of your organization")',
  },
  65001: {
    what: 'The app has not been granted consent in this tenant.',
    review: 'consent: an administrator must run `dirsync consent` (or grant admin consent under Enterprise applications → Permissions)',
  },
  90094: {
    what: 'The signed-in account may not grant consent for the whole organisation.',
    review:
      'the admin role: sign in as a Global Administrator, Privileged Role Administrator or Cloud Application Administrator (Identity → Roles & admins)',
  },
  90095: {
    what: 'An administrator must approve this app first (admin consent workflow).',
    review: 'the admin role: ask a Global Administrator to run `dirsync consent`, or approve the request under Enterprise applications → Admin consent requests',
  },
  700016: {
    what: 'The app (client ID) was not found in this tenant.',
    review: `the client ID and the app registration: check the Application (client) ID (${APP_REG} → Overview), that it is multi-tenant if it is registered in another tenant, and that it exists in the same cloud`,
    variable: 'AZURE_CLIENT_ID',
  },
  7000112: {
    what: 'The app is disabled in this tenant.',
    review: 'Enterprise applications → your dirsync app → Properties → "Enabled for users to sign-in?"',
  },
  50011: {
    what: 'The redirect URI sent by dirsync is not registered on the app.',
    review: `the redirect URI: ${APP_REG} → Authentication → add a "Mobile and desktop applications" platform with redirect URI http://localhost`,
  },
  500113: {
    what: 'The app has no redirect URI registered.',
    review: `the redirect URI: ${APP_REG} → Authentication → add a "Mobile and desktop applications" platform with redirect URI http://localhost`,
  },
  53003: {
    what: 'A Conditional Access policy blocked the sign-in.',
    review: 'conditional access: Protection → Conditional Access → Sign-in logs show which policy; allow this app or sign in from a compliant device/location',
  },
  53000: {
    what: 'Conditional Access requires a compliant or managed device.',
    review: 'conditional access: sign in from a compliant device, or exclude this app in the policy',
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
  },
  7000222: {
    what: 'The client secret has expired.',
    review: `AZURE_CLIENT_SECRET: create a new client secret in ${APP_REG} → Certificates & secrets and update the CI secret`,
    variable: 'AZURE_CLIENT_SECRET',
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
  700082: { what: 'The saved sign-in has expired.', review: 'the sign-in: run `dirsync consent` again' },
  50173: { what: 'The saved sign-in was revoked (password change or admin action).', review: 'the sign-in: run `dirsync consent` again' },
  70008: { what: 'The authorization code expired before it was redeemed.', review: 'the sign-in: run `dirsync consent` again and finish it promptly' },
  54005: { what: 'The authorization code was already redeemed.', review: 'the sign-in: run `dirsync consent` again' },
  501481: { what: 'The PKCE code verifier did not match.', review: 'the network path: something between dirsync and Entra altered the request; try again' },
  70019: { what: 'The device code expired before sign-in completed.', review: 'the device-code sign-in: run `dirsync consent --device-code` again and enter the code within 15 minutes' },
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
