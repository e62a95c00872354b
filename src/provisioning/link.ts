import { OperationError } from '../errors.js';
import type { GraphClient } from '../entra/graph.js';
import { findServicePrincipals, getSecrets, listJobs, servicePrincipalsWhere, type ServicePrincipal, type SyncJob } from './synchronization.js';

/** An enterprise app with a provisioning job, and where that job pushes to. */
export interface Candidate {
  servicePrincipal: ServicePrincipal;
  job: SyncJob;
  /** The Tenant URL saved in Entra (BaseAddress); undefined when none is saved yet. */
  baseAddress?: string;
}

/** Normalised for comparison: no trailing slash, host in lower case. */
export function sameTenantUrl(a: string | undefined, b: string): boolean {
  if (!a) return false;
  const norm = (u: string) => {
    try {
      const url = new URL(u.trim());
      return `${url.protocol}//${url.host.toLowerCase()}${url.pathname.replace(/\/+$/, '')}`;
    } catch {
      return u.trim().replace(/\/+$/, '');
    }
  };
  return norm(a) === norm(b);
}

/** The job that provisions over SCIM: templateId `scim`, or `customappsso…` for older apps, else the only one. */
export function provisioningJob(jobs: SyncJob[]): SyncJob | undefined {
  return (
    jobs.find((j) => j.templateId?.toLowerCase() === 'scim') ??
    jobs.find((j) => j.templateId?.toLowerCase().startsWith('customappsso')) ??
    (jobs.length === 1 ? jobs[0] : undefined)
  );
}

/** The app named by `--app` (appId, object id or display name) with its provisioning job. */
export async function candidateFor(graph: GraphClient, app: string): Promise<Candidate[]> {
  const found = await findServicePrincipals(graph, app);
  const out: Candidate[] = [];
  for (const sp of found) {
    const job = provisioningJob(await listJobs(graph, sp.id));
    if (!job) {
      if (found.length === 1) {
        throw new OperationError(`The enterprise app "${sp.displayName}" (${sp.appId}) has no provisioning job.`, {
          hint:
            `In the Microsoft Entra admin center: Enterprise applications → ${sp.displayName} → Provisioning → Get started (or Connect your application): ` +
            'set Provisioning Mode to Automatic, enter the Tenant URL and Secret Code, Test Connection, Save. Then run `dirsync provisioning link` again.',
          details: { servicePrincipalId: sp.id, appId: sp.appId },
        });
      }
      continue;
    }
    out.push({ servicePrincipal: sp, job, baseAddress: baseAddressOf(await getSecrets(graph, sp.id)) });
  }
  return out;
}

/**
 * Enterprise apps created as non-gallery apps ("Create your own application"), that have a
 * provisioning job — the kind a SCIM Tenant URL is connected to. Bounded: the first 200 such apps.
 */
export async function discoverCandidates(graph: GraphClient): Promise<Candidate[]> {
  const apps = await servicePrincipalsWhere(graph, "tags/any(t:t eq 'WindowsAzureActiveDirectoryCustomSingleSignOnApplication')");
  const out: Candidate[] = [];
  for (const sp of apps.slice(0, 200)) {
    const job = provisioningJob(await listJobs(graph, sp.id));
    if (job) out.push({ servicePrincipal: sp, job, baseAddress: baseAddressOf(await getSecrets(graph, sp.id)) });
  }
  return out;
}

export const baseAddressOf = (secrets: { key: string; value: string }[]) => secrets.find((s) => s.key === 'BaseAddress')?.value || undefined;
