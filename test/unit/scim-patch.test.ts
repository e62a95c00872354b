import { describe, expect, it } from 'vitest';
import {
  applyUserPatch,
  ENTERPRISE_USER,
  groupChangeFromPatch,
  parsePatchRequest,
  userFromResource,
} from '../../src/scim/patch.js';
import { ScimError } from '../../src/scim/errors.js';
import type { UserData } from '../../src/directory/store.js';

const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const patch = (user: UserData, Operations: unknown[]) => applyUserPatch(user, parsePatchRequest({ schemas: [PATCH], Operations }));

// Entra's Create User request (Microsoft's "Develop and plan provisioning for a SCIM endpoint").
const created = userFromResource({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE_USER],
  externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
  userName: 'Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee',
  active: true,
  emails: [{ primary: true, type: 'work', value: 'Test_User_11bb@testuser.com' }],
  meta: { resourceType: 'User' },
  name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
  roles: [],
  [ENTERPRISE_USER]: { department: 'Sales' },
});

describe('users from a POST body', () => {
  it('keeps the attributes Entra sends and drops the ones not stored', () => {
    expect(created).toEqual({
      externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
      userName: 'Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee',
      active: true,
      emails: [{ primary: true, type: 'work', value: 'Test_User_11bb@testuser.com' }],
      name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
      [ENTERPRISE_USER]: { department: 'Sales' },
    });
  });

  it('requires a userName', () => {
    expect(() => userFromResource({ displayName: 'x' })).toThrow(/userName is required/);
    expect(() => userFromResource([])).toThrow(ScimError);
  });
});

describe('user PATCH without aadOptscim062020 (Entra default job)', () => {
  it('disables with "False" and re-enables with "True"', () => {
    const off = patch(created, [{ op: 'Replace', path: 'active', value: 'False' }]);
    expect(off.active).toBe(false);
    expect(patch(off, [{ op: 'Replace', path: 'active', value: 'True' }]).active).toBe(true);
  });

  it('replaces several attributes, each with its own path', () => {
    const next = patch(created, [
      { op: 'Replace', path: 'displayName', value: 'Pvlo' },
      { op: 'Replace', path: 'emails[type eq "work"].value', value: 'TestBcwqnm@test.microsoft.com' },
      { op: 'Replace', path: 'name.givenName', value: 'Gtfd' },
      { op: 'Replace', path: 'name.familyName', value: 'Pkqf' },
      { op: 'Replace', path: 'externalId', value: 'Eqpj' },
      { op: 'Replace', path: `${ENTERPRISE_USER}:employeeNumber`, value: 'Eqpj' },
    ]);
    expect(next.displayName).toBe('Pvlo');
    expect(next.emails).toEqual([{ primary: true, type: 'work', value: 'TestBcwqnm@test.microsoft.com' }]);
    expect(next.name).toEqual({ formatted: 'givenName familyName', familyName: 'Pkqf', givenName: 'Gtfd' });
    expect(next.externalId).toBe('Eqpj');
    expect(next[ENTERPRISE_USER]).toEqual({ department: 'Sales', employeeNumber: 'Eqpj' });
    expect(created.displayName).toBeUndefined(); // the input is not changed
  });

  it('adds a single-value string attribute', () => {
    expect(patch(created, [{ op: 'Add', path: 'nickName', value: 'Babs' }]).nickName).toBe('Babs');
  });

  it('sets the manager from a bare id or {value}', () => {
    const a = patch(created, [{ op: 'Add', path: `${ENTERPRISE_USER}:manager`, value: 'mgr-1' }]);
    expect((a[ENTERPRISE_USER] as any).manager).toEqual({ value: 'mgr-1' });
    const b = patch(a, [{ op: 'Replace', path: `${ENTERPRISE_USER}:manager`, value: { value: 'mgr-2' } }]);
    expect((b[ENTERPRISE_USER] as any).manager).toEqual({ value: 'mgr-2' });
    const c = patch(b, [{ op: 'Remove', path: `${ENTERPRISE_USER}:manager` }]);
    expect((c[ENTERPRISE_USER] as any).manager).toBeUndefined();
  });
});

