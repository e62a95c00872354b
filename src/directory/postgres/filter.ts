import type { Filter, FilterAttribute, SortSpec } from '../store.js';

/**
 * A resolved SCIM filter (store.ts `Filter`) → a PostgreSQL WHERE clause with bound arguments ($n);
 * the mirror of ../sqlite/filter.ts.
 *
 * Attributes with a column of their own use it (a case-insensitive attribute's column holds its
 * lower-cased text, and the value is lower-cased in JS to match), so Entra's lookups stay index
 * lookups. Every other attribute is read from the resource's JSON (`data::jsonb #>> path`); a
 * multi-valued one through jsonb_array_elements (or group_members for members), as "some element
 * matches". Case-insensitive comparison there is lower() of the attribute against the value
 * lower-cased in JS. Ordering comparisons and ORDER BY use the "C" collation: code-point order,
 * as SQLite compares, whatever the database's default collation.
 *
 * Each comparison is two-valued (never NULL), so `not (…)` means what it says.
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
      '(SELECT x.d FROM (SELECT coalesce(u.display_name, u.user_name) AS d FROM users u WHERE u.id = m.member_id UNION ALL ' +
      'SELECT g.display_name FROM groups g WHERE g.id = m.member_id) AS x LIMIT 1)',
  },
  type: { expr: "(CASE WHEN EXISTS (SELECT 1 FROM users u WHERE u.id = m.member_id) THEN 'User' ELSE 'Group' END)", notNull: true },
};

const sqlText = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** ARRAY['name','familyName'], ARRAY['urn:…:enterprise:2.0:User','department'], ARRAY['emails','0','value']. */
function jsonPath(path: string[], firstElement = false): string {
  const parts: string[] = [];
  path.forEach((name, i) => {
    parts.push(sqlText(name));
    if (firstElement && i === 0) parts.push("'0'");
  });
  return `ARRAY[${parts.join(', ')}]::text[]`;
}

/** A JSON value as jsonb (`json`) or as text (`text`). */
const jsonAt = (doc: string, path: string[], as: 'json' | 'text', firstElement = false) =>
  `(${doc} ${as === 'json' ? '#>' : '#>>'} ${jsonPath(path, firstElement)})`;

export interface SqlFilter {
  sql: string;
  args: unknown[];
}

export function filterSql(filter: Filter, table: FilterTable, args: unknown[] = []): SqlFilter {
  const sql = new Translator(table, args).node(filter);
  return { sql, args };
}

/** ORDER BY for `sortBy`/`sortOrder`: resources without the attribute come last; ties keep creation order. */
export function orderSql(sort: SortSpec | undefined, table: FilterTable): string {
  if (!sort) return `${table}.seq`;
  const { attr } = sort;
  const column = COLUMNS[table][attr.path.join('.')];
  let expr: string;
  if (column) expr = column.bool ? column.expr : `${column.expr} COLLATE "C"`;
  else if (table === 'groups' && attr.path[0] === 'members') return `${table}.seq`;
  else {
    expr = jsonAt(`${table}.data::jsonb`, attr.path, 'text', attr.multiValued);
    if (attr.type === 'string' && !attr.caseExact) expr = `lower(${expr})`;
    expr = `${expr} COLLATE "C"`;
  }
  return `(${expr} IS NULL), ${expr} ${sort.descending ? 'DESC' : 'ASC'}, ${table}.seq`;
}

type Element = { columns?: Record<string, Column>; json?: string };

class Translator {
  constructor(
    readonly table: FilterTable,
    readonly args: unknown[],
  ) {}

  /** Binds a value; returns its placeholder. */
  bind(value: unknown): string {
    this.args.push(value);
    return `$${this.args.length}`;
  }

