import { ExitCode, type ExitCodeValue } from '../errors.js';
import { tenantUrl } from '../config/validate.js';
import { parseDuration, describeDuration } from '../util/duration.js';
import { formatDay, relativeDays } from '../util/dates.js';
import { DEFAULT_GRACE_MS, DEFAULT_WARN_MS, needsRenewal, secretCodeStatus, type SecretCodeStatus } from '../secrets/policy.js';
import { configStore, confirmOrYes, openDirectory, profileFlag, requireProvisioning, securityCheck } from './common.js';
import type { Context } from './context.js';
import { OperationError, UsageError } from '../errors.js';
import type { PushResult } from '../provisioning/rotation.js';

const QUARANTINE =
  "Entra's user provisioning will be quarantined when it gets 401 from the Tenant URL; after renewing, " +
  'paste the new Secret Code into the provisioning settings and restart provisioning.';

// --- renew -------------------------------------------------------------------------------------

export interface RenewOptions {
  grace?: string;
  ifExpiringWithin?: string;
  push?: boolean;
  restartIfQuarantined?: boolean;
  showSecret?: boolean;
}

export interface RenewResultJson {
  renewed: boolean;
  tenantUrl: string;
  secretCode?: string;
  fingerprint: string | null;
  createdAt: string | null;
  expiresAt: string | null;
  expiresOn: string | null;
  daysLeft: number | null;
  previousValidUntil?: string | null;
  pushed?: boolean;
  validated?: boolean;
  restarted?: boolean;
  job?: { id: string; state: string } | null;
}

export async function renew(options: RenewOptions, ctx: Context): Promise<ExitCodeValue> {
  const graceMs = options.grace === undefined ? DEFAULT_GRACE_MS : parseDuration(options.grace, '--grace');
  const withinMs =
    options.ifExpiringWithin === undefined ? undefined : parseDuration(options.ifExpiringWithin, '--if-expiring-within');
  if (!options.push && (options.restartIfQuarantined || options.showSecret)) {
    throw new UsageError(`${options.showSecret ? '--show-secret' : '--restart-if-quarantined'} only applies with --push.`, {
      hint: 'Add --push to save the new Secret Code in Entra, or leave the flag out (without --push the code is always shown).',
    });
  }
  const store = configStore(ctx);
  const profile = store.profile(ctx.profile);
  const provisioning = requireProvisioning(ctx, profile);
  const link = options.push ? (await import('./provisioning.js')).requireLink(ctx, profile) : undefined;
  const url = tenantUrl(provisioning.publicUrl);
  const directory = await openDirectory(ctx);
  try {
    // The cron form: look first, and only ask for the password (or call Graph) when a renewal is due.
    if (withinMs !== undefined && !needsRenewal(await directory.currentSecretCode(), ctx.now(), withinMs)) {
      return report(ctx, { url, code: await directory.currentSecretCode(), renewed: false, withinMs, push: options.push });
    }
    await securityCheck(ctx, store);
    // With --push, sign in and reach the job before a code is issued: most failures cost nothing.
    const entra = link ? await (await import('./graph.js')).openGraph(ctx, profile) : undefined;
    if (link && entra) {
      const { getJob } = await import('../provisioning/synchronization.js');
      const job = await getJob(entra.graph, link.servicePrincipalId, link.jobId);
      ctx.out.debug(`push: job ${job.id} is ${job.status?.code ?? 'unknown'} (credential: ${entra.credential})`);
    }
    const { generateSecretCode, hashSecretCode, fingerprintSecretCode } = await import('../secrets/code.js');
    const { secretCodeExpiry } = await import('../secrets/expiry.js');
    let issued: string | undefined;
    const now = ctx.now();
    const result = await directory.renewSecretCode({
      now,
      graceMs,
      shouldRenew: withinMs === undefined ? undefined : (current) => needsRenewal(current, now, withinMs),
      generate: () => {
        issued = generateSecretCode();
        return {
          hash: hashSecretCode(issued),
          fingerprint: fingerprintSecretCode(issued),
          createdAt: now,
          expiresAt: secretCodeExpiry(now),
        };
      },
    });
    if (!result.renewed) return report(ctx, { url, code: result.code, renewed: false, withinMs, push: options.push });
    ctx.out.secret(issued);
    await directory.audit(
      { action: 'token.renew', detail: { fingerprint: result.code.fingerprint, graceMs, replaced: result.replaced.length } },
      now,
    );
    let pushed: PushResult | undefined;
    if (link && entra) {
      const { pushSecretCode, PushError } = await import('../provisioning/rotation.js');
      const spinner = ctx.out.spinner(`Saving the new Secret Code in Entra's provisioning app "${link.displayName}" (Test Connection, then Save)…`);
      try {
        pushed = await pushSecretCode(entra.graph, link, url, issued!, {
          restartIfQuarantined: Boolean(options.restartIfQuarantined),
          debug: (line) => ctx.out.debug(line),
        });
      } catch (error) {
        spinner.stop();
        if (error instanceof PushError && error.rollback) {
          await directory.undoRenewal(result, ctx.now());
          await directory.audit({ action: 'token.push', detail: { fingerprint: result.code.fingerprint, ok: false, step: error.step, undone: true } }, ctx.now());
        } else if (error instanceof PushError) {
          await directory.audit({ action: 'token.push', detail: { fingerprint: result.code.fingerprint, ok: false, step: error.step, undone: false } }, ctx.now());
        }
        throw error;
      }
      spinner.stop();
      await directory.audit(
        { action: 'token.push', detail: { fingerprint: result.code.fingerprint, ok: true, jobId: pushed.job.id, restarted: pushed.restarted } },
        ctx.now(),
      );
    }
    const previousValidUntil =
      result.replaced.length === 0 ? undefined : graceMs === 0 ? now.toISOString() : new Date(now.getTime() + graceMs).toISOString();
    return report(ctx, {
      url,
      code: result.code,
      renewed: true,
      secretCode: !options.push || options.showSecret ? issued : undefined,
      withinMs,
      previousValidUntil,
      graceMs,
      push: options.push,
      pushed,
      linkName: link?.displayName,
    });
  } finally {
    directory.close();
  }
}

