import type { GroupMember, GroupRecord, UserRecord } from '../directory/store.js';
import { CORE_GROUP, CORE_USER, ENTERPRISE_USER } from './patch.js';

export const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
type Json = Record<string, unknown>;

export function userResource(user: UserRecord, base: string): Json {
  const { userName, ...rest } = user.data;
  return {
    schemas: rest[ENTERPRISE_USER] ? [CORE_USER, ENTERPRISE_USER] : [CORE_USER],
    id: user.id,
    userName,
    ...rest,
    active: user.active,
    meta: {
      resourceType: 'User',
      created: user.createdAt,
      lastModified: user.updatedAt,
      location: `${base}/Users/${user.id}`,
    },
  };
}

export function groupResource(group: GroupRecord, base: string, members?: GroupMember[]): Json {
  const out: Json = {
    schemas: [CORE_GROUP],
    id: group.id,
    displayName: group.displayName,
    ...(group.externalId !== null ? { externalId: group.externalId } : {}),
  };
  if (members) {
    out.members = members.map((m) => ({
      value: m.value,
      type: m.type,
      ...(m.display !== null ? { display: m.display } : {}),
      $ref: `${base}/${m.type === 'Group' ? 'Groups' : 'Users'}/${m.value}`,
    }));
  }
  out.meta = {
    resourceType: 'Group',
    created: group.createdAt,
    lastModified: group.updatedAt,
    location: `${base}/Groups/${group.id}`,
  };
  return out;
}

/**
 * An attribute of `attributes` / `excludedAttributes` → its path among the resource's keys:
 * `userName`, `name.familyName`, `emails.value`, `urn:…:core:2.0:User:displayName`,
 * `urn:…:enterprise:2.0:User:department`, or the extension itself. Names are case-insensitive.
 */
function attributePath(resource: Json, text: string): string[] | undefined {
  const lower = text.trim().toLowerCase();
  if (!lower) return undefined;
  const keys = Object.keys(resource);
  let rest = lower;
  let prefix: string[] = [];
  for (const key of keys) {
    const k = key.toLowerCase();
    if (!k.startsWith('urn:')) continue;
    if (lower === k) return [key];
    if (lower.startsWith(`${k}:`)) {
      prefix = [key];
      rest = lower.slice(k.length + 1);
      break;
    }
  }
  if (!prefix.length) {
    for (const core of [CORE_USER, CORE_GROUP]) {
      if (lower.startsWith(`${core.toLowerCase()}:`)) rest = lower.slice(core.length + 1);
    }
    if (rest.startsWith('urn:')) return undefined; // a schema this resource does not have
  }
  return [...prefix, ...rest.split('.')];
}

const caseKey = (value: unknown, name: string) =>
  value && typeof value === 'object' ? Object.keys(value).find((k) => k.toLowerCase() === name.toLowerCase()) : undefined;

/** Copies `path` of `from` into `to` (through multi-valued attributes: each element keeps the sub-attribute). */
function copyPath(from: Json, to: Json, path: string[]): void {
  const key = caseKey(from, path[0]!);
  if (key === undefined) return;
  const value = from[key];
  if (path.length === 1 || value === null || typeof value !== 'object') {
    to[key] = value;
    return;
  }
  if (Array.isArray(value)) {
    const existing = Array.isArray(to[key]) ? (to[key] as Json[]) : value.map(() => ({}));
    value.forEach((item, i) => {
      if (item && typeof item === 'object') copyPath(item as Json, existing[i]!, path.slice(1));
    });
    to[key] = existing;
    return;
  }
  const inner = to[key] && typeof to[key] === 'object' ? (to[key] as Json) : {};
  copyPath(value as Json, inner, path.slice(1));
  to[key] = inner;
}

/** Removes `path` from `target` (a copy, never the original's nested objects). */
function dropPath(target: Json, path: string[]): void {
  const key = caseKey(target, path[0]!);
  if (key === undefined) return;
  if (path.length === 1) {
    delete target[key];
    return;
  }
  const value = target[key];
  if (Array.isArray(value)) {
    target[key] = value.map((item) => {
      if (!item || typeof item !== 'object') return item;
      const copy = { ...(item as Json) };
      dropPath(copy, path.slice(1));
      return copy;
    });
  } else if (value && typeof value === 'object') {
    const copy = { ...(value as Json) };
    dropPath(copy, path.slice(1));
    target[key] = copy;
  }
}