  node(f: Filter, element?: Element): string {
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
        return this.compare(f.op, f.attr, f.value, element);
    }
  }

  /** The document an attribute is read from: the resource's JSON, or the element in an `any`. */
  private doc(element?: Element): string {
    return element?.json ?? `${this.table}.data::jsonb`;
  }

  /** The column or JSON text expression of an attribute (of the resource, or of the element in an `any`). */
  column(attr: FilterAttribute, element?: Element): Column {
    if (element?.columns) return element.columns[attr.path[0]!] ?? { expr: 'NULL::text' };
    if (!element) {
      const own = COLUMNS[this.table][attr.path.join('.')];
      if (own) return own;
    }
    return { expr: jsonAt(this.doc(element), attr.path, 'text') };
  }

  any(attr: FilterAttribute, inner: Filter): string {
    if (this.table === 'groups' && attr.path[0] === 'members') {
      return `groups.id IN (SELECT m.group_id FROM group_members m WHERE ${this.node(inner, { columns: MEMBER_COLUMNS })})`;
    }
    // Entra's lookup by work email: its own indexed column (the user's first work email).
    if (this.table === 'users' && attr.path[0] === 'emails' && inner.op === 'and') {
      const parts = [inner.left, inner.right];
      const type = parts.find((p) => p.op === 'eq' && p.attr.path[0] === 'type' && typeof p.value === 'string' && p.value.toLowerCase() === 'work');
      const value = parts.find((p) => p !== type && p.op === 'eq' && p.attr.path[0] === 'value' && typeof p.value === 'string');
      if (type && value && value.op === 'eq') {
        return `(users.work_email_lc IS NOT NULL AND users.work_email_lc = ${this.bind((value.value as string).toLowerCase())})`;
      }
    }
    const v = jsonAt(`${this.table}.data::jsonb`, attr.path, 'json');
    const elements = `(CASE jsonb_typeof(${v}) WHEN 'array' THEN ${v} WHEN 'object' THEN jsonb_build_array(${v}) ELSE '[]'::jsonb END)`;
    return `EXISTS (SELECT 1 FROM jsonb_array_elements(${elements}) AS e(value) WHERE ${this.node(inner, { json: 'e.value' })})`;
  }

  present(attr: FilterAttribute, element?: Element): string {
    if (!element && attr.path[0] === 'meta') return 'TRUE';
    if (!element && attr.multiValued && attr.path.length === 1) {
      if (this.table === 'groups' && attr.path[0] === 'members') return '(groups.member_count > 0)';
      const v = jsonAt(`${this.table}.data::jsonb`, attr.path, 'json');
      return `(coalesce(jsonb_array_length(CASE WHEN jsonb_typeof(${v}) = 'array' THEN ${v} END), 0) > 0)`;
    }
    if (attr.type === 'complex' && !element?.columns) {
      const v = jsonAt(this.doc(element), attr.path, 'json');
      return `(coalesce(jsonb_typeof(${v}), '') = 'object' AND ${v} <> '{}'::jsonb)`;
    }
    const c = this.column(attr, element);
    if (attr.type === 'boolean') {
      if (c.notNull) return 'TRUE';
      if (!c.bool && !element?.columns) return `(${jsonAt(this.doc(element), attr.path, 'json')} IS NOT NULL AND ${jsonAt(this.doc(element), attr.path, 'json')} <> 'null'::jsonb)`;
      return `(${c.expr} IS NOT NULL)`;
    }
    return c.notNull ? `(${c.expr} <> '')` : `(${c.expr} IS NOT NULL AND ${c.expr} <> '')`;
  }

  compare(op: string, attr: FilterAttribute, value: unknown, element?: Element): string {
    const c = this.column(attr, element);
    const E = c.expr;
    if (value === null) return op === 'eq' ? `(${E} IS NULL)` : `(${E} IS NOT NULL)`;
    if (attr.type === 'boolean') {
      let test: string;
      if (c.bool) test = `${E} = ${value ? 1 : 0}`;
      else if (element?.columns) test = 'FALSE';
      else test = `coalesce(${jsonAt(this.doc(element), attr.path, 'json')} = '${value ? 'true' : 'false'}'::jsonb, FALSE)`;
      return op === 'ne' ? `(NOT ${test})` : `(${test})`;
    }
    const fold = attr.type === 'string' && !attr.caseExact;
    const text = String(value);
    const arg = fold ? text.toLowerCase() : text;
    const X = fold && !c.folded ? `lower(${E})` : E;
    const guard = (test: string) => (c.notNull ? `(${test})` : `(${E} IS NOT NULL AND ${test})`);
    switch (op) {
      case 'eq':
        return guard(`${X} = ${this.bind(arg)}`);
      case 'ne':
        return c.notNull ? `(${X} <> ${this.bind(arg)})` : `(${E} IS NULL OR ${X} <> ${this.bind(arg)})`;
      case 'co':
        if (!arg) return `(${E} IS NOT NULL)`;
        return guard(`strpos(${X}, ${this.bind(arg)}) > 0`);
      case 'sw':
        if (!arg) return `(${E} IS NOT NULL)`;
        return guard(`starts_with(${X}, ${this.bind(arg)})`);
      case 'ew':
        if (!arg) return `(${E} IS NOT NULL)`;
        return guard(`right(${X}, ${this.bind([...arg].length)}::int) = ${this.bind(arg)}`);
      case 'gt':
      case 'ge':
      case 'lt':
      case 'le': {
        const sign = { gt: '>', ge: '>=', lt: '<', le: '<=' }[op];
        return guard(`${X} COLLATE "C" ${sign} ${this.bind(arg)}`);
      }
      default:
        throw new Error(`unknown filter operator ${op}`);
    }
  }
}