interface RenewReport {
  url: string;
  code: Parameters<typeof secretCodeStatus>[0];
  renewed: boolean;
  /** The new code, when it is to be shown. */
  secretCode?: string;
  withinMs?: number;
  previousValidUntil?: string;
  graceMs?: number;
  push?: boolean;
  pushed?: PushResult;
  linkName?: string;
}

function report(ctx: Context, r: RenewReport): ExitCodeValue {
  const status = secretCodeStatus(r.code, ctx.now(), DEFAULT_WARN_MS);
  const json: RenewResultJson = {
    renewed: r.renewed,
    tenantUrl: r.url,
    ...(r.secretCode ? { secretCode: r.secretCode } : {}),
    fingerprint: status.fingerprint,
    createdAt: status.createdAt,
    expiresAt: status.expiresAt,
    expiresOn: status.expiresOn,
    daysLeft: status.daysLeft,
    ...(r.renewed ? { previousValidUntil: r.previousValidUntil ?? null } : {}),
    ...(r.push
      ? { pushed: Boolean(r.pushed?.pushed), validated: Boolean(r.pushed?.validated), restarted: Boolean(r.pushed?.restarted), job: r.pushed?.job ?? null }
      : {}),
  };
  const s = ctx.out.resultStyle;
  ctx.out.result(json, () => {
    if (!r.renewed) return '';
    return ctx.out.keyValues([
      ['Tenant URL', r.url],
      ['Secret Code', r.secretCode ? s.bold(r.secretCode) : `${status.fingerprint} (saved in Entra, not shown)`],
      ['Expires', `${status.expiresOn} (${relativeDays(new Date(status.expiresAt!), ctx.now())})`],
      ...(r.pushed ? ([['Entra job', `${r.pushed.job.state}${r.pushed.restarted ? ' (quarantine lifted)' : ''}`]] as [string, string][]) : []),
    ]);
  });
  if (r.renewed && r.pushed) {
    ctx.out.success(`Entra's provisioning app "${r.linkName}" now uses the new Secret Code: Test Connection passed before and after saving.`);
    if (r.secretCode) ctx.out.warn('This is the only time the Secret Code is shown.');
  } else if (r.renewed) {
    ctx.out.warn('This is the only time the Secret Code is shown. Copy it now.');
    ctx.out.hint(
      'In the Microsoft Entra admin center: Enterprise applications → your provisioning app → Provisioning → ' +
        'Admin Credentials: paste the Tenant URL and Secret Code, then Test Connection and Save ' +
        `(or let dirsync do it: \`dirsync provisioning link${profileFlag(ctx)}\`, then \`dirsync token renew --push${profileFlag(ctx)}\`).`,
    );
  }
  if (r.renewed && r.previousValidUntil && r.graceMs) {
    ctx.out.info(
      `The previous Secret Code stays valid for ${describeDuration(r.graceMs)} (until ${formatDay(new Date(r.previousValidUntil))}) so provisioning has no gap.`,
    );
  } else if (r.renewed && r.previousValidUntil) {
    ctx.out.info('The previous Secret Code was revoked at once (--grace 0).');
  }
  if (!r.renewed) {
    ctx.out.success(
      `No renewal needed: the Secret Code ${status.fingerprint} expires ${status.expiresOn} (${relativeDays(new Date(status.expiresAt!), ctx.now())}), ` +
        `outside the ${describeDuration(r.withinMs!)} window.`,
    );
  }
  return ExitCode.ok;
}

