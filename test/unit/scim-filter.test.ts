import { describe, expect, it } from 'vitest';
import { parseFilter, parseSort } from '../../src/scim/filter-grammar.js';
import { parseValuePath } from '../../src/scim/filter.js';
import { ScimError } from '../../src/scim/errors.js';

const invalid = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ScimError);
    expect((error as ScimError).status).toBe(400);
    expect((error as ScimError).scimType).toBe('invalidFilter');
    return (error as ScimError).detail;
  }
  throw new Error('expected invalidFilter');
};

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const userName = { path: ['userName'], type: 'string', caseExact: false };
const externalId = { path: ['externalId'], type: 'string', caseExact: true };
const title = { path: ['title'], type: 'string', caseExact: false };
const u = (text: string) => parseFilter(text, 'User');
const g = (text: string) => parseFilter(text, 'Group');

describe('the SCIM filter grammar (RFC 7644 §3.4.2.2)', () => {
  it('reads every comparison operator, in any case, with quoted and bare values', () => {
    for (const op of ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']) {
      expect(u(`userName ${op.toUpperCase()} "a"`)).toEqual({ op, attr: userName, value: 'a' });
    }
    expect(u('title pr')).toEqual({ op: 'pr', attr: title });
    expect(u('userName eq "Sales \\"EMEA\\" and more"')).toEqual({ op: 'eq', attr: userName, value: 'Sales "EMEA" and more' });
    expect(u('active eq true')).toEqual({ op: 'eq', attr: { path: ['active'], type: 'boolean', caseExact: false }, value: true });
    expect(u('active ne "False"')).toMatchObject({ op: 'ne', value: false });
    expect(u('externalId eq null')).toEqual({ op: 'eq', attr: externalId, value: null });
    expect(u('title eq 42')).toEqual({ op: 'eq', attr: title, value: '42' });
  });

  it('binds not tighter than and, and tighter than or; parentheses group', () => {
    const a = { op: 'eq', attr: userName, value: 'a' };
    const b = { op: 'eq', attr: externalId, value: 'b' };
    const c = { op: 'pr', attr: title };
    expect(u('userName eq "a" or externalId eq "b" and title pr')).toEqual({ op: 'or', left: a, right: { op: 'and', left: b, right: c } });
    expect(u('userName eq "a" and externalId eq "b" or title pr')).toEqual({ op: 'or', left: { op: 'and', left: a, right: b }, right: c });
    expect(u('(userName eq "a" or externalId eq "b") and title pr')).toEqual({ op: 'and', left: { op: 'or', left: a, right: b }, right: c });
    expect(u('not (userName eq "a") and title pr')).toEqual({ op: 'and', left: { op: 'not', filter: a }, right: c });
    expect(u('title pr or not(userName eq "a" or externalId eq "b")')).toEqual({
      op: 'or',
      left: c,
      right: { op: 'not', filter: { op: 'or', left: a, right: b } },
    });
    expect(u('userName eq "a" and externalId eq "b" and title pr')).toEqual({ op: 'and', left: { op: 'and', left: a, right: b }, right: c });
  });

  it('resolves sub-attributes, URN-qualified names and any case against the schema', () => {
    expect(u('NAME.FAMILYNAME eq "Smith"')).toEqual({
      op: 'eq',
      attr: { path: ['name', 'familyName'], type: 'string', caseExact: false },
      value: 'Smith',
    });
    expect(u('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x"')).toEqual({ op: 'eq', attr: userName, value: 'x' });
    expect(u(`${ENT}:department eq "Sales"`)).toEqual({
      op: 'eq',
      attr: { path: [ENT, 'department'], type: 'string', caseExact: false },
      value: 'Sales',
    });
    expect(u(`${ENT}:manager eq "m1"`)).toMatchObject({ attr: { path: [ENT, 'manager', 'value'], caseExact: true } });
    // Dates are normalised, so that they compare with the stored instants.
    expect(u('meta.lastModified gt "2025-01-31T10:00:00+01:00"')).toEqual({
      op: 'gt',
      attr: { path: ['meta', 'lastModified'], type: 'dateTime', caseExact: false },
      value: '2025-01-31T09:00:00.000Z',
    });
    expect(u('meta.created ge "2025-01-31T10:00:00"')).toMatchObject({ value: '2025-01-31T10:00:00.000Z' });
    expect(u('meta.created ge "2025-01-31"')).toMatchObject({ value: '2025-01-31T00:00:00.000Z' });
  });

  it('reads value paths and multi-valued attributes as "some element matches"', () => {
    const emails = { path: ['emails'], type: 'complex', caseExact: false, multiValued: true };
    const type = { path: ['type'], type: 'string', caseExact: false };
    const value = { path: ['value'], type: 'string', caseExact: false };
    expect(u('emails[type eq "work" and value co "@contoso.com"]')).toEqual({
      op: 'any',
      attr: emails,
      filter: { op: 'and', left: { op: 'eq', attr: type, value: 'work' }, right: { op: 'co', attr: value, value: '@contoso.com' } },
    });
    // Entra's form: a value path followed by a sub-attribute comparison, on the same element.
    expect(u('emails[type eq "work"].value eq "a@b.c"')).toEqual({
      op: 'any',
      attr: emails,
      filter: { op: 'and', left: { op: 'eq', attr: type, value: 'work' }, right: { op: 'eq', attr: value, value: 'a@b.c' } },
    });
    expect(u('emails co "@x"')).toEqual({ op: 'any', attr: emails, filter: { op: 'co', attr: value, value: '@x' } });
    expect(u('emails.type eq "home"')).toEqual({ op: 'any', attr: emails, filter: { op: 'eq', attr: type, value: 'home' } });
    expect(u('emails pr')).toEqual({ op: 'pr', attr: emails });
    const members = { path: ['members'], type: 'complex', caseExact: false, multiValued: true };
    const member = { op: 'eq', attr: { path: ['value'], type: 'string', caseExact: true }, value: 'U-1' };
    expect(g('members[value eq "U-1"]')).toEqual({ op: 'any', attr: members, filter: member });
    expect(g('members eq "U-1"')).toEqual({ op: 'any', attr: members, filter: member });
    expect(g('id eq "g1" and members.value eq "U-1"')).toMatchObject({ op: 'and', right: { op: 'any', filter: member } });
  });

  it('says what is wrong and where, as 400 invalidFilter', () => {
    expect(invalid(() => u(''))).toContain('empty');
    expect(invalid(() => u('userName xx "a"'))).toMatch(/position 10 .*"xx" is not an operator/);
    expect(invalid(() => u('userName eq'))).toMatch(/at the end: a value must follow "eq"/);
    expect(invalid(() => u('userName eq "unterminated'))).toMatch(/position 13 .*no closing quote/);
    expect(invalid(() => u('(userName eq "a"'))).toMatch(/"\(" at position 1 is not closed/);
    expect(invalid(() => u('userName eq "a")'))).toMatch(/position 16 .*"\)" has no "\("/);
    expect(invalid(() => u('userName eq "a" xor title pr'))).toMatch(/position 17 .*"and" or "or" was expected, not "xor"/);
    expect(invalid(() => u('userName eq "a" and'))).toMatch(/at the end: a comparison is missing/);
    expect(invalid(() => u('bogus eq "a"'))).toMatch(/position 1 .*no attribute "bogus"/);
    expect(invalid(() => u('name.nope eq "a"'))).toMatch(/"nope" is not a sub-attribute of name/);
    expect(invalid(() => u('urn:example:other:1.0:User:x eq "a"'))).toMatch(/not a schema of User/);
    expect(invalid(() => u('name eq "a"'))).toMatch(/name has sub-attributes/);
    expect(invalid(() => u('active gt true'))).toMatch(/position 11 .*use eq or ne/);
    expect(invalid(() => u('meta.created gt "yesterday"'))).toMatch(/position 17 .*not a date/);
    expect(invalid(() => u('userName gt null'))).toMatch(/only eq and ne compare with null/);
    expect(invalid(() => u('userName eq alice'))).toMatch(/position 13 .*quote strings/);
    expect(invalid(() => u('emails[type eq "work"'))).toMatch(/"\[" at position 7 is not closed/);
    expect(invalid(() => u('emails[value[type eq "x"] pr]'))).toMatch(/cannot hold another "\["/);
    expect(invalid(() => u('userName[type eq "x"]'))).toMatch(/multi-valued/);
    expect(invalid(() => u('emails[bogus eq "x"]'))).toMatch(/"bogus" is not a sub-attribute of emails/);
    expect(invalid(() => u('not userName eq "a"'))).toMatch(/"not" must be followed by a filter in parentheses/);
    expect(invalid(() => g('members[value eq "x" and'))).toMatch(/a comparison is missing/);
    expect(invalid(() => g('title eq "x"'))).toMatch(/Group resources have no attribute "title"/);
  });

  it('stays linear and bounded on hostile input', () => {
    const started = performance.now();
    invalid(() => u('a'.repeat(5000)));
    invalid(() => u('['.repeat(4000)));
    invalid(() => u('('.repeat(4000)));
    invalid(() => u(`userName eq "${'\\'.repeat(4000)}`));
    invalid(() => u(Array.from({ length: 70 }, () => 'id eq "1"').join(' and ')));
    expect(invalid(() => u(`${'('.repeat(40)}title pr${')'.repeat(40)}`))).toMatch(/nest at most 32/);
    expect(performance.now() - started).toBeLessThan(200);
  });

  it('reads sortBy and sortOrder', () => {
    expect(parseSort('userName', null, 'User')).toEqual({ attr: userName, descending: false });
    expect(parseSort('meta.lastModified', 'Descending', 'User')).toMatchObject({ attr: { path: ['meta', 'lastModified'] }, descending: true });
    expect(parseSort('emails', null, 'User')).toMatchObject({ attr: { path: ['emails', 'value'], multiValued: true } });
    expect(parseSort(null, null, 'User')).toBeUndefined();
    expect(() => parseSort('bogus', null, 'User')).toThrow(/no attribute "bogus"/);
    expect(() => parseSort('userName', 'sideways', 'User')).toThrow(/ascending/);
  });
});

describe('PATCH value paths (Entra)', () => {
  it('still reads the value paths of PATCH', () => {
    expect(parseValuePath('emails[type eq "work"].value')).toEqual({ attr: 'emails', filterAttr: 'type', filterValue: 'work', sub: 'value' });
    expect(parseValuePath('members[value eq "U-Mixed-Case"]')).toEqual({ attr: 'members', filterAttr: 'value', filterValue: 'U-Mixed-Case' });
  });
});
