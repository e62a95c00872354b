import { OperationError, UsageError } from '../errors.js';
import { quoted } from '../util/echo.js';
import { isGuid, TENANT_ID_HELP } from '../config/validate.js';
import { describeFailure, supportIds } from './aadsts.js';
import { CLOUDS, endpointsFor, type CloudName } from './clouds.js';
import { createHttpClient, type HttpClient } from './http.js';

/**
 * Tenant discovery: one unauthenticated request to Entra's OpenID configuration, before any
 * sign-in. It turns a verified domain into the tenant GUID and says which cloud the tenant lives in,
 * so `--gcc-high` mistakes are caught with the exact fix instead of a baffling sign-in error.
 */
export interface TenantDiscovery {
  /** The tenant GUID (lower case). */
  tenantId: string;
  /** The cloud the tenant lives in, from the discovery document. */
  cloud: CloudName;
  /** The domain the admin typed, when it was not a GUID. */
  domain?: string;
  /** Raw markers, for --debug and support. */
  regionScope?: string;
  regionSubScope?: string;
  cloudInstanceName?: string;
  issuer: string;
  /** The endpoint that answered (login origin). */
  endpoint: string;
}

interface OpenIdConfiguration {
  issuer?: string;
  token_endpoint?: string;
  tenant_region_scope?: string;
  tenant_region_sub_scope?: string;
  cloud_instance_name?: string;
}

