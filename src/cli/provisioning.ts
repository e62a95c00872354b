import { ExitCode, NotConfiguredError, OperationError, UsageError, type ExitCodeValue } from '../errors.js';
import type { LinkedJob, ProfileConfig } from '../config/store.js';
import type { GraphClient } from '../entra/graph.js';
import { tenantUrl } from '../config/validate.js';
import { formatDay, relativeDays } from '../util/dates.js';
import { DEFAULT_WARN_MS, secretCodeStatus, type SecretCodeStatus } from '../secrets/policy.js';
import { candidateFor, discoverCandidates, sameTenantUrl, type Candidate } from '../provisioning/link.js';
import { describeInterval, jobUnhealthy, summarizeJob, type ExecutionSummary, type JobSummary } from '../provisioning/status.js';
import { getJob, restartJob, validateCredentials } from '../provisioning/synchronization.js';
import { configStore, directoryExists, confirmOrYes, openDirectory, profileFlag, requireTenant, securityCheck } from './common.js';
import type { Context } from './context.js';
import { openGraph } from './graph.js';

/** The linked job, or exit 3 naming `provisioning link`. */
export function requireLink(ctx: Context, profile: ProfileConfig): LinkedJob {
  if (!profile.provisioningJob) {
    throw new NotConfiguredError(`Profile "${ctx.profile}" is not linked to Entra's provisioning app.`, {
      hint: `Run \`dirsync provisioning link${profileFlag(ctx)}\` (with --app NAME|APPID when not at a terminal) to find the enterprise app that pushes to the Tenant URL.`,
    });
  }
  return profile.provisioningJob;
}

// --- link ------------------------------------------------------------------------------------------

export interface LinkOptions {
  app?: string;
}

export async function link(options: LinkOptions, ctx: Context): Promise<ExitCodeValue> {
  const store = configStore(ctx);
  const profile = store.profile(ctx.profile);
  requireTenant(ctx, profile);
  const url = tenantUrl(profile.provisioning?.publicUrl);
  const { graph } = await openGraph(ctx, profile);
  const chosen = options.app ? await fromApp(graph, options.app) : await discover(ctx, graph, url);
  const linked: LinkedJob = {
    servicePrincipalId: chosen.servicePrincipal.id,
    appId: chosen.servicePrincipal.appId,
    displayName: chosen.servicePrincipal.displayName,
    jobId: chosen.job.id,
    linkedAt: ctx.now().toISOString(),
  };
  store.updateProfile(ctx.profile, (p) => ({ ...p, provisioningJob: linked }));
  const matches = sameTenantUrl(chosen.baseAddress, url);
  ctx.out.result(
    {
      servicePrincipalId: linked.servicePrincipalId,
      appId: linked.appId,
      displayName: linked.displayName,
      jobId: linked.jobId,
      tenantUrl: url,
      baseAddress: chosen.baseAddress ?? null,
      baseAddressMatches: matches,
    },
    () =>
      ctx.out.keyValues([
        ['Enterprise app', `${linked.displayName} (app ID ${linked.appId})`],
        ['Service principal', linked.servicePrincipalId],
        ['Provisioning job', `${linked.jobId} (${chosen.job.templateId})`],
        ['Pushes to', chosen.baseAddress ?? 'no Tenant URL saved yet'],
      ]),
  );
  ctx.out.success(`Linked profile "${ctx.profile}" to the provisioning job of "${linked.displayName}".`);
  if (!matches) {
    ctx.out.warn(
      chosen.baseAddress
        ? `Entra's job pushes to ${chosen.baseAddress}, but this profile's Tenant URL is ${url}.`
        : `Entra's job has no Tenant URL saved yet; this profile's Tenant URL is ${url}.`,
    );
    ctx.out.hint(`\`dirsync token renew --push${profileFlag(ctx)}\` saves ${url} with the new Secret Code; or fix --public-url with \`dirsync configure\`.`);
  } else {
    ctx.out.hint(`Check it with \`dirsync provisioning status${profileFlag(ctx)}\`; rotate with \`dirsync token renew --push${profileFlag(ctx)}\`.`);
  }
  return ExitCode.ok;
}

async function fromApp(graph: GraphClient, app: string): Promise<Candidate> {
  const found = await candidateFor(graph, app);
  if (found.length === 0) {
    throw new UsageError(`No enterprise app with a provisioning job matches "${app}" in this tenant.`, {
      hint: 'Pass the application (client) ID, the object ID or the exact display name of the enterprise app (Entra admin center → Enterprise applications), or run `dirsync provisioning link` at a terminal to choose.',
    });
  }
  if (found.length > 1) {
    throw new UsageError(`${found.length} enterprise apps are named "${app}".`, {
      hint: `Pass one of their application IDs instead: ${found.map((c) => c.servicePrincipal.appId).join(', ')}.`,
    });
  }
  return found[0]!;
}