describe('user PATCH with aadOptscim062020', () => {
  it('disables with a boolean', () => {
    expect(patch(created, [{ op: 'replace', path: 'active', value: false }]).active).toBe(false);
  });

  it('applies the path-less replace with dotted and URN keys, next to a filtered path', () => {
    const next = patch(created, [
      { op: 'replace', path: 'emails[type eq "work"].value', value: 'TestMhvaes@test.microsoft.com' },
      {
        op: 'replace',
        value: {
          displayName: 'Bjfe',
          'name.givenName': 'Kkom',
          'name.familyName': 'Unua',
          [`${ENTERPRISE_USER}:employeeNumber`]: 'Aklq',
        },
      },
    ]);
    expect(next.displayName).toBe('Bjfe');
    expect((next.emails as any)[0].value).toBe('TestMhvaes@test.microsoft.com');
    expect(next.name).toMatchObject({ givenName: 'Kkom', familyName: 'Unua' });
    expect((next[ENTERPRISE_USER] as any).employeeNumber).toBe('Aklq');
  });

  it('applies a path-less replace of active together with other keys', () => {
    const next = patch(created, [{ op: 'replace', value: { active: false, 'name.givenName': 'X' } }]);
    expect(next.active).toBe(false);
    expect((next.name as any).givenName).toBe('X');
  });
});

describe('leniency that keeps the rest of a request applied', () => {
  it('ignores operations on attributes it does not store, and still disables', () => {
    const next = patch(created, [
      { op: 'Add', path: 'urn:ietf:params:scim:schemas:extension:contoso:2.0:User:badge', value: '42' },
      { op: 'Replace', path: 'roles[primary eq "True"].value', value: 'admin' },
      { op: 'replace', value: { entitlements: 'x', 'x509Certificates.value': 'y', id: 'other' } },
      { op: 'Replace', path: 'active', value: 'False' },
    ]);
    expect(next.active).toBe(false);
    expect(Object.keys(next).sort()).toEqual(Object.keys(created).sort());
  });

  it('adds a work email when there was none, and removes it by filter', () => {
    const bare = userFromResource({ userName: 'a@b.c' });
    const withMail = patch(bare, [{ op: 'Add', path: 'emails[type eq "work"].value', value: 'a@b.c' }]);
    expect(withMail.emails).toEqual([{ type: 'work', value: 'a@b.c', primary: true }]);
    expect(patch(withMail, [{ op: 'Remove', path: 'emails[type eq "work"]' }]).emails).toBeUndefined();
  });

  it('rejects a malformed request as a whole with 400', () => {
    expect(() => parsePatchRequest({ Operations: [{ op: 'move', path: 'active' }] })).toThrow(/"add", "replace" or "remove"/);
    expect(() => parsePatchRequest({ operations: 'x' })).toThrow(/Operations/);
    expect(() => parsePatchRequest({ Operations: [{ op: 'replace', value: 'no path' }] })).toThrow(/object of attributes/);
    expect(() => patch(created, [{ op: 'replace', path: 'active', value: 'maybe' }])).toThrow(/active must be true or false/);
    expect(() => patch(created, [{ op: 'replace', path: 'userName', value: '' }])).toThrow(/userName/);
  });
});

describe('group PATCH', () => {
  const change = (Operations: unknown[]) => groupChangeFromPatch(parsePatchRequest({ schemas: [PATCH], Operations }));

  it('adds members (either dialect)', () => {
    expect(change([{ op: 'Add', path: 'members', value: [{ $ref: null, value: 'u1' }, { value: 'u2' }] }])).toEqual({
      addMembers: ['u1', 'u2'],
    });
    expect(change([{ op: 'add', path: 'members', value: [{ value: 'u1' }] }])).toEqual({ addMembers: ['u1'] });
  });

  it('removes only the listed members: value list (default) or members[value eq] (flag)', () => {
    expect(change([{ op: 'Remove', path: 'members', value: [{ value: 'u1091' }] }])).toEqual({ removeMembers: ['u1091'] });
    expect(change([{ op: 'remove', path: 'members[value eq "7f4bc1a3-285e-48ae-8202-5accb43efb0e"]' }])).toEqual({
      removeMembers: ['7f4bc1a3-285e-48ae-8202-5accb43efb0e'],
    });
  });

  it('renames with a path or with the path-less map that carries the id', () => {
    expect(change([{ op: 'Replace', path: 'displayName', value: 'New' }])).toEqual({ displayName: 'New' });
    expect(change([{ op: 'replace', value: { id: 'g1', displayName: 'Newer' } }])).toEqual({ displayName: 'Newer' });
  });

  it('keeps the order of add and remove of the same member within one request', () => {
    expect(change([
      { op: 'add', path: 'members', value: [{ value: 'u1' }] },
      { op: 'remove', path: 'members[value eq "u1"]' },
    ])).toEqual({ removeMembers: ['u1'] });
    expect(change([
      { op: 'remove', path: 'members[value eq "u1"]' },
      { op: 'add', path: 'members', value: [{ value: 'u1' }] },
    ])).toEqual({ addMembers: ['u1'] });
  });
});
