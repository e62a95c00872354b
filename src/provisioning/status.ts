import type { SyncExecution, SyncJob } from './synchronization.js';

/** What `provisioning status --json` prints about Entra's job (README documents the keys). */
export interface JobSummary {
  jobId: string;
  templateId: string;
  /** Entra's status code: Active, Paused, Quarantine, NotRun, NotConfigured. */
  state: string;
  /** The schedule is disabled (Entra disables a job after four weeks in quarantine). */
  disabled: boolean;
  quarantine: null | {
    reason: string;
    since: string | null;
    seriesBegan: string | null;
    nextAttempt: string | null;
    seriesCount: number | null;
    error: { code: string | null; message: string | null } | null;
    /** What to do about it, in words. */
    fix: string;
  };
  lastExecution: ExecutionSummary | null;
  lastSuccessfulExecution: ExecutionSummary | null;
  /** ISO-8601 duration as Entra gives it (e.g. PT40M). */
  interval: string | null;
  consecutiveFailures: number;
}

export interface ExecutionSummary {
  state: string | null;
  began: string | null;
  ended: string | null;
  exported: number | null;
  imported: number | null;
  escrowed: number | null;
  error: { code: string | null; message: string | null } | null;
}

const execution = (e: SyncExecution | null | undefined): ExecutionSummary | null =>
  e
    ? {
        state: e.state ?? null,
        began: e.timeBegan ?? null,
        ended: e.timeEnded ?? null,
        exported: e.countExported ?? null,
        imported: e.countImported ?? null,
        escrowed: e.countEscrowed ?? null,
        error: e.error ? { code: e.error.code ?? null, message: e.error.message ?? null } : null,
      }
    : null;

/**
 * The fix for a quarantine, by Entra's reason (synchronizationQuarantine.reason) and, for the
 * generic EncounteredQuarantineException, the error code Entra recorded.
 */
export function quarantineFix(reason: string, errorCode: string | null | undefined, renewCmd: string): string {
  const credentials = /CredentialValidation|Unauthorized|401|InvalidCredentials|SecretToken/i.test(errorCode ?? '');
  switch (reason) {
    case 'EncounteredQuarantineException':
      return credentials || !errorCode
        ? 'Entra cannot authenticate to the Tenant URL: the Secret Code it holds expired or was revoked, or the Tenant URL does not answer. ' +
            `Check that \`dirsync serve\` is reachable at the Tenant URL, then run \`${renewCmd} --push --restart-if-quarantined\`.`
        : `Entra stopped on an error from the Tenant URL (${errorCode}). Check the serve log for the failing requests, fix the cause, then run \`dirsync provisioning restart\`.`;
    case 'EncounteredBaseEscrowThreshold':
    case 'EncounteredTotalEscrowThreshold':
    case 'EncounteredEscrowProportionThreshold':
      return 'Too many users or groups failed to provision (escrows). Read the provisioning logs in the Entra admin center and the serve log, fix the attribute mappings or the data, then run `dirsync provisioning restart`.';
    case 'TooManyDeletes':
      return 'Entra stopped to prevent accidental deletions: more objects would be deleted than the threshold allows. Review them in the Entra admin center (Provisioning → Accidental deletions); allow them there, or fix the scoping, then run `dirsync provisioning restart`.';
    case 'QuarantinedOnDemand':
      return 'An administrator put the job in quarantine. Run `dirsync provisioning restart` when provisioning should resume.';
    case 'IngestionInterrupted':
      return 'Entra could not read from Microsoft Entra ID itself. Wait for the next attempt; if it persists, run `dirsync provisioning restart` and contact Microsoft support with the job ID.';
    default:
      return 'Read the provisioning logs in the Entra admin center, fix the cause, then run `dirsync provisioning restart`.';
  }
}

export function summarizeJob(job: SyncJob, renewCmd: string): JobSummary {
  const q = job.status?.quarantine;
  const state = job.status?.code ?? 'NotConfigured';
  return {
    jobId: job.id,
    templateId: job.templateId,
    state,
    disabled: job.schedule?.state === 'Disabled',
    quarantine:
      state === 'Quarantine' || q
        ? {
            reason: q?.reason ?? 'Unknown',
            since: q?.currentBegan ?? null,
            seriesBegan: q?.seriesBegan ?? null,
            nextAttempt: q?.nextAttempt ?? null,
            seriesCount: q?.seriesCount ?? null,
            error: q?.error ? { code: q.error.code ?? null, message: q.error.message ?? null } : null,
            fix: quarantineFix(q?.reason ?? 'Unknown', q?.error?.code, renewCmd),
          }
        : null,
    lastExecution: execution(job.status?.lastExecution),
    lastSuccessfulExecution: execution(job.status?.lastSuccessfulExecution),
    interval: job.schedule?.interval ?? null,
    consecutiveFailures: job.status?.countSuccessiveCompleteFailures ?? 0,
  };
}

/** Quarantined or disabled: `provisioning status` exits 12. */
export const jobUnhealthy = (s: JobSummary) => s.state === 'Quarantine' || s.disabled;

/** "PT40M" → "every 40 minutes" (Entra's schedules are hours and minutes). */
export function describeInterval(iso: string | null): string {
  const m = iso ? /^P(?:(\d+)D)?T?(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$/.exec(iso) : null;
  if (!m) return iso ?? 'unknown';
  const parts = [
    [m[1], 'day'],
    [m[2], 'hour'],
    [m[3], 'minute'],
    [m[4], 'second'],
  ]
    .filter(([n]) => n && Number(n) > 0)
    .map(([n, unit]) => `${Number(n)} ${unit}${Number(n) === 1 ? '' : 's'}`);
  return parts.length ? `every ${parts.join(' ')}` : iso!;
}
