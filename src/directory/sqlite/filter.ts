import type { Filter, FilterAttribute, SortSpec } from '../store.js';

/**
 * A resolved SCIM filter (store.ts `Filter`) → a SQLite WHERE clause with bound arguments.
 *
 * Attributes with a column of their own use it, so the lookups Entra sends (`userName eq`,
 * `externalId eq`, `displayName eq`, `emails[type eq "work"].value eq`, `members[value eq]`) stay
 * index lookups: a case-insensitive attribute's column holds its lower-cased text, and the value is
 * lower-cased in JS to match. Every other attribute is read from the resource's JSON (`data`) with
 * json_extract; a multi-valued one through json_each (or group_members for members), as "some
 * element matches". Case-insensitive comparison there goes through `scim_lower` (JavaScript's
 * toLowerCase, registered on the connection, so it folds exactly as the columns were folded).
 *
 * Each comparison is two-valued (never NULL: an absent attribute makes `eq` false and `ne` true), so
 * `not (…)` means what it says. Values are always bound; the SQL text depends only on the filter's
 * shape, so the statement cache serves every filter of one shape (Entra sends a handful).
 */

export type FilterTable = 'users' | 'groups';

interface Column {
  expr: string;
  /** The column holds lower-cased text (compare with a lower-cased value). */
  folded?: boolean;
  notNull?: boolean;
  /** An INTEGER 0/1 column. */
  bool?: boolean;
}

const COLUMNS: Record<FilterTable, Record<string, Column>> = {
  users: {
    id: { expr: 'users.id', notNull: true },
    userName: { expr: 'users.user_name_lc', folded: true, notNull: true },
    externalId: { expr: 'users.external_id' },
    displayName: { expr: 'users.display_name_lc', folded: true },
    active: { expr: 'users.active', notNull: true, bool: true },
    'meta.created': { expr: 'users.created_at', notNull: true },
    'meta.lastModified': { expr: 'users.updated_at', notNull: true },
  },
  groups: {
    id: { expr: 'groups.id', notNull: true },
    displayName: { expr: 'groups.display_name_lc', folded: true, notNull: true },
    externalId: { expr: 'groups.external_id' },
    'meta.created': { expr: 'groups.created_at', notNull: true },
    'meta.lastModified': { expr: 'groups.updated_at', notNull: true },
  },
};

/** The sub-attributes of a group's members, from group_members `m`. */
const MEMBER_COLUMNS: Record<string, Column> = {
  value: { expr: 'm.member_id', notNull: true },
  display: {
    expr:
      '(SELECT coalesce(u.display_name, u.user_name) FROM users u WHERE u.id = m.member_id UNION ALL ' +
      'SELECT g.display_name FROM groups g WHERE g.id = m.member_id LIMIT 1)',
  },
  type: { expr: "(CASE WHEN EXISTS (SELECT 1 FROM users u WHERE u.id = m.member_id) THEN 'User' ELSE 'Group' END)", notNull: true },
};

const sqlText = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** `$.name.familyName`, `$."urn:…:enterprise:2.0:User".department`, `$.emails[0].value`. */
function jsonPath(path: string[], firstElement = false): string {
  let out = '$';
  path.forEach((name, i) => {
    out += /^[A-Za-z_$][\w$]*$/.test(name) ? `.${name}` : `."${name}"`;
    if (firstElement && i === 0) out += '[0]';
  });
  return out;
}

export interface SqlFilter {
  sql: string;
  args: unknown[];
}

export function filterSql(filter: Filter, table: FilterTable): SqlFilter {
  const args: unknown[] = [];
  const sql = new Translator(table, args).node(filter);
  return { sql, args };
}

/** ORDER BY for `sortBy`/`sortOrder`: resources without the attribute come last; ties keep creation order. */
export function orderSql(sort: SortSpec | undefined, table: FilterTable): string {
  if (!sort) return `${table}.seq`;
  const { attr } = sort;
  const column = COLUMNS[table][attr.path.join('.')];
  let expr: string;
  if (column) expr = column.expr;
  else if (table === 'groups' && attr.path[0] === 'members') return `${table}.seq`;
  else {
    expr = `json_extract(${table}.data, ${sqlText(jsonPath(attr.path, attr.multiValued))})`;
    if (attr.type === 'string' && !attr.caseExact) expr = `scim_lower(${expr})`;
  }
  return `(${expr} IS NULL), ${expr} ${sort.descending ? 'DESC' : 'ASC'}, ${table}.seq`;
}

class Translator {
  constructor(
    readonly table: FilterTable,
    readonly args: unknown[],
  ) {}

  node(f: Filter, element?: { columns?: Record<string, Column>; json?: string }): string {
    switch (f.op) {
      case 'and':
      case 'or':
        return `(${this.node(f.left, element)} ${f.op.toUpperCase()} ${this.node(f.right, element)})`;
      case 'not':
        return `(NOT ${this.node(f.filter, element)})`;
      case 'any':
        return this.any(f.attr, f.filter);
      case 'pr':
        return this.present(f.attr, element);
      default:
        return this.compare(f.op, f.attr, f.value, this.column(f.attr, element));
    }
  }

