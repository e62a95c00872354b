import { UsageError } from '../errors.js';
import type { AdminImportRow } from './store.js';

/** RFC 4180 records: quoted fields may hold commas, quotes ("") and line breaks. Each record keeps its first line number. */
export function parseCsv(text: string): { line: number; fields: string[] }[] {
  const records: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let recordLine = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endRecord = () => {
    fields.push(field);
    if (fields.length > 1 || fields[0]!.trim() !== '') records.push({ line: recordLine, fields });
    fields = [];
    field = '';
  };
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
      continue;
    }
    if (c === '"' && field.trim() === '') {
      quoted = true;
      field = '';
    } else if (c === ',') {
      fields.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      recordLine = line;
    } else field += c;
  }
  if (quoted) throw new UsageError(`The CSV has a quoted field that never closes (it starts on line ${recordLine}).`);
  if (field !== '' || fields.length) endRecord();
  return records;
}

const COLUMNS = ['type', 'name', 'displayname', 'email', 'active', 'members'] as const;
export const CSV_HELP =
  'The first line names the columns: type,name,displayName,email,active,members — type is "user" or "group"; ' +
  'name is the userName of a user or the name of a group; members lists userNames separated by ";".';

/** The rows of `dirsync directory import FILE.csv`, validated; errors name the line. */
export function parseAdminCsv(text: string, file: string): AdminImportRow[] {
  const records = parseCsv(text);
  const header = records.shift();
  if (!header) throw new UsageError(`${file} is empty.`, { hint: CSV_HELP });
  const columns = header.fields.map((f) => f.trim().toLowerCase().replace(/[\s_-]/g, ''));
  const unknown = columns.filter((c) => !(COLUMNS as readonly string[]).includes(c));
  if (unknown.length || !columns.includes('type') || !columns.includes('name')) {
    throw new UsageError(
      unknown.length
        ? `${file}: unknown column${unknown.length > 1 ? 's' : ''} ${unknown.map((c) => `"${c}"`).join(', ')} on line ${header.line}.`
        : `${file}: the columns "type" and "name" are required (line ${header.line}).`,
      { hint: CSV_HELP },
    );
  }
  const seen = new Map<string, number>();
  return records.map(({ line, fields }) => {
    const get = (name: (typeof COLUMNS)[number]) => {
      const index = columns.indexOf(name);
      return index < 0 ? '' : (fields[index] ?? '').trim();
    };
    const bad = (what: string) => new UsageError(`${file} line ${line}: ${what}`, { hint: CSV_HELP });
    if (fields.length > columns.length) throw bad(`${fields.length} fields, but the header has ${columns.length}.`);
    const type = get('type').toLowerCase();
    if (type !== 'user' && type !== 'group') throw bad(`type must be "user" or "group", not "${get('type')}".`);
    const name = get('name');
    if (!name) throw bad('name is empty.');
    const key = `${type}:${name.toLowerCase()}`;
    if (seen.has(key)) throw bad(`the ${type} "${name}" is already on line ${seen.get(key)}.`);
    seen.set(key, line);
    const row: AdminImportRow = { line, type, name };
    const displayName = get('displayname');
    const email = get('email');
    const active = get('active').toLowerCase();
    const members = get('members');
    if (type === 'user') {
      if (displayName) row.displayName = displayName;
      if (email) {
        if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw bad(`"${email}" is not an email address.`);
        row.email = email;
      }
      if (active) {
        if (!['true', 'false', 'yes', 'no', '1', '0'].includes(active)) throw bad(`active must be true or false, not "${get('active')}".`);
        row.active = ['true', 'yes', '1'].includes(active);
      }
      if (members) throw bad('members is only for groups.');
    } else if (members) {
      row.members = members.split(';').map((m) => m.trim()).filter(Boolean);
    }
    return row;
  });
}