async function discover(ctx: Context, graph: GraphClient, url: string): Promise<Candidate> {
  const spinner = ctx.out.spinner('Looking for enterprise apps with a provisioning job…');
  let candidates: Candidate[];
  try {
    candidates = await discoverCandidates(graph);
  } finally {
    spinner.stop();
  }
  ctx.out.debug(`candidates: ${candidates.map((c) => `${c.servicePrincipal.displayName} → ${c.baseAddress ?? '-'}`).join('; ') || 'none'}`);
  const pushingHere = candidates.filter((c) => sameTenantUrl(c.baseAddress, url));
  if (pushingHere.length === 1) return pushingHere[0]!;
  if (candidates.length === 0) {
    throw new OperationError('No enterprise app in this tenant has a provisioning job.', {
      hint:
        'In the Microsoft Entra admin center: Enterprise applications → New application → Create your own application (non-gallery), ' +
        `then Provisioning → Get started: Automatic, Tenant URL ${url}, the Secret Code from \`dirsync token renew\`, Test Connection, Save. Then link again.`,
    });
  }
  const choices = pushingHere.length > 1 ? pushingHere : candidates;
  if (!ctx.interactive) {
    throw new UsageError(
      `${choices.length} enterprise apps have a provisioning job${pushingHere.length > 1 ? ` pushing to ${url}` : ''}; dirsync cannot choose without a terminal.`,
      { hint: `Pass --app with one of: ${choices.map((c) => `"${c.servicePrincipal.displayName}" (${c.servicePrincipal.appId})`).join(', ')}.` },
    );
  }
  const id = await ctx.prompt.select(
    'Which enterprise app provisions to this directory?',
    choices.map((c) => ({
      name: `${c.servicePrincipal.displayName}  (${c.servicePrincipal.appId})`,
      value: c.servicePrincipal.id,
      description: `pushes to ${c.baseAddress ?? 'no Tenant URL yet'}`,
    })),
  );
  return choices.find((c) => c.servicePrincipal.id === id)!;
}

// --- status ----------------------------------------------------------------------------------------

export async function status(_options: object, ctx: Context): Promise<ExitCodeValue> {
  const profile = configStore(ctx).profile(ctx.profile);
  requireTenant(ctx, profile);
  const linked = requireLink(ctx, profile);
  const { graph } = await openGraph(ctx, profile);
  const job = summarizeJob(await getJob(graph, linked.servicePrincipalId, linked.jobId), `dirsync token renew${profileFlag(ctx)}`);
  const code = await localCodeStatus(ctx);
  ctx.out.result(
    {
      servicePrincipalId: linked.servicePrincipalId,
      displayName: linked.displayName,
      ...job,
      secretCode: { state: code.state, expiresOn: code.expiresOn, expiresAt: code.expiresAt, lastUsedAt: code.lastUsedAt },
    },
    () => renderJob(ctx, linked, job, code),
  );
  if (job.quarantine) {
    ctx.out.warn(`Entra's provisioning job is quarantined (${job.quarantine.reason}): no changes reach this directory.`);
    ctx.out.hint(job.quarantine.fix);
  } else if (job.disabled) {
    ctx.out.warn("Entra's provisioning job is disabled (after four weeks in quarantine, Entra disables it).");
    ctx.out.hint(`Fix the cause, then run \`dirsync provisioning restart --full${profileFlag(ctx)}\`.`);
  }
  return jobUnhealthy(job) ? ExitCode.provisioningUnhealthy : ExitCode.ok;
}

async function localCodeStatus(ctx: Context): Promise<SecretCodeStatus> {
  if (!directoryExists(ctx)) return secretCodeStatus(undefined, ctx.now(), DEFAULT_WARN_MS);
  const directory = await openDirectory(ctx);
  try {
    return secretCodeStatus(await directory.currentSecretCode(), ctx.now(), DEFAULT_WARN_MS);
  } finally {
    directory.close();
  }
}

const when = (iso: string | null, now: Date) => (iso ? `${formatDay(new Date(iso))} (${relativeDays(new Date(iso), now)})` : '—');

function describeExecution(e: ExecutionSummary | null, now: Date): string {
  if (!e) return 'none yet';
  const counts = [e.exported !== null ? `${e.exported} exported` : '', e.imported !== null ? `${e.imported} imported` : '', e.escrowed ? `${e.escrowed} failed` : '']
    .filter(Boolean)
    .join(', ');
  return `${e.state ?? 'unknown'}, ended ${when(e.ended, now)}${counts ? `; ${counts}` : ''}${e.error?.code ? `; error ${e.error.code}` : ''}`;
}

