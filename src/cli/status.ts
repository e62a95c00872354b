import fs from 'node:fs';
import { ExitCode, type ExitCodeValue } from '../errors.js';
import { tenantUrl } from '../config/validate.js';
import { CLOUDS } from '../entra/clouds.js';
import { formatDay } from '../util/dates.js';
import { DEFAULT_WARN_MS, secretCodeStatus } from '../secrets/policy.js';
import { configStore, databaseUrl, directoryExists, openDirectory, profileFlag, requireTenant } from './common.js';
import type { Context } from './context.js';
import type { ProfileConfig } from '../config/store.js';
import { describeState } from './token.js';

/** `dirsync status`: one screen about the profile. Exit 3 when it is not configured. */
export async function run(_options: object, ctx: Context): Promise<ExitCodeValue> {
  const profile = configStore(ctx).profile(ctx.profile);
  const tenant = requireTenant(ctx, profile);
  const url = tenantUrl(profile.provisioning?.publicUrl);
  let code;
  let counts = { users: 0, activeUsers: 0, groups: 0 };
  const dbUrl = databaseUrl(ctx);
  let database: { backend: 'sqlite' | 'postgres'; location: string } = { backend: 'sqlite', location: ctx.paths.directoryDb };
  if (dbUrl) {
    const { redactDatabaseUrl } = await import('../directory/postgres/core.js');
    database = { backend: 'postgres', location: redactDatabaseUrl(dbUrl) };
  }
  if (directoryExists(ctx)) {
    const directory = await openDirectory(ctx);
    try {
      code = secretCodeStatus(await directory.currentSecretCode(), ctx.now(), DEFAULT_WARN_MS);
      counts = await directory.counts();
    } finally {
      directory.close();
    }
  } else {
    code = secretCodeStatus(undefined, ctx.now(), DEFAULT_WARN_MS);
  }
  const { appCredentialFromEnv } = await import('../entra/credentials.js');
  const ci = appCredentialFromEnv(ctx.env);
  const graphCredential = ci
    ? { source: 'environment', variable: ci.variable, clientId: ci.clientId }
    : { source: 'sign-in cache', present: fs.existsSync(ctx.paths.signInCache) };
  const job = profile.provisioningJob ? await linkedJobState(ctx, profile) : null;
  const data = {
    profile: ctx.profile,
    configDir: ctx.paths.configDir,
    tenantId: tenant.tenantId,
    cloud: tenant.cloud,
    importMode: profile.provisioning?.importMode ?? 'new-only',
    clientId: tenant.clientId ?? null,
    consent: profile.consent
      ? { state: 'granted', ...profile.consent }
      : { state: 'not-granted' },
    graphCredential,
    tenantUrl: url,
    provisioningJob: profile.provisioningJob ? { ...profile.provisioningJob, ...job } : null,
    secretCode: code,
    directory: counts,
    database,
  };
  const s = ctx.out.resultStyle;
  const paint = code.state === 'ok' ? s.green : code.state === 'expiring' ? s.yellow : s.red;
  ctx.out.result(data, () =>
    ctx.out.keyValues([
      ['Profile', ctx.profile],
      ['Config dir', ctx.paths.configDir],
      ['Tenant ID', tenant.tenantId],
      ['Cloud', CLOUDS[tenant.cloud].label],
      ['Import mode', data.importMode === 'new-only' ? 'new users and groups only' : 'also sync existing users and groups'],
      ['Client ID', tenant.clientId ?? 'not set'],
      [
        'Consent',
        profile.consent
          ? `granted ${formatDay(new Date(profile.consent.grantedAt))}${profile.consent.account ? ` by ${profile.consent.account}` : ''}`
          : s.yellow('not granted'),
      ],
      [
        'Graph sign-in',
        ci
          ? `app-only, from AZURE_CLIENT_ID + ${ci.variable} (overrides the cached sign-in)`
          : graphCredential.present
            ? `cached (${ctx.paths.signInCache})`
            : 'none cached (`dirsync consent` signs in)',
      ],
      ['Tenant URL', url],
      [
        'Entra job',
        !profile.provisioningJob
          ? `not linked (\`dirsync provisioning link${profileFlag(ctx)}\`)`
          : job?.state
            ? `${job.state === 'Quarantine' || job.disabled ? s.red(job.state + (job.disabled ? ' (disabled)' : '')) : job.state} — ${profile.provisioningJob.displayName}`
            : `${profile.provisioningJob.displayName}: state unavailable (${job?.error})`,
      ],
      ['Secret Code', `${code.fingerprint ? `${code.fingerprint} ` : ''}${paint(describeState(code, ctx.now()))}`],
      ['Directory', `${counts.users} users (${counts.activeUsers} active), ${counts.groups} groups`],
      ['Database', `${database.backend === 'postgres' ? 'PostgreSQL' : 'SQLite'} ${database.location}`],
    ]),
  );
  if (!profile.consent) ctx.out.hint(`Grant consent with \`dirsync consent${profileFlag(ctx)}\`.`);
  if (code.state !== 'ok') ctx.out.hint(`Renew the Secret Code with \`dirsync token renew${profileFlag(ctx)}\`.`);
  return ExitCode.ok;
}

/**
 * One Graph read of the linked job's state, bounded so that `status` stays quick and never fails
 * because Entra is out of reach (the line then says why).
 */
async function linkedJobState(ctx: Context, profile: ProfileConfig): Promise<{ state: string | null; disabled: boolean; error?: string }> {
  const link = profile.provisioningJob!;
  try {
    const [{ openGraph }, { getJob }] = await Promise.all([import('./graph.js'), import('../provisioning/synchronization.js')]);
    const { graph } = await openGraph(ctx, profile);
    const job = await Promise.race([
      getJob(graph, link.servicePrincipalId, link.jobId),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer within 10 s')), 10_000).unref()),
    ]);
    return { state: job.status?.code ?? null, disabled: job.schedule?.state === 'Disabled' };
  } catch (error) {
    ctx.out.debug(`status: the linked job's state could not be read: ${(error as Error).message}`);
    return { state: null, disabled: false, error: (error as Error).message.split('\n')[0] };
  }
}
