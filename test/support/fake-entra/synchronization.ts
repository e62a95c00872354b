// The fake's part of Microsoft Graph's synchronization API (Entra's user provisioning), as Graph
// shapes it: service principals (enterprise apps), their provisioning jobs with status and
// quarantine, the saved credentials (secrets GET/PUT), Test Connection (validateCredentials — which
// really calls the Tenant URL with the token, over HTTP(S), the way Entra does), restart, start and
// pause. Faults: a 403 for apps without the permission, a failing PUT, a failing Test Connection.
import { randomUUID } from "node:crypto";
import http from "node:http";
import https from "node:https";

export interface SecretPair {
  key: string;
  value: string;
}

export interface FakeSyncExecution {
  state: "Succeeded" | "Failed" | "EntryLevelErrors";
  timeBegan: string;
  timeEnded: string;
  countExported: number;
  countImported: number;
  countEscrowed: number;
  error: { code: string; message: string } | null;
}

export interface FakeSyncJob {
  id: string;
  templateId: string;
  schedule: { interval: string; state: "Active" | "Disabled" | "Paused"; expiration: string | null };
  status: {
    code: "NotConfigured" | "NotRun" | "Active" | "Paused" | "Quarantine";
    countSuccessiveCompleteFailures: number;
    lastExecution: FakeSyncExecution | null;
    lastSuccessfulExecution: FakeSyncExecution | null;
    quarantine: {
      reason: string;
      currentBegan: string;
      seriesBegan: string;
      nextAttempt: string;
      seriesCount: number;
      error: { code: string; message: string } | null;
    } | null;
  };
  /** Every restart/start/pause call, for tests. */
  calls: { action: "restart" | "start" | "pause"; resetScope?: string; at: Date }[];
}

export interface FakeServicePrincipal {
  id: string;
  appId: string;
  displayName: string;
  tenantId: string;
  tags: string[];
  /** The provisioning app's saved credentials (BaseAddress = Tenant URL, SecretToken, and others). */
  secrets: SecretPair[];
  jobs: FakeSyncJob[];
}

export interface TestConnectionRecord {
  servicePrincipalId: string;
  saved: boolean;
  baseAddress: string;
  /** The SecretToken Entra presented (kept for tests: "does the new code authenticate?"). */
  token: string;
  /** What the Tenant URL answered (0 = not reachable). */
  status: number;
  ok: boolean;
  at: Date;
}

export interface SyncFaults {
  /** PUT .../secrets answers this status (e.g. 500) instead of saving; null = works. */
  putSecretsStatus: number | null;
  /** Test Connection fails whatever the Tenant URL answers: "always", or only "saved" (useSavedCredentials). */
  failTestConnection: "always" | "saved" | null;
}

export interface FakeSynchronization {
  servicePrincipals: Map<string, FakeServicePrincipal>;
  faults: SyncFaults;
  testConnections: TestConnectionRecord[];
  /** Adds an enterprise app with a SCIM provisioning job in `tenantId`. */
  addProvisioningApp(options: {
    tenantId: string;
    displayName: string;
    appId?: string;
    baseAddress?: string;
    secretToken?: string;
    templateId?: string | null;
    otherSecrets?: SecretPair[];
  }): FakeServicePrincipal;
  /** Puts a job into quarantine (as Entra does after repeated 401s from the Tenant URL). */
  quarantine(job: FakeSyncJob, reason?: string, error?: { code: string; message: string }): void;
}

/** Permission names that satisfy each need (Graph accepts the higher ones too). */
export const SYNC_WRITE = ["Synchronization.ReadWrite.All", "Application.ReadWrite.OwnedBy", "Application.ReadWrite.All"];
export const APP_READ = ["Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Synchronization.ReadWrite.All"];

