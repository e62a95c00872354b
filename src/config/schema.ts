/**
 * The JSON schema of config.json, checked by conf (ajv) on every read and before every write: a
 * value that breaks it is refused with the file and the key named. Keys a newer dirsync may add
 * are kept as they are (no `additionalProperties: false`), so an older dirsync of the same
 * schema version does not refuse the file.
 */

/** The schema version this dirsync writes; bumped only for changes an older dirsync cannot read. */
export const CONFIG_SCHEMA_VERSION = 1;

export const GUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
export const PROFILE_NAME_PATTERN = '^[a-z0-9][a-z0-9_-]{0,63}$';
export const IMPORT_MODES = ['new-only', 'sync-existing'] as const;
export const CLOUD_NAMES = ['global', 'usgov-high', 'usgov-dod', 'china'] as const;

const guid = { type: 'string', pattern: GUID_PATTERN } as const;
const instant = { type: 'string', format: 'date-time' } as const;
const text = { type: 'string', minLength: 1 } as const;

const profile = {
  type: 'object',
  properties: {
    tenant: {
      type: 'object',
      required: ['tenantId', 'cloud', 'configuredAt', 'updatedAt'],
      properties: {
        tenantId: guid,
        cloud: { type: 'string', enum: CLOUD_NAMES },
        clientId: guid,
        domain: text,
        configuredAt: instant,
        updatedAt: instant,
      },
    },
    consent: {
      type: 'object',
      required: ['grantedAt', 'permissions'],
      properties: {
        grantedAt: instant,
        tenantDisplayName: { type: 'string' },
        account: { type: 'string' },
        permissions: { type: 'array', items: { type: 'string' } },
      },
    },
    provisioning: {
      type: 'object',
      required: ['importMode'],
      properties: {
        importMode: { type: 'string', enum: IMPORT_MODES },
        publicUrl: { type: 'string', pattern: '^https?://[^?#]+$' },
      },
    },
    security: {
      type: 'object',
      required: ['passwordHash', 'setAt', 'failedAttempts'],
      properties: {
        passwordHash: text,
        setAt: instant,
        failedAttempts: { type: 'integer', minimum: 0 },
        lockedUntil: instant,
      },
    },
    /** Entra's provisioning job this profile is linked to; removed by `unconfigure`. */
    provisioningJob: {
      type: 'object',
      required: ['servicePrincipalId', 'appId', 'displayName', 'jobId', 'linkedAt'],
      properties: {
        servicePrincipalId: text,
        appId: text,
        displayName: { type: 'string' },
        jobId: text,
        linkedAt: instant,
      },
    },
    /** The last failure of a sign-in or Graph flow, for `status` and support. */
    lastFailure: {
      type: 'object',
      required: ['message', 'at'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        at: instant,
        traceId: { type: 'string' },
        correlationId: { type: 'string' },
        flow: { type: 'string' },
      },
    },
  },
} as const;

/** conf's `schema` option: the top-level keys of config.json. */
export const configSchema = {
  schemaVersion: { type: 'integer', minimum: 1 },
  profiles: {
    type: 'object',
    propertyNames: { pattern: PROFILE_NAME_PATTERN },
    additionalProperties: profile,
  },
} as const;

/** conf's `rootSchema` option: what the whole file must have. */
export const configRootSchema = { required: ['schemaVersion', 'profiles'] } as const;