const DOMAIN = /^(?=.{3,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

/** A tenant GUID or a verified domain (contoso.onmicrosoft.com, contoso.com), normalised to lower case. */
export function parseTenantOrDomain(value: string): { tenantId?: string; domain?: string } {
  const v = value.trim().toLowerCase();
  if (isGuid(v)) return { tenantId: v };
  if (DOMAIN.test(v)) return { domain: v };
  throw new UsageError(`${quoted(value)} is not a tenant ID or a verified domain.`, {
    hint: `${TENANT_ID_HELP} A verified domain such as contoso.onmicrosoft.com also works.`,
  });
}

/** Which cloud the discovery document places the tenant in. GCC (moderate) is global. */
export function detectCloud(doc: OpenIdConfiguration): CloudName {
  const instance = (doc.cloud_instance_name ?? '').toLowerCase();
  const scope = (doc.tenant_region_scope ?? '').toLowerCase();
  const sub = (doc.tenant_region_sub_scope ?? '').toLowerCase();
  if (instance.endsWith('microsoftonline.us') || scope === 'usgov' || sub === 'dodcon' || sub === 'dod') {
    return sub === 'dod' ? 'usgov-dod' : 'usgov-high';
  }
  if (instance.endsWith('chinacloudapi.cn') || instance.endsWith('microsoftonline.cn')) return 'china';
  return 'global';
}

const flagFor = (cloud: CloudName) => (cloud === 'usgov-high' ? '--gcc-high' : `--cloud ${cloud}`);

/** The exit-2 error for a tenant whose cloud is not the configured one, with the exact fix. */
export function cloudMismatch(tenant: string, configured: CloudName, actual: CloudName, rerun = 'dirsync configure'): UsageError {
  const isGcc = actual === 'global';
  const message =
    configured === 'global' && actual === 'usgov-high'
      ? `Tenant ${tenant} is a GCC High tenant (US Government cloud), but it is configured for the global cloud.`
      : configured === 'usgov-high' && isGcc
        ? `Tenant ${tenant} is in the global cloud, but --gcc-high was given. GCC (moderate) and commercial tenants are global; only GCC High is not.`
        : `Tenant ${tenant} lives in ${CLOUDS[actual].label}, but it is configured for ${CLOUDS[configured].label}.`;
  const fix = isGcc ? `${rerun} --cloud global (without --gcc-high)` : `${rerun} ${flagFor(actual)}`;
  return new UsageError(message, { hint: `Run \`${fix}\`.`, details: { configuredCloud: configured, tenantCloud: actual } });
}

export interface DiscoverOptions {
  http?: HttpClient;
  signal?: AbortSignal;
  debug?: (line: string) => void;
  /** The command to show in fixes ("dirsync configure --tenant-id …"). Default "dirsync configure". */
  rerun?: string;
  /** Only report the detected cloud instead of failing on a mismatch. */
  allowMismatch?: boolean;
}

/**
 * Looks up `tenantOrDomain` in `cloud` (one GET of the OpenID configuration). Throws UsageError (2)
 * for an unknown tenant and for a cloud mismatch, OperationError (1) for network problems.
 */
export async function discoverTenant(
  tenantOrDomain: string,
  cloud: CloudName,
  env: NodeJS.ProcessEnv,
  options: DiscoverOptions = {},
): Promise<TenantDiscovery> {
  const parsed = parseTenantOrDomain(tenantOrDomain);
  const key = parsed.tenantId ?? parsed.domain!;
  const endpoints = endpointsFor(cloud, env);
  const http = options.http ?? createHttpClient(env, { debug: options.debug });
  const url = `${endpoints.login}/${encodeURIComponent(key)}/v2.0/.well-known/openid-configuration`;
  options.debug?.(`tenant discovery: ${url}`);
  const response = await http(url, { headers: { Accept: 'application/json' }, timeoutMs: 20_000, signal: options.signal });
  let body: (OpenIdConfiguration & { error?: string; error_description?: string; error_codes?: number[]; trace_id?: string; correlation_id?: string; timestamp?: string }) | undefined;
  try {
    body = response.json();
  } catch {
    body = undefined;
  }
  if (response.status >= 400 || !body || body.error) {
    const f = {
      error: body?.error,
      description: body?.error_description,
      codes: body?.error_codes,
      traceId: body?.trace_id,
      correlationId: body?.correlation_id,
      timestamp: body?.timestamp,
    };
    const d = describeFailure(f);
    options.debug?.(`tenant discovery: HTTP ${response.status} ${body?.error ?? ''} ${d.code ? `AADSTS${d.code}` : ''} ${d.support}`);
    if (d.code === 90002 || body?.error === 'invalid_tenant' || response.status === 400 || response.status === 404) {
      const ids = supportIds(f);
      throw new UsageError(
        `Tenant ${key} was not found in ${CLOUDS[cloud].label}${d.code ? ` (AADSTS${d.code})` : ''} — check the Tenant ID and whether it is a GCC High tenant.`,
        {
          hint:
            cloud === 'global'
              ? 'Copy the Tenant ID from Identity → Overview → Tenant properties. If the tenant is in GCC High, add --gcc-high.'
              : 'Copy the Tenant ID from Identity → Overview → Tenant properties. GCC (moderate) and commercial tenants are global: use --cloud global.',
          details: { aadsts: d.code, traceId: ids.traceId, correlationId: ids.correlationId, timestamp: ids.timestamp, endpoint: endpoints.login },
        },
      );
    }
    throw new OperationError(`Tenant discovery at ${endpoints.login} failed (HTTP ${response.status}).`, {
      hint: 'Microsoft Entra may be unavailable; try again, or pass --offline to skip the online check.',
      details: { status: response.status, endpoint: endpoints.login },
    });
  }
  const issuer = body.issuer ?? '';
  const tenantId = /\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\//i.exec(`${issuer}/`)?.[1]?.toLowerCase();
  if (!tenantId) {
    throw new OperationError(`Tenant discovery at ${endpoints.login} returned no tenant ID for ${key}.`, {
      hint: 'If DIRSYNC_LOGIN_ENDPOINT is set, check that it points at a Microsoft Entra sign-in service; or pass --offline.',
    });
  }
  const detected = detectCloud(body);
  options.debug?.(
    `tenant discovery: ${key} → ${tenantId}, cloud ${detected} (region scope ${body.tenant_region_scope ?? '-'}, sub-scope ${body.tenant_region_sub_scope ?? '-'}, instance ${body.cloud_instance_name ?? '-'})`,
  );
  if (parsed.tenantId && parsed.tenantId !== tenantId) {
    throw new OperationError(`Tenant discovery for ${key} answered for another tenant (${tenantId}).`, {
      hint: 'Check DIRSYNC_LOGIN_ENDPOINT and any proxy between dirsync and Microsoft.',
    });
  }
  if (!options.allowMismatch && detected !== cloud && !(sameLoginCloud(detected, cloud) && !body.tenant_region_sub_scope)) {
    throw cloudMismatch(parsed.domain ?? tenantId, cloud, detected, options.rerun);
  }
  return {
    tenantId,
    cloud: detected,
    domain: parsed.domain,
    regionScope: body.tenant_region_scope,
    regionSubScope: body.tenant_region_sub_scope,
    cloudInstanceName: body.cloud_instance_name,
    issuer,
    endpoint: endpoints.login,
  };
}

/** usgov-high and usgov-dod share a sign-in host; without a sub-scope we cannot tell them apart. */
function sameLoginCloud(a: CloudName, b: CloudName): boolean {
  return CLOUDS[a].loginHost === CLOUDS[b].loginHost;
}
