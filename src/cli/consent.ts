import { spawn } from 'node:child_process';
import { DirsyncError, InterruptedError, NotConfiguredError, UsageError } from '../errors.js';
import type { LastFailure } from '../config/store.js';
import type { ConsentOutcome } from '../entra/signin.js';
import { Redactor } from '../util/redact.js';
import { tenantUrl } from '../config/validate.js';
import { CLOUDS, type CloudName } from '../entra/clouds.js';
import { describeDuration, parseDuration } from '../util/duration.js';
import { configStore, openDirectory, profileFlag, requireTenant, securityCheck } from './common.js';
import type { Context } from './context.js';

export interface ConsentOptions {
  /** --timeout DURATION: how long to wait for the browser or device code (default 5m). */
  timeout?: string;
  /** --device-code: sign in on another device (SSH, no browser). */
  deviceCode?: boolean;
}

export interface ConsentResult {
  profile: string;
  tenantId: string;
  tenantDisplayName: string | null;
  cloud: CloudName;
  account: string | null;
  permissions: string[];
  grantedAt: string;
  flow: 'browser' | 'device-code';
  adminConsent: boolean;
  tenantUrl: string;
  nextStep: string;
}

export const DEFAULT_CONSENT_TIMEOUT = '5m';

/**
 * Why no browser can be shown here, or undefined when one probably can. $BROWSER always wins.
 * SSH sessions and Linux without DISPLAY/WAYLAND_DISPLAY have none; WSL opens the Windows browser.
 */
export function browserUnavailable(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): string | undefined {
  if (env.BROWSER) return undefined;
  const wsl = platform === 'linux' && Boolean(env.WSL_DISTRO_NAME || env.WSL_INTEROP);
  if (env.SSH_CONNECTION || env.SSH_TTY || env.SSH_CLIENT) {
    if (!(platform === 'linux' && (env.DISPLAY || env.WAYLAND_DISPLAY))) return 'this is an SSH session without a display';
  }
  if (platform === 'linux' && !wsl && !env.DISPLAY && !env.WAYLAND_DISPLAY) return 'there is no display (DISPLAY and WAYLAND_DISPLAY are not set)';
  return undefined;
}

/** Options the lead's `configure` passes when it continues into consent. */
export interface ConsentInternal {
  /** configure has already run the security check (or just set the password). */
  securityChecked?: boolean;
  /** configure has already run tenant discovery for this tenant and cloud. */
  discovered?: boolean;
  /** Do not print the result on stdout (configure folds it into its own one JSON document). */
  quiet?: boolean;
}

/** `dirsync consent`: security check, sign-in and tenant-wide consent, verified, then recorded. */
export async function run(options: ConsentOptions, ctx: Context, internal: ConsentInternal = {}): Promise<ConsentResult> {
  const store = configStore(ctx);
  const profile = store.profile(ctx.profile);
  const tenant = requireTenant(ctx, profile);
  const timeoutMs = parseDuration(options.timeout ?? DEFAULT_CONSENT_TIMEOUT, '--timeout');
  if (timeoutMs <= 0) throw new UsageError('--timeout must be longer than 0.', { hint: 'For example --timeout 5m.' });
  if (!tenant.clientId) {
    throw new NotConfiguredError(`No client ID is configured for profile "${ctx.profile}": dirsync needs the app registration to sign in with.`, {
      hint:
        `Register an app in Microsoft Entra (Mobile and desktop redirect URI http://localhost, public client flows allowed, ` +
        `Microsoft Graph User.Read.All and Group.Read.All), then run \`dirsync configure --client-id <GUID>${profileFlag(ctx)}\`.`,
    });
  }
  if (!options.deviceCode) {
    const why = browserUnavailable(ctx.env);
    if (why) {
      throw new UsageError(`A browser cannot be opened here: ${why}.`, {
        hint: `Use \`dirsync consent --device-code${profileFlag(ctx)}\` and sign in on another device, or set BROWSER to a browser command.`,
      });
    }
  }
  if (!internal.securityChecked) await securityCheck(ctx, store);

  const flow = options.deviceCode ? 'device-code' : 'browser';
  let outcome: ConsentOutcome;
  try {
    outcome = await signIn(options, ctx, { ...tenant, clientId: tenant.clientId }, timeoutMs, internal);
  } catch (error) {
    recordFailure(ctx, error, flow);
    throw error;
  }

  store.updateProfile(ctx.profile, ({ lastFailure: _cleared, ...p }) => ({
    ...p,
    consent: {
      grantedAt: outcome.grantedAt,
      tenantDisplayName: outcome.tenantDisplayName,
      account: outcome.account,
      permissions: outcome.permissions,
    },
  }));
  const directory = await openDirectory(ctx);
  try {
    await directory.audit(
      {
        action: 'consent',
        detail: { profile: ctx.profile, tenantId: outcome.tenantId, account: outcome.account, flow: outcome.flow, adminConsent: outcome.adminConsent, permissions: outcome.permissions },
      },
      ctx.now(),
    );
  } finally {
    directory.close();
  }

  const url = tenantUrl(profile.provisioning?.publicUrl);
  const result: ConsentResult = {
    profile: ctx.profile,
    tenantId: outcome.tenantId,
    tenantDisplayName: outcome.tenantDisplayName ?? null,
    cloud: tenant.cloud,
    account: outcome.account ?? null,
    permissions: outcome.permissions,
    grantedAt: outcome.grantedAt,
    flow: outcome.flow,
    adminConsent: outcome.adminConsent,
    tenantUrl: url,
    nextStep: `dirsync token renew${profileFlag(ctx)}`,
  };
  ctx.out.success(
    `Consent granted for ${outcome.tenantDisplayName ?? outcome.tenantId}${outcome.account ? ` by ${outcome.account}` : ''}` +
      `${outcome.adminConsent ? ' (for the whole organisation)' : ''}.`,
  );
  if (!internal.quiet) ctx.out.result(result, () =>
    ctx.out.keyValues([
      ['Tenant', `${result.tenantDisplayName ?? ''} ${result.tenantId}`.trim()],
      ['Cloud', CLOUDS[result.cloud].label],
      ['Signed in as', result.account ?? 'unknown'],
      ['Permissions', result.permissions.join(', ') || '(none reported)'],
      ['Tenant URL', url],
    ]),
  );
  ctx.out.hint(
    `Next: issue the Secret Code with \`${result.nextStep}\`, then in Microsoft Entra (Enterprise applications → your app → Provisioning) ` +
      `enter the Tenant URL ${url} and the Secret Code, and start provisioning.`,
  );
  return result;
}

