import { describe, expect, it } from 'vitest';
import { parseAdminCsv, parseCsv } from '../../src/directory/csv.js';
import { UsageError } from '../../src/errors.js';

describe('the admin import CSV', () => {
  it('reads quoted fields with commas, quotes and line breaks, CRLF and a BOM', () => {
    expect(parseCsv('\ufeffa,"b, ""c""",d\r\n"multi\nline",x,y\n\n')).toEqual([
      { line: 1, fields: ['a', 'b, "c"', 'd'] },
      { line: 2, fields: ['multi\nline', 'x', 'y'] },
    ]);
  });

  it('turns rows into users and groups', () => {
    const rows = parseAdminCsv(
      'Type,Name,Display Name,Email,Active,Members\n' +
        'user,bob@contoso.com,"Bob, Jr.",bob@contoso.com,no,\n' +
        'group,Sales,,,,bob@contoso.com; ann@contoso.com\n',
      'people.csv',
    );
    expect(rows).toEqual([
      { line: 2, type: 'user', name: 'bob@contoso.com', displayName: 'Bob, Jr.', email: 'bob@contoso.com', active: false },
      { line: 3, type: 'group', name: 'Sales', members: ['bob@contoso.com', 'ann@contoso.com'] },
    ]);
  });

  it('names the file and line of a mistake', () => {
    const fail = (text: string) => {
      try {
        parseAdminCsv(text, 'people.csv');
      } catch (error) {
        expect(error).toBeInstanceOf(UsageError);
        return (error as Error).message;
      }
      throw new Error('expected a UsageError');
    };
    expect(fail('type,name,colour\n')).toBe('people.csv: unknown column "colour" on line 1.');
    expect(fail('type,name\nuser,a\nrobot,b\n')).toBe('people.csv line 3: type must be "user" or "group", not "robot".');
    expect(fail('type,name\nuser,a\nuser,A\n')).toBe('people.csv line 3: the user "A" is already on line 2.');
    expect(fail('type,name,email\nuser,a,not-an-email\n')).toMatch(/line 2: "not-an-email" is not an email/);
    expect(fail('type,name\nuser,"a\n')).toMatch(/never closes/);
    expect(fail('')).toMatch(/empty/);
  });
});
