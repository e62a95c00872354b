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

/** `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5) on top-level attributes; id and schemas always stay. */
export function project(resource: Json, attributes?: string[], excluded?: string[]): Json {
  const always = new Set(['id', 'schemas']);
  if (attributes?.length) {
    const keep = new Set(attributes.map((a) => a.split('.')[0]!.toLowerCase()));
    return Object.fromEntries(Object.entries(resource).filter(([k]) => always.has(k) || keep.has(k.toLowerCase())));
  }
  if (excluded?.length) {
    const drop = new Set(excluded.map((a) => a.toLowerCase()));
    return Object.fromEntries(Object.entries(resource).filter(([k]) => always.has(k) || !drop.has(k.toLowerCase())));
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
    sort: { supported: false },
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