function renderJob(ctx: Context, linked: LinkedJob, job: JobSummary, code: SecretCodeStatus): string {
  const now = ctx.now();
  const s = ctx.out.resultStyle;
  const healthy = !jobUnhealthy(job);
  const state = `${job.state}${job.disabled ? ' (disabled)' : ''}`;
  const rows: [string, string][] = [
    ['Enterprise app', `${linked.displayName} (${linked.appId})`],
    ['Job', job.jobId],
    ['State', healthy ? (job.state === 'Active' ? s.green(state) : state) : s.red(state)],
  ];
  if (job.quarantine) {
    const q = job.quarantine;
    rows.push(
      ['Quarantine', `${q.reason} since ${when(q.since, now)}${q.seriesBegan ? `, first ${formatDay(new Date(q.seriesBegan))}` : ''}`],
      ['Next attempt', `${when(q.nextAttempt, now)}${q.seriesCount !== null ? `, attempt ${q.seriesCount} of the series` : ''}`],
    );
    if (q.error?.code) rows.push(['Entra error', q.error.code]);
  }
  rows.push(
    ['Last cycle', describeExecution(job.lastExecution, now)],
    ['Last success', describeExecution(job.lastSuccessfulExecution, now)],
    ['Schedule', describeInterval(job.interval)],
    ['Secret Code', code.expiresAt ? `${code.state}, expires ${code.expiresOn} (${relativeDays(new Date(code.expiresAt), now)})` : code.state],
    ['Last used by Entra', code.lastUsedAt ? when(code.lastUsedAt, now) : 'never'],
  );
  return ctx.out.keyValues(rows);
}

// --- test ------------------------------------------------------------------------------------------

export async function test(_options: object, ctx: Context): Promise<ExitCodeValue> {
  const profile = configStore(ctx).profile(ctx.profile);
  requireTenant(ctx, profile);
  const linked = requireLink(ctx, profile);
  const { graph } = await openGraph(ctx, profile);
  const spinner = ctx.out.spinner('Test Connection: Entra is calling the Tenant URL with the saved Secret Code…');
  let result;
  try {
    result = await validateCredentials(graph, linked.servicePrincipalId, linked.jobId, 'saved');
  } finally {
    spinner.stop();
  }
  ctx.out.result({ ok: result.ok, ...(result.ok ? {} : { status: result.status, message: result.message ?? null }) }, () => '');
  if (result.ok) {
    ctx.out.success(`Entra reached the Tenant URL and was accepted (Test Connection passed for "${linked.displayName}").`);
    return ExitCode.ok;
  }
  throw new OperationError(`Test Connection failed: Entra could not use the saved credentials. Entra said: ${result.message ?? `HTTP ${result.status}`}`, {
    hint:
      `Check that \`dirsync serve\` is reachable at ${tenantUrl(profile.provisioning?.publicUrl)} from the internet (DNS, firewall, a publicly trusted TLS certificate), ` +
      `and that the Secret Code Entra holds is still valid (\`dirsync token status${profileFlag(ctx)}\`); \`dirsync token renew --push${profileFlag(ctx)}\` saves a new one.`,
    details: { status: result.status, graphCode: result.code },
  });
}

// --- restart ---------------------------------------------------------------------------------------

export interface RestartOptions {
  full?: boolean;
}

export async function restart(options: RestartOptions, ctx: Context): Promise<ExitCodeValue> {
  const store = configStore(ctx);
  const profile = store.profile(ctx.profile);
  requireTenant(ctx, profile);
  const linked = requireLink(ctx, profile);
  await securityCheck(ctx, store);
  ctx.out.warn(
    options.full
      ? `Restarting provisioning of "${linked.displayName}" clears its state: Entra re-evaluates every user and group in scope on the next cycle.`
      : `This lifts the quarantine of "${linked.displayName}": Entra retries on its next cycle.`,
  );
  if (!(await confirmOrYes(ctx, options.full ? 'Restart provisioning?' : 'Lift the quarantine?'))) throw new OperationError('Cancelled: nothing was changed.');
  const { graph } = await openGraph(ctx, profile);
  const scope = options.full ? 'Full' : 'QuarantineState';
  await restartJob(graph, linked.servicePrincipalId, linked.jobId, scope);
  const job = await getJob(graph, linked.servicePrincipalId, linked.jobId);
  const directory = await openDirectory(ctx);
  try {
    await directory.audit({ action: 'provisioning.restart', detail: { jobId: linked.jobId, resetScope: scope } }, ctx.now());
  } finally {
    directory.close();
  }
  ctx.out.result({ restarted: true, resetScope: scope, job: { id: job.id, state: job.status?.code ?? 'NotConfigured' } }, () => '');
  ctx.out.success(`${options.full ? 'Provisioning restarted' : 'Quarantine lifted'}: the job is ${job.status?.code ?? 'unknown'}.`);
  return ExitCode.ok;
}