// --- status ------------------------------------------------------------------------------------

export interface StatusOptions {
  warnWithin?: string;
}

export async function status(options: StatusOptions, ctx: Context): Promise<ExitCodeValue> {
  const warnMs = options.warnWithin === undefined ? DEFAULT_WARN_MS : parseDuration(options.warnWithin, '--warn-within');
  const store = configStore(ctx);
  const provisioning = requireProvisioning(ctx, store.profile(ctx.profile));
  const url = tenantUrl(provisioning.publicUrl);
  const directory = await openDirectory(ctx);
  let st: SecretCodeStatus;
  try {
    st = secretCodeStatus(await directory.currentSecretCode(), ctx.now(), warnMs);
  } finally {
    directory.close();
  }
  renderStatus(ctx, url, st);
  return st.state === 'ok' ? ExitCode.ok : st.state === 'expiring' ? ExitCode.tokenExpiring : ExitCode.tokenInvalid;
}

export function describeState(st: SecretCodeStatus, now: Date): string {
  switch (st.state) {
    case 'ok':
      return `valid, expires ${st.expiresOn} (${relativeDays(new Date(st.expiresAt!), now)})`;
    case 'expiring':
      return `expiring ${st.expiresOn} (${relativeDays(new Date(st.expiresAt!), now)})`;
    case 'expired':
      return `expired ${st.expiresOn} (${relativeDays(new Date(st.expiresAt!), now)})`;
    case 'none':
      return st.reason === 'revoked' ? 'revoked — no valid Secret Code' : 'none issued yet';
  }
}

function renderStatus(ctx: Context, url: string, st: SecretCodeStatus): void {
  const now = ctx.now();
  const s = ctx.out.resultStyle;
  const paint = st.state === 'ok' ? s.green : st.state === 'expiring' ? s.yellow : s.red;
  ctx.out.result({ tenantUrl: url, ...st }, () =>
    ctx.out.keyValues([
      ['Tenant URL', url],
      ['Secret Code', st.fingerprint ?? '—'],
      ['State', paint(st.state)],
      ['Created', st.createdAt ? formatDay(new Date(st.createdAt)) : '—'],
      ['Expires', st.expiresAt ? `${st.expiresOn} (${relativeDays(new Date(st.expiresAt), now)})` : '—'],
      ['Last used by Entra', st.lastUsedAt ? `${formatDay(new Date(st.lastUsedAt))} (${relativeDays(new Date(st.lastUsedAt), now)})` : 'never'],
    ]),
  );
  const renewCmd = `dirsync token renew${profileFlag(ctx)}`;
  if (st.state === 'expiring') {
    ctx.out.warn(`The Secret Code expires ${relativeDays(new Date(st.expiresAt!), now)}. Renew it with \`${renewCmd}\` before then.`);
    ctx.out.hint(QUARANTINE);
  } else if (st.state === 'expired') {
    ctx.out.warn(`The Secret Code expired on ${st.expiresOn}. Entra's provisioning now gets 401 and will be quarantined.`);
    ctx.out.hint(`Renew it with \`${renewCmd}\`, paste the new code into Entra and restart provisioning.`);
  } else if (st.state === 'none') {
    ctx.out.warn(st.reason === 'revoked' ? 'Every Secret Code has been revoked.' : 'No Secret Code has been issued yet.');
    ctx.out.hint(`Issue one with \`${renewCmd}\` and paste it into Entra's provisioning settings.`);
  }
}

// --- revoke ------------------------------------------------------------------------------------

export async function revoke(_options: object, ctx: Context): Promise<ExitCodeValue> {
  const store = configStore(ctx);
  requireProvisioning(ctx, store.profile(ctx.profile));
  await securityCheck(ctx, store);
  ctx.out.warn(
    "Revoking makes every Secret Code invalid at once: Entra's provisioning will get 401 and be quarantined " +
      'until a new code is issued and entered in Entra.',
  );
  if (!(await confirmOrYes(ctx, 'Revoke every Secret Code now?'))) throw new OperationError('Cancelled: nothing was revoked.');
  const directory = await openDirectory(ctx);
  try {
    const revoked = await directory.revokeSecretCodes(ctx.now());
    await directory.audit({ action: 'token.revoke', detail: { revoked } }, ctx.now());
    ctx.out.result({ revoked }, () => '');
    ctx.out.success(revoked ? `Revoked ${revoked} valid Secret Code${revoked === 1 ? '' : 's'}.` : 'There was no valid Secret Code to revoke.');
    ctx.out.hint(`Issue a new one with \`dirsync token renew${profileFlag(ctx)}\` when provisioning should resume.`);
    return ExitCode.ok;
  } finally {
    directory.close();
  }
}
