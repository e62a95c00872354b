import { odataString, type GraphClient, type GraphStatus } from '../entra/graph.js';

/**
 * Entra's user provisioning through Microsoft Graph's synchronization API: the enterprise app
 * (service principal), its provisioning job, the saved credentials ("secrets"), Test Connection
 * (validateCredentials) and restart. Typed calls only; the decisions live in link.ts, status.ts
 * and rotation.ts.
 */

export const APP_READ = 'Application.Read.All';
export const SYNC_WRITE = 'Synchronization.ReadWrite.All';

export interface ServicePrincipal {
  id: string;
  appId: string;
  displayName: string;
}

export interface SyncExecution {
  state?: string | null;
  timeBegan?: string | null;
  timeEnded?: string | null;
  countExported?: number | null;
  countImported?: number | null;
  countEscrowed?: number | null;
  error?: { code?: string | null; message?: string | null } | null;
}

export interface SyncQuarantine {
  reason?: string | null;
  currentBegan?: string | null;
  seriesBegan?: string | null;
  nextAttempt?: string | null;
  seriesCount?: number | null;
  error?: { code?: string | null; message?: string | null } | null;
}

export interface SyncJob {
  id: string;
  templateId: string;
  schedule?: { interval?: string | null; state?: string | null; expiration?: string | null } | null;
  status?: {
    code?: string | null;
    countSuccessiveCompleteFailures?: number | null;
    lastExecution?: SyncExecution | null;
    lastSuccessfulExecution?: SyncExecution | null;
    quarantine?: SyncQuarantine | null;
  } | null;
}

export interface SecretPair {
  key: string;
  value: string;
}

const SP_FIELDS = '$select=id,appId,displayName';
const sp = (id: string) => `/servicePrincipals/${encodeURIComponent(id)}`;
const job = (spId: string, jobId: string) => `${sp(spId)}/synchronization/jobs/${encodeURIComponent(jobId)}`;

export async function servicePrincipalsWhere(graph: GraphClient, filter: string): Promise<ServicePrincipal[]> {
  const found: ServicePrincipal[] = [];
  for await (const page of graph.pages<ServicePrincipal>(`/servicePrincipals?$filter=${encodeURIComponent(filter)}&${SP_FIELDS}&$top=999`, { permission: APP_READ })) {
    found.push(...page);
    if (found.length >= 5_000) break;
  }
  return found;
}

/** By appId, object id or display name — what an admin may paste from the portal. */
export async function findServicePrincipals(graph: GraphClient, app: string): Promise<ServicePrincipal[]> {
  const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(app.trim());
  if (guid) {
    const id = app.trim().toLowerCase();
    const byAppId = await graph.get<{ value?: ServicePrincipal[] }>(`/servicePrincipals?$filter=${encodeURIComponent(`appId eq '${id}'`)}&${SP_FIELDS}`, { permission: APP_READ });
    if (byAppId.value?.length) return byAppId.value;
    const byId = await graph.get<ServicePrincipal | GraphStatus>(`${sp(id)}?${SP_FIELDS}`, { permission: APP_READ, accept: [404] });
    return 'status' in byId ? [] : [byId];
  }
  return (await graph.get<{ value?: ServicePrincipal[] }>(`/servicePrincipals?$filter=displayName eq ${odataString(app.trim())}&${SP_FIELDS}`, { permission: APP_READ })).value ?? [];
}

export async function listJobs(graph: GraphClient, spId: string): Promise<SyncJob[]> {
  return (await graph.get<{ value?: SyncJob[] }>(`${sp(spId)}/synchronization/jobs`, { permission: SYNC_WRITE })).value ?? [];
}

export function getJob(graph: GraphClient, spId: string, jobId: string): Promise<SyncJob> {
  return graph.get<SyncJob>(job(spId, jobId), { permission: SYNC_WRITE });
}

/** The saved credentials, without the ones Graph never returns (SecretToken). */
export async function getSecrets(graph: GraphClient, spId: string): Promise<SecretPair[]> {
  return (await graph.get<{ value?: SecretPair[] }>(`${sp(spId)}/synchronization/secrets`, { permission: SYNC_WRITE })).value ?? [];
}

export async function putSecrets(graph: GraphClient, spId: string, secrets: SecretPair[]): Promise<void> {
  await graph.put(`${sp(spId)}/synchronization/secrets`, { value: secrets }, { permission: SYNC_WRITE });
}

/**
 * Test Connection: Entra calls the Tenant URL with the credentials (the given ones, or the saved
 * ones). Resolves with Entra's message when it failed; undefined when it worked (204).
 */
export async function validateCredentials(
  graph: GraphClient,
  spId: string,
  jobId: string,
  credentials: SecretPair[] | 'saved',
): Promise<{ ok: true } | { ok: false; status: number; code?: string; message?: string }> {
  const body = credentials === 'saved' ? { useSavedCredentials: true } : { useSavedCredentials: false, credentials };
  const answer = await graph.post<GraphStatus | undefined>(`${job(spId, jobId)}/validateCredentials`, body, { permission: SYNC_WRITE, accept: [400, 409, 422, 500, 502] });
  return answer && 'status' in answer ? { ok: false, ...answer } : { ok: true };
}

/** `QuarantineState` lifts a quarantine; `Full` is the portal's "Restart provisioning". */
export async function restartJob(graph: GraphClient, spId: string, jobId: string, resetScope: 'QuarantineState' | 'Full'): Promise<void> {
  await graph.post(`${job(spId, jobId)}/restart`, { criteria: { resetScope } }, { permission: SYNC_WRITE });
}
