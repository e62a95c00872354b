import { describe, expect, it } from 'vitest';
import { groupConditions, parseFilter, userConditions } from '../../src/scim/filter.js';
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

describe('SCIM filters as Entra sends them', () => {
  it('reads Test Connection and matching filters, quoted or raw', () => {
    expect(userConditions('userName eq "0ab1c2d3-e4f5-4789-9abc-def012345678"')).toEqual([
      { attr: 'userName', value: '0ab1c2d3-e4f5-4789-9abc-def012345678' },
    ]);
    expect(userConditions('userName eq alice@contoso.com')).toEqual([{ attr: 'userName', value: 'alice@contoso.com' }]);
    expect(userConditions('externalId EQ "abc" and UserName eq "Bob@X.com"')).toEqual([
      { attr: 'externalId', value: 'abc' },
      { attr: 'userName', value: 'Bob@X.com' },
    ]);
    expect(userConditions('emails[type eq "work"].value eq "a@b.c"')).toEqual([{ attr: 'workEmail', value: 'a@b.c' }]);
    expect(userConditions('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x"')).toEqual([{ attr: 'userName', value: 'x' }]);
  });

  it('keeps spaces, quotes and escapes inside quoted values', () => {
    expect(groupConditions('displayName eq "Sales \\"EMEA\\" and more"')).toEqual([
      { attr: 'displayName', value: 'Sales "EMEA" and more' },
    ]);
  });

  it('reads group filters, including membership checks in either form', () => {
    expect(groupConditions('displayName eq "Engineering"')).toEqual([{ attr: 'displayName', value: 'Engineering' }]);
    expect(groupConditions('id eq "g1" and members eq "u1"')).toEqual([
      { attr: 'id', value: 'g1' },
      { attr: 'member', value: 'u1' },
    ]);
    expect(groupConditions('members[value eq "U-Mixed-Case"]')).toEqual([{ attr: 'member', value: 'U-Mixed-Case' }]);
  });

  it('rejects what it does not support with 400 invalidFilter naming the problem', () => {
    expect(invalid(() => userConditions('userName ne "x"'))).toContain('"ne"');
    expect(invalid(() => userConditions('userName eq "x" or userName eq "y"'))).toContain('"or"');
    expect(invalid(() => userConditions('(userName eq "x")'))).toContain('parentheses');
    expect(invalid(() => userConditions('title eq "x"'))).toContain('title');
    expect(invalid(() => userConditions('userName eq "unterminated'))).toContain('closing quote');
    expect(invalid(() => userConditions('userName pr'))).toContain('"pr"');
    expect(invalid(() => userConditions(''))).toContain('empty');
    expect(invalid(() => userConditions('userName eq "x" and'))).toContain('ends with');
    expect(invalid(() => groupConditions('members[value eq "x"'))).toContain('"["');
  });

  it('stays linear on hostile input', () => {
    const started = performance.now();
    invalid(() => parseFilter('a'.repeat(5000)));
    invalid(() => parseFilter('['.repeat(4000)));
    invalid(() => parseFilter(`userName eq "${'\\'.repeat(4000)}`));
    invalid(() => parseFilter(Array.from({ length: 40 }, () => 'id eq "1"').join(' and ')));
    expect(performance.now() - started).toBeLessThan(200);
  });
});