/**
 * `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5), on every response that returns a
 * resource: top-level, sub-attributes (`name.familyName`, `emails.value`) and URN-qualified names
 * (the enterprise extension). `id` and `schemas` are always returned.
 */
export function project(resource: Json, attributes?: string[], excluded?: string[]): Json {
  if (attributes?.length) {
    const out: Json = { schemas: resource.schemas, id: resource.id };
    for (const a of attributes) {
      const path = attributePath(resource, a);
      if (path) copyPath(resource, out, path);
    }
    return out;
  }
  if (excluded?.length) {
    const out: Json = { ...resource };
    for (const a of excluded) {
      const path = attributePath(resource, a);
      if (path && !(path.length === 1 && (path[0] === 'id' || path[0] === 'schemas'))) dropPath(out, path);
    }
    return out;
  }
  return resource;
}

export function listResponse(resources: Json[], total: number, startIndex: number): Json {
  return { schemas: [LIST_RESPONSE], totalResults: total, startIndex, itemsPerPage: resources.length, Resources: resources };
}

export function serviceProviderConfig(base: string, maxResults: number): Json {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
    documentationUri: 'https://learn.microsoft.com/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups',
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults },
    changePassword: { supported: false },
    sort: { supported: true },
    etag: { supported: false },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'Secret Code',
        description: 'The Secret Code from `dirsync token renew`, sent as a bearer token (Entra: "Secret Token").',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
  };
}

const attr = (name: string, type = 'string', extra: Json = {}): Json => ({
  name,
  type,
  multiValued: false,
  required: false,
  caseExact: false,
  mutability: 'readWrite',
  returned: 'default',
  uniqueness: 'none',
  ...extra,
});
const multi = (name: string, subs: string[]): Json =>
  attr(name, 'complex', {
    multiValued: true,
    subAttributes: subs.map((s) => attr(s, s === 'primary' ? 'boolean' : 'string')),
  });

export function schemas(base: string): Json[] {
  const schema = (id: string, name: string, attributes: Json[]): Json => ({
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'],
    id,
    name,
    attributes,
    meta: { resourceType: 'Schema', location: `${base}/Schemas/${id}` },
  });
  return [
    schema(CORE_USER, 'User', [
      attr('userName', 'string', { required: true, uniqueness: 'server' }),
      attr('externalId', 'string', { caseExact: true }),
      attr('displayName'),
      attr('name', 'complex', {
        subAttributes: ['formatted', 'familyName', 'givenName', 'middleName', 'honorificPrefix', 'honorificSuffix'].map((s) => attr(s)),
      }),
      ...['nickName', 'profileUrl', 'title', 'userType', 'preferredLanguage', 'locale', 'timezone'].map((s) => attr(s)),
      attr('active', 'boolean'),
      multi('emails', ['value', 'type', 'primary', 'display']),
      multi('phoneNumbers', ['value', 'type', 'primary', 'display']),
      multi('ims', ['value', 'type', 'primary', 'display']),
      multi('photos', ['value', 'type', 'primary', 'display']),
      multi('addresses', ['formatted', 'streetAddress', 'locality', 'region', 'postalCode', 'country', 'type', 'primary']),
    ]),
    schema(ENTERPRISE_USER, 'EnterpriseUser', [
      ...['employeeNumber', 'costCenter', 'organization', 'division', 'department'].map((s) => attr(s)),
      attr('manager', 'complex', { subAttributes: [attr('value'), attr('displayName', 'string', { mutability: 'readOnly' })] }),
    ]),
    schema(CORE_GROUP, 'Group', [
      attr('displayName', 'string', { required: true, uniqueness: 'server' }),
      attr('externalId', 'string', { caseExact: true }),
      attr('members', 'complex', {
        multiValued: true,
        subAttributes: [attr('value', 'string', { mutability: 'immutable' }), attr('display', 'string', { mutability: 'readOnly' })],
      }),
    ]),
  ];
}

export function resourceTypes(base: string): Json[] {
  const type = (id: string, endpoint: string, schema: string, extensions: Json[] = []): Json => ({
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
    id,
    name: id,
    endpoint,
    schema,
    schemaExtensions: extensions,
    meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/${id}` },
  });
  return [
    type('User', '/Users', CORE_USER, [{ schema: ENTERPRISE_USER, required: false }]),
    type('Group', '/Groups', CORE_GROUP),
  ];
}