  /** The column or JSON expression of an attribute (of the resource, or of the element in an `any`). */
  column(attr: FilterAttribute, element?: { columns?: Record<string, Column>; json?: string }): Column {
    if (element?.columns) return element.columns[attr.path[0]!] ?? { expr: 'NULL' };
    if (element?.json) return { expr: `json_extract(${element.json}, ${sqlText(jsonPath(attr.path))})` };
    return COLUMNS[this.table][attr.path.join('.')] ?? { expr: `json_extract(${this.table}.data, ${sqlText(jsonPath(attr.path))})` };
  }

  any(attr: FilterAttribute, inner: Filter): string {
    if (this.table === 'groups' && attr.path[0] === 'members') {
      // IN rather than a correlated EXISTS: a lookup by member id then starts from the member index.
      return `groups.id IN (SELECT m.group_id FROM group_members m WHERE ${this.node(inner, { columns: MEMBER_COLUMNS })})`;
    }
    // Entra's lookup by work email: its own indexed column (the user's first work email).
    if (this.table === 'users' && attr.path[0] === 'emails' && inner.op === 'and') {
      const parts = [inner.left, inner.right];
      const type = parts.find((p) => p.op === 'eq' && p.attr.path[0] === 'type' && typeof p.value === 'string' && p.value.toLowerCase() === 'work');
      const value = parts.find((p) => p !== type && p.op === 'eq' && p.attr.path[0] === 'value' && typeof p.value === 'string');
      if (type && value && value.op === 'eq') {
        this.args.push((value.value as string).toLowerCase());
        return '(users.work_email_lc IS NOT NULL AND users.work_email_lc = ?)';
      }
    }
    const path = sqlText(jsonPath(attr.path));
    return `EXISTS (SELECT 1 FROM json_each(${this.table}.data, ${path}) AS e WHERE ${this.node(inner, { json: 'e.value' })})`;
  }

  present(attr: FilterAttribute, element?: { columns?: Record<string, Column>; json?: string }): string {
    if (!element && attr.path[0] === 'meta') return '1';
    if (!element && attr.multiValued && attr.path.length === 1) {
      if (this.table === 'groups' && attr.path[0] === 'members') return '(groups.member_count > 0)';
      return `(coalesce(json_array_length(${this.table}.data, ${sqlText(jsonPath(attr.path))}), 0) > 0)`;
    }
    const c = this.column(attr, element);
    if (attr.type === 'complex') {
      const at = sqlText(jsonPath(attr.path));
      return `(coalesce(json_type(${this.table}.data, ${at}), '') = 'object' AND json_extract(${this.table}.data, ${at}) <> '{}')`;
    }
    if (attr.type === 'boolean') return c.notNull ? '1' : `(${c.expr} IS NOT NULL)`;
    return c.notNull ? `(${c.expr} <> '')` : `(${c.expr} IS NOT NULL AND ${c.expr} <> '')`;
  }

  compare(op: string, attr: FilterAttribute, value: unknown, c: Column): string {
    const E = c.expr;
    if (value === null) return op === 'eq' ? `(${E} IS NULL)` : `(${E} IS NOT NULL)`;
    if (attr.type === 'boolean') {
      const test = c.bool ? `${E} = ${value ? 1 : 0}` : `coalesce(${E} = ${value ? 1 : 0}, 0)`;
      return op === 'ne' ? `(NOT ${test})` : `(${test})`;
    }
    const fold = attr.type === 'string' && !attr.caseExact;
    const text = String(value);
    const arg = fold ? text.toLowerCase() : text;
    const X = fold && !c.folded ? `scim_lower(${E})` : E;
    const guard = (test: string) => (c.notNull ? `(${test})` : `(${E} IS NOT NULL AND ${test})`);
    switch (op) {
      case 'eq':
        this.args.push(arg);
        return guard(`${X} = ?`);
      case 'ne':
        this.args.push(arg);
        return c.notNull ? `(${X} <> ?)` : `(${E} IS NULL OR ${X} <> ?)`;
      case 'co':
        if (!arg) return `(${E} IS NOT NULL)`;
        this.args.push(arg);
        return guard(`instr(${X}, ?) > 0`);
      case 'sw':
        if (!arg) return `(${E} IS NOT NULL)`;
        this.args.push([...arg].length, arg);
        return guard(`substr(${X}, 1, ?) = ?`);
      case 'ew':
        if (!arg) return `(${E} IS NOT NULL)`;
        this.args.push(-[...arg].length, arg);
        return guard(`substr(${X}, ?) = ?`);
      case 'gt':
      case 'ge':
      case 'lt':
      case 'le': {
        this.args.push(arg);
        const sign = { gt: '>', ge: '>=', lt: '<', le: '<=' }[op];
        return guard(`${X} ${sign} ?`);
      }
      default:
        throw new Error(`unknown filter operator ${op}`);
    }
  }
}