/** Tenant discovery, then the browser or device-code sign-in with consent. */
async function signIn(
  options: ConsentOptions,
  ctx: Context,
  tenant: { tenantId: string; cloud: CloudName; clientId: string },
  timeoutMs: number,
  internal: ConsentInternal,
): Promise<ConsentOutcome> {
  // One unauthenticated request first: a wrong tenant or cloud is explained before any browser opens.
  if (!internal.discovered) {
    const { discoverTenant } = await import('../entra/discovery.js');
    await discoverTenant(tenant.tenantId, tenant.cloud, ctx.env, {
      signal: ctx.signal,
      debug: (line) => ctx.out.debug(line),
      rerun: `dirsync configure${profileFlag(ctx)}`,
    });
  }

  const { consentWithBrowser, consentWithDeviceCode } = await import('../entra/signin.js');
  const settings = {
    tenantId: tenant.tenantId,
    cloud: tenant.cloud,
    clientId: tenant.clientId,
    env: ctx.env,
    cachePath: ctx.paths.signInCache,
    signal: ctx.signal,
    debug: (line: string) => ctx.out.debug(line),
  };
  ctx.out.info(
    `Signing in to tenant ${tenant.tenantId} (${CLOUDS[tenant.cloud].label}) to grant dirsync read access to users and groups for the whole organisation.`,
  );
  const ui = {
    openBrowser: (url: string) => openBrowser(url, ctx),
    waiting: (message: string) => ctx.out.spinner(message),
    deviceCode: (info: { verificationUri: string; userCode: string; expiresInSeconds: number }) => {
      ctx.out.info(
        `To sign in, open ${info.verificationUri} in a browser on any device and enter the code ${info.userCode} ` +
          `(valid for ${describeDuration(info.expiresInSeconds * 1000)}). Sign in as an administrator and accept the permissions.`,
      );
    },
  };
  return options.deviceCode
    ? await consentWithDeviceCode(settings, ui, { timeoutMs })
    : await consentWithBrowser(settings, ui, { timeoutMs });
}

/**
 * Remembers a failed consent or sign-in in the profile (`lastFailure`) for `dirsync doctor`: Entra's
 * code, when, and the IDs Microsoft support asks for. The message passes the redactor; a failure to
 * record never hides the failure itself.
 */
function recordFailure(ctx: Context, error: unknown, flow: string): void {
  if (error instanceof InterruptedError) return;
  const details = error instanceof DirsyncError ? (error.details ?? {}) : {};
  const text = error instanceof Error ? error.message.split('\n')[0]! : String(error);
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  const failure: LastFailure = {
    code: details.aadsts !== undefined ? `AADSTS${details.aadsts}` : str(details.error),
    message: new Redactor().redact(text),
    at: ctx.now().toISOString(),
    traceId: str(details.traceId),
    correlationId: str(details.correlationId),
    flow,
  };
  for (const key of Object.keys(failure) as (keyof LastFailure)[]) if (failure[key] === undefined) delete failure[key];
  try {
    configStore(ctx).updateProfile(ctx.profile, (p) => ({ ...p, lastFailure: failure }));
  } catch (writeError) {
    ctx.out.debug(`could not record the failure in the profile: ${(writeError as Error).message}`);
  }
}

/**
 * Prints the URL (always: `open` resolves even when no browser appeared) and opens it with the
 * command in $BROWSER — the convention gh and others follow — or with `open`.
 */
async function openBrowser(url: string, ctx: Context): Promise<void> {
  ctx.out.info(`Open this URL to continue in your web browser:\n  ${url}`);
  const command = ctx.env.BROWSER?.trim();
  if (command) {
    const [bin, ...args] = command.split(/\s+/);
    ctx.out.debug(`opening the browser with $BROWSER (${bin})`);
    await new Promise<void>((resolve) => {
      const child = spawn(bin!, [...args, url], { stdio: 'ignore', env: ctx.env });
      child.once('spawn', () => resolve());
      child.once('error', (error) => {
        ctx.out.warn(`Could not run $BROWSER (${bin}): ${(error as NodeJS.ErrnoException).code ?? error.message}. Open the URL above yourself.`);
        resolve();
      });
      child.once('exit', (code) => {
        if (code) ctx.out.warn(`The browser command exited with ${code}. If no browser opened, open the URL above yourself.`);
      });
      child.unref();
    });
    return;
  }
  try {
    const { default: open } = await import('open');
    const child = await open(url, { wait: false });
    child.once('error', () => ctx.out.warn('Could not open a browser. Open the URL above yourself.'));
    child.unref();
  } catch (error) {
    ctx.out.warn(`Could not open a browser (${(error as Error).message}). Open the URL above yourself.`);
  }
}