export function createSynchronization(): FakeSynchronization {
  const servicePrincipals = new Map<string, FakeServicePrincipal>();
  const sync: FakeSynchronization = {
    servicePrincipals,
    faults: { putSecretsStatus: null, failTestConnection: null },
    testConnections: [],
    addProvisioningApp(o) {
      const sp: FakeServicePrincipal = {
        id: randomUUID(),
        appId: o.appId ?? randomUUID(),
        displayName: o.displayName,
        tenantId: o.tenantId,
        tags: ["WindowsAzureActiveDirectoryIntegratedApp", "WindowsAzureActiveDirectoryCustomSingleSignOnApplication"],
        secrets: [
          ...(o.baseAddress ? [{ key: "BaseAddress", value: o.baseAddress }] : []),
          ...(o.secretToken ? [{ key: "SecretToken", value: o.secretToken }] : []),
          ...(o.otherSecrets ?? [{ key: "SyncNotificationSettings", value: '{"Enabled":true,"Recipients":"ops@contoso.com","DeleteThresholdEnabled":true,"DeleteThresholdValue":500}' }, { key: "SyncAll", value: "false" }]),
        ],
        jobs: [],
      };
      if (o.templateId !== null) {
        const began = new Date(Date.now() - 3_600_000).toISOString();
        const ended = new Date(Date.now() - 3_540_000).toISOString();
        const run: FakeSyncExecution = { state: "Succeeded", timeBegan: began, timeEnded: ended, countExported: 12, countImported: 40, countEscrowed: 0, error: null };
        sp.jobs.push({
          id: `${o.templateId ?? "scim"}.${randomUUID().replace(/-/g, "")}.${randomUUID().replace(/-/g, "")}`,
          templateId: o.templateId ?? "scim",
          schedule: { interval: "PT40M", state: "Active", expiration: null },
          status: { code: "Active", countSuccessiveCompleteFailures: 0, lastExecution: run, lastSuccessfulExecution: run, quarantine: null },
          calls: [],
        });
      }
      servicePrincipals.set(sp.id, sp);
      return sp;
    },
    quarantine(job, reason = "EncounteredQuarantineException", error) {
      const now = Date.now();
      job.status.code = "Quarantine";
      job.status.countSuccessiveCompleteFailures = 4;
      job.status.quarantine = {
        reason,
        currentBegan: new Date(now - 3_600_000).toISOString(),
        seriesBegan: new Date(now - 2 * 86_400_000).toISOString(),
        nextAttempt: new Date(now + 6 * 3_600_000).toISOString(),
        seriesCount: 3,
        error: error ?? {
          code: "SystemForCrossDomainIdentityManagementCredentialValidationUnavailable",
          message: "An HTTP/401 Unauthorized response was returned rather than the expected HTTP/200 OK response.",
        },
      };
      job.status.lastExecution = {
        state: "Failed",
        timeBegan: new Date(now - 3_700_000).toISOString(),
        timeEnded: new Date(now - 3_600_000).toISOString(),
        countExported: 0,
        countImported: 0,
        countEscrowed: 0,
        error: job.status.quarantine.error,
      };
    },
  };
  return sync;
}

/** What the Tenant URL answers to Entra's Test Connection probe (a filter on a random userName). */
export function probeTenantUrl(baseAddress: string, token: string): Promise<{ status: number; detail: string }> {
  return new Promise((resolve) => {
    let url: URL;
    try {
      url = new URL(`${baseAddress.replace(/\/+$/, "")}/Users?filter=${encodeURIComponent(`userName eq "${randomUUID()}"`)}`);
    } catch {
      return resolve({ status: 0, detail: "The Tenant URL is not a valid URL." });
    }
    const req = (url.protocol === "https:" ? https : http).request(
      url,
      { headers: { Authorization: `Bearer ${token}`, Accept: "application/scim+json", "User-Agent": "Microsoft.AAD.Provisioning.Test" }, timeout: 10_000 },
      (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (d) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, detail: text.slice(0, 200) }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (e) => resolve({ status: 0, detail: (e as NodeJS.ErrnoException).code ?? e.message }));
    req.end();
  });
}

/** Entra's words for a failed Test Connection. */
export function testConnectionMessage(status: number, detail: string): string {
  const what =
    status === 0
      ? `We were unable to connect to your application: ${detail}. Verify that the Tenant URL is reachable from the internet.`
      : `We received this unexpected response from your application: An HTTP/${status} response was returned rather than the expected HTTP/200 OK response.`;
  return (
    "Error code: SystemForCrossDomainIdentityManagementCredentialValidationUnavailable Details: You appear to have entered invalid credentials. " +
    `Please confirm you are using the correct information for an administrative account. ${what}`
  );
}
