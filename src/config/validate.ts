/**
 * What a person types, checked before anything is stored: values are normalised (trimmed, GUIDs
 * lower-cased, URLs without a trailing slash) and a mistake is explained with where to find the
 * right value. What config.json may hold is the JSON schema's job (schema.ts, checked by conf);
 * the patterns are shared with it.
 */
import { UsageError } from '../errors.js';
import { quoted } from '../util/echo.js';
import { GUID_PATTERN, IMPORT_MODES } from './schema.js';
import type { ImportMode } from './store.js';

const GUID = new RegExp(GUID_PATTERN);

export const isGuid = (value: string) => GUID.test(value.trim());

export const TENANT_ID_HELP =
  'A tenant ID looks like 72f988bf-86f1-41af-91ab-2d7cd011db47. Copy it from the Microsoft Entra admin center: ' +
  'Identity → Overview → Tenant properties → Tenant ID.';

/** A GUID in any case, stored lower-case. */
export function parseTenantId(value: string): string {
  const v = value.trim();
  if (!isGuid(v)) {
    throw new UsageError(`${quoted(value)} is not a tenant ID.`, { hint: TENANT_ID_HELP });
  }
  return v.toLowerCase();
}

export function parseClientId(value: string): string {
  const v = value.trim();
  if (!isGuid(v)) {
    throw new UsageError(`${quoted(value)} is not a client ID (application ID).`, {
      hint:
        'A client ID is a GUID such as 1950a258-227b-4e31-a9cf-717495945fc2. Copy it from the Microsoft Entra ' +
        'admin center: App registrations → your app → Overview → Application (client) ID.',
    });
  }
  return v.toLowerCase();
}

/** The base URL where `dirsync serve` is reachable from Entra; the Tenant URL is `<url>/scim/v2`. */
export function parsePublicUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new UsageError(`${quoted(value)} is not a URL.`, {
      hint: 'Pass the base URL where `dirsync serve` is reachable, e.g. --public-url https://dirsync.example.com',
    });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UsageError(`--public-url must be an http(s) URL; got ${quoted(value)}.`, {
      hint: 'Entra requires https:// for a Tenant URL, e.g. https://dirsync.example.com',
    });
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new UsageError(`--public-url must not carry a query, fragment or credentials; got ${quoted(value)}.`, {
      hint: 'Pass only the base URL, e.g. https://dirsync.example.com or https://example.com/dirsync',
    });
  }
  return url.href.replace(/\/+$/, '');
}

export function parseImportMode(value: string): ImportMode {
  const v = value.trim().toLowerCase();
  if ((IMPORT_MODES as readonly string[]).includes(v)) return v as ImportMode;
  throw new UsageError(`--import-mode must be new-only or sync-existing; got ${quoted(value)}.`, {
    hint:
      'new-only imports new users and groups without touching existing ones (the portal\'s "No"); ' +
      'sync-existing also links users and groups that already exist in the directory.',
  });
}

/** The local address `dirsync serve` listens on by default, for a Tenant URL with no public URL yet. */
export const DEFAULT_LOCAL_URL = 'http://localhost:8080';

export function tenantUrl(publicUrl: string | undefined): string {
  return `${publicUrl ?? DEFAULT_LOCAL_URL}/scim/v2`;
}
