import type { CompareOp, Filter, FilterAttribute, FilterValue, SortSpec } from '../directory/store.js';
import { invalidFilter, invalidValue } from './errors.js';
import { CORE_GROUP, CORE_USER, ENTERPRISE_USER } from './patch.js';

/**
 * The whole filter grammar of RFC 7644 §3.4.2.2 for list GETs on /Users and /Groups:
 *
 *   FILTER    = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"
 *   valuePath = attrPath "[" valFilter "]"        (Entra also sends `emails[type eq "work"].value eq "…"`)
 *   attrExp   = attrPath SP "pr" / attrPath SP compareOp SP compValue
 *   compareOp = eq ne co sw ew gt lt ge le;  logExp = FILTER SP ("and" / "or") SP FILTER
 *   compValue = false / null / true / number / string
 *   attrPath  = [URI ":"] ATTRNAME *1("." ATTRNAME)
 *
 * `not` binds tighter than `and`, which binds tighter than `or`; operators and attribute names are
 * case-insensitive. Attributes are resolved against the schema of /Schemas, so the result names
 * each attribute canonically with its type and caseExact (see FilterAttribute in the store); the
 * store turns that into SQL. What cannot be read is 400 `invalidFilter` saying where. Linear in the
 * filter's length, with bounds on length, depth and the number of comparisons.
 */
export const MAX_FILTER_LENGTH = 4096;
const MAX_DEPTH = 32;
const MAX_COMPARISONS = 64;

// --- The schema as filters see it ------------------------------------------------------------------

interface AttrSchema {
  name: string;
  type: FilterAttribute['type'];
  caseExact?: boolean;
  multiValued?: boolean;
  subs?: AttrSchema[];
}

const str = (name: string, caseExact = false): AttrSchema => ({ name, type: 'string', caseExact });
const bool = (name: string): AttrSchema => ({ name, type: 'boolean' });
const multi = (name: string, subs: AttrSchema[]): AttrSchema => ({ name, type: 'complex', multiValued: true, subs });
const complex = (name: string, subs: AttrSchema[]): AttrSchema => ({ name, type: 'complex', subs });
const PLURAL = [str('value'), str('type'), str('display'), bool('primary')];
const META = complex('meta', [
  { name: 'created', type: 'dateTime' },
  { name: 'lastModified', type: 'dateTime' },
]);

const USER_SCHEMA: AttrSchema[] = [
  str('id', true),
  str('externalId', true),
  str('userName'),
  str('displayName'),
  complex('name', ['formatted', 'familyName', 'givenName', 'middleName', 'honorificPrefix', 'honorificSuffix'].map((n) => str(n))),
  ...['nickName', 'profileUrl', 'title', 'userType', 'preferredLanguage', 'locale', 'timezone'].map((n) => str(n)),
  bool('active'),
  multi('emails', PLURAL),
  multi('phoneNumbers', PLURAL),
  multi('ims', PLURAL),
  multi('photos', PLURAL),
  multi('addresses', [
    ...['formatted', 'streetAddress', 'locality', 'region', 'postalCode', 'country', 'type'].map((n) => str(n)),
    bool('primary'),
  ]),
  META,
];

const ENTERPRISE_SCHEMA: AttrSchema[] = [
  ...['employeeNumber', 'costCenter', 'organization', 'division', 'department'].map((n) => str(n)),
  complex('manager', [str('value', true), str('displayName')]),
];

const GROUP_SCHEMA: AttrSchema[] = [
  str('id', true),
  str('externalId', true),
  str('displayName'),
  multi('members', [str('value', true), str('display'), str('type')]),
  META,
];

export type ResourceKind = 'User' | 'Group';

const SCHEMAS: Record<ResourceKind, { core: string; attrs: AttrSchema[]; extensions: Record<string, AttrSchema[]> }> = {
  User: { core: CORE_USER, attrs: USER_SCHEMA, extensions: { [ENTERPRISE_USER.toLowerCase()]: ENTERPRISE_SCHEMA } },
  Group: { core: CORE_GROUP, attrs: GROUP_SCHEMA, extensions: {} },
};

const find = (list: AttrSchema[] | undefined, name: string) => list?.find((a) => a.name.toLowerCase() === name.toLowerCase());

// --- Reading ---------------------------------------------------------------------------------------

const OPERATORS = new Set(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'lt', 'ge', 'le', 'pr']);
const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r';
const isLetter = (code: number) => (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
const isNameStart = (c: string | undefined) => c !== undefined && (isLetter(c.charCodeAt(0)) || c === '$');
/** Characters of an attribute path, URN prefix included (`urn:…:2.0:User:manager.value`): [\w$:.-]. */
function isPathChar(c: string | undefined): boolean {
  if (c === undefined) return false;
  const code = c.charCodeAt(0);
  return isLetter(code) || (code >= 48 && code <= 58) /* 0-9 : */ || c === '_' || c === '$' || c === '.' || c === '-';
}

/** What was written, before it is checked against the schema. */
type RawPath = { text: string; at: number };
type RawFilter =
  | { op: 'and' | 'or'; left: RawFilter; right: RawFilter }
  | { op: 'not'; filter: RawFilter }
  | { op: 'pr'; path: RawPath }
  | { op: CompareOp; path: RawPath; value: FilterValue; valueAt: number }
  | { op: 'valuePath'; path: RawPath; filter: RawFilter; sub?: RawPath; then?: { op: CompareOp | 'pr'; value?: FilterValue; valueAt: number } };

const near = (text: string, at: number) => {
  if (at >= text.length) return 'at the end';
  const piece = text.slice(at, at + 20);
  return `at position ${at + 1} (near "${piece}${text.length > at + 20 ? '…' : ''}")`;
};

class Reader {
  i = 0;
  depth = 0;
  comparisons = 0;
  constructor(readonly text: string) {}

  fail(message: string, at = this.i): never {
    throw invalidFilter(`Invalid filter ${near(this.text, at)}: ${message}`);
  }

  skip(): void {
    while (isSpace(this.text[this.i])) this.i++;
  }

  /** A word made of letters (an operator or keyword), without moving. */
  peekWord(): string {
    let j = this.i;
    while (j < this.text.length && isLetter(this.text.charCodeAt(j))) j++;
    const next = this.text[j];
    // A keyword ends at a space, a parenthesis, a bracket, a quote or the end.
    if (next !== undefined && !isSpace(next) && !'()[]"'.includes(next)) return '';
    return this.text.slice(this.i, j).toLowerCase();
  }

  filter(): RawFilter {
    if (++this.depth > MAX_DEPTH) this.fail(`filters may nest at most ${MAX_DEPTH} deep`);
    let left = this.andExpr();
    for (;;) {
      this.skip();
      if (this.peekWord() !== 'or') break;
      this.i += 2;
      left = { op: 'or', left, right: this.andExpr() };
    }
    this.depth--;
    return left;
  }

  andExpr(): RawFilter {
    let left = this.unary();
    for (;;) {
      this.skip();
      if (this.peekWord() !== 'and') break;
      this.i += 3;
      left = { op: 'and', left, right: this.unary() };
    }
    return left;
  }

  unary(): RawFilter {
    this.skip();
    if (this.i >= this.text.length) this.fail('a comparison is missing (e.g. userName eq "alice@contoso.com")');
    if (this.peekWord() === 'not') {
      this.i += 3;
      this.skip();
      if (this.text[this.i] !== '(') this.fail('"not" must be followed by a filter in parentheses, e.g. not (title pr)');
      return { op: 'not', filter: this.group() };
    }
    if (this.text[this.i] === '(') return this.group();
    return this.comparison();
  }

  group(): RawFilter {
    const open = this.i;
    this.i++; // (
    const inner = this.filter();
    this.skip();
    if (this.text[this.i] !== ')') this.fail(`the "(" at position ${open + 1} is not closed`);
    this.i++;
    return inner;
  }

  path(): RawPath {
    const at = this.i;
    if (!isNameStart(this.text[this.i])) this.fail('an attribute name was expected (it starts with a letter)');
    while (isPathChar(this.text[this.i])) this.i++;
    return { text: this.text.slice(at, this.i), at };
  }

  comparison(): RawFilter {
    const path = this.path();
    if (this.text[this.i] === '[') {
      const open = this.i;
      this.i++;
      if (this.inBrackets) this.fail('a value filter cannot hold another "["', open);
      this.inBrackets = true;
      const inner = this.filter();
      this.inBrackets = false;
      this.skip();
      if (this.text[this.i] !== ']') this.fail(`the "[" at position ${open + 1} is not closed`);
      this.i++;
      if (this.text[this.i] !== '.') return { op: 'valuePath', path, filter: inner };
      this.i++;
      const sub = this.path();
      const then = this.operatorAndValue(sub);
      return { op: 'valuePath', path, filter: inner, sub, then };
    }
    const { op, value, valueAt } = this.operatorAndValue(path);
    if (op === 'pr') return { op: 'pr', path };
    return { op, path, value: value!, valueAt };
  }

  inBrackets = false;

  operatorAndValue(path: RawPath): { op: CompareOp | 'pr'; value?: FilterValue; valueAt: number } {
    if (!isSpace(this.text[this.i]) && this.i < this.text.length) this.fail(`"${this.text[this.i]}" cannot follow the attribute name "${path.text}"`);
    this.skip();
    const opAt = this.i;
    const word = this.peekWord();
    if (!word) this.fail(`an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) must follow "${path.text}"`);
    if (!OPERATORS.has(word)) this.fail(`"${word}" is not an operator; use eq, ne, co, sw, ew, gt, ge, lt, le or pr`, opAt);
    this.i += word.length;
    if (++this.comparisons > MAX_COMPARISONS) this.fail(`a filter may hold at most ${MAX_COMPARISONS} comparisons`, opAt);
    if (word === 'pr') return { op: 'pr', valueAt: opAt };
    if (!isSpace(this.text[this.i])) this.fail(`a value must follow "${word}" after a space`);
    this.skip();
    const valueAt = this.i;
    return { op: word as CompareOp, value: this.value(), valueAt };
  }

  value(): FilterValue {
    const c = this.text[this.i];
    if (c === undefined) this.fail('a value is missing (a "quoted string", a number, true, false or null)');
    if (c === '"') {
      let j = this.i + 1;
      while (j < this.text.length && this.text[j] !== '"') j += this.text[j] === '\\' ? 2 : 1;
      if (j >= this.text.length) this.fail('the quoted value has no closing quote');
      try {
        const value = JSON.parse(this.text.slice(this.i, j + 1)) as string;
        this.i = j + 1;
        return value;
      } catch {
        return this.fail('the quoted value has an invalid escape (JSON string escapes apply)');
      }
    }
    let j = this.i;
    while (j < this.text.length && !isSpace(this.text[j]) && !')]'.includes(this.text[j]!)) j++;
    const word = this.text.slice(this.i, j);
    const lower = word.toLowerCase();
    let value: FilterValue;
    if (lower === 'true') value = true;
    else if (lower === 'false') value = false;
    else if (lower === 'null') value = null;
    else if (/^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?$/.test(word)) value = Number(word);
    else return this.fail(`"${word.slice(0, 40)}" is not a value; quote strings ("…"), or use a number, true, false or null`);
    this.i = j;
    return value;
  }
}

// --- Resolving against the schema --------------------------------------------------------------------

interface Resolved {
  schema: AttrSchema;
  path: string[];
}

// Clients send the same few attribute paths over and over (Entra: userName, externalId, displayName):
// top-level resolutions are remembered, bounded (a client inventing paths only makes it start over).
const resolvedPaths = new Map<string, Resolved>();

function resolvePath(kind: ResourceKind, raw: RawPath, text: string, within?: Resolved): Resolved {
  if (within) return resolveUncached(kind, raw, text, within);
  const key = `${kind} ${raw.text}`;
  let hit = resolvedPaths.get(key);
  if (!hit) {
    hit = resolveUncached(kind, raw, text); // throws for an unknown attribute: nothing is cached then
    if (resolvedPaths.size >= 256) resolvedPaths.clear();
    resolvedPaths.set(key, hit);
  }
  return hit;
}

function resolveUncached(kind: ResourceKind, raw: RawPath, text: string, within?: Resolved): Resolved {
  const fail = (message: string): never => {
    throw invalidFilter(`Invalid filter ${near(text, raw.at)}: ${message}`);
  };
  if (within) {
    const sub = find(within.schema.subs, raw.text);
    if (!sub || raw.text.includes('.')) {
      return fail(`"${raw.text}" is not a sub-attribute of ${within.path.join('.')} (${within.schema.subs!.map((s) => s.name).join(', ')})`);
    }
    return { schema: sub, path: [sub.name] };
  }
  const { core, attrs, extensions } = SCHEMAS[kind];
  let rest = raw.text;
  let list = attrs;
  let prefix: string[] = [];
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    const urn = rest.slice(0, colon).toLowerCase();
    rest = rest.slice(colon + 1);
    if (urn === core.toLowerCase()) list = attrs;
    else if (extensions[urn]) {
      list = extensions[urn]!;
      prefix = [ENTERPRISE_USER];
    } else return fail(`"${raw.text.slice(0, colon)}" is not a schema of ${kind} resources`);
  }
  const [name, sub, ...more] = rest.split('.');
  const attr = find(list, name ?? '');
  if (!attr || more.length) return fail(`${kind} resources have no attribute "${raw.text}"`);
  if (sub === undefined) return { schema: attr, path: [...prefix, attr.name] };
  const subAttr = find(attr.subs, sub);
  if (!subAttr) return fail(`"${sub}" is not a sub-attribute of ${attr.name}`);
  return { schema: { ...subAttr, multiValued: attr.multiValued }, path: [...prefix, attr.name, subAttr.name] };
}

const toAttr = (r: Resolved): FilterAttribute => ({
  path: r.path,
  type: r.schema.type,
  caseExact: r.schema.caseExact ?? false,
  ...(r.schema.multiValued ? { multiValued: true } : {}),
});

function checkValue(op: CompareOp, attr: FilterAttribute, value: FilterValue, text: string, at: number): FilterValue {
  const fail = (message: string): never => {
    throw invalidFilter(`Invalid filter ${near(text, at)}: ${message}`);
  };
  if (value === null) {
    if (op !== 'eq' && op !== 'ne') fail(`only eq and ne compare with null`);
    return null;
  }
  const name = attr.path.join('.');
  switch (attr.type) {
    case 'boolean':
      if (op !== 'eq' && op !== 'ne') fail(`${name} is true or false: use eq or ne`);
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
      return fail(`${name} is true or false, not ${JSON.stringify(value)}`);
    case 'dateTime': {
      if (typeof value !== 'string') return fail(`${name} is a date: compare it with a quoted date such as "2025-01-31T00:00:00Z"`);
      if (op === 'co' || op === 'sw' || op === 'ew') return value;
      const m = /^\d{4}-\d\d-\d\d(T\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)?)?$/i.exec(value);
      // A time without a zone is UTC (as the stored instants are), whatever this machine's zone.
      const date = m ? new Date(m[1] && !m[4] ? `${value}Z` : value) : new Date(NaN);
      if (Number.isNaN(date.getTime())) return fail(`"${value.slice(0, 40)}" is not a date such as "2025-01-31T00:00:00Z"`);
      return date.toISOString();
    }
    default:
      return typeof value === 'string' ? value : String(value);
  }
}

function resolve(kind: ResourceKind, raw: RawFilter, text: string, within?: Resolved): Filter {
  switch (raw.op) {
    case 'and':
    case 'or':
      return { op: raw.op, left: resolve(kind, raw.left, text, within), right: resolve(kind, raw.right, text, within) };
    case 'not':
      return { op: 'not', filter: resolve(kind, raw.filter, text, within) };
    case 'valuePath': {
      if (within) throw invalidFilter(`Invalid filter ${near(text, raw.path.at)}: a value filter cannot hold another "["`);
      const outer = resolvePath(kind, raw.path, text);
      if (!outer.schema.multiValued || outer.schema.subs === undefined || outer.path.length !== 1) {
        throw invalidFilter(`Invalid filter ${near(text, raw.path.at)}: "[…]" applies to multi-valued attributes such as emails or members`);
      }
      let inner = resolve(kind, raw.filter, text, outer);
      if (raw.sub && raw.then) {
        // `emails[type eq "work"].value eq "x"`: the same element has type work and value x.
        const sub = resolvePath(kind, raw.sub, text, outer);
        const attr = toAttr(sub);
        const then: Filter =
          raw.then.op === 'pr'
            ? { op: 'pr', attr }
            : { op: raw.then.op, attr, value: checkValue(raw.then.op, attr, raw.then.value!, text, raw.then.valueAt) };
        inner = { op: 'and', left: inner, right: then };
      }
      return { op: 'any', attr: toAttr(outer), filter: inner };
    }
    default: {
      const r = resolvePath(kind, raw.path, text, within);
      // A multi-valued attribute, or one of its sub-attributes, matches when some element does:
      // `emails co "@x"` compares each element's value, `emails.type eq "work"` each element's type.
      if (!within && r.schema.multiValued) {
        const top = r.path.slice(0, 1);
        const topSchema = find(SCHEMAS[kind].attrs, top[0]!)!;
        if (r.path.length === 1 && raw.op === 'pr') return { op: 'pr', attr: toAttr(r) };
        const subName = r.path.length === 1 ? 'value' : r.path[1]!;
        const element: Resolved = { schema: topSchema, path: top };
        const sub = resolvePath(kind, { text: subName, at: raw.path.at }, text, element);
        return { op: 'any', attr: toAttr(element), filter: leaf(raw, toAttr(sub), text) };
      }
      if (r.schema.type === 'complex') {
        // A complex attribute with a `value` (manager) compares that; others need a sub-attribute.
        const value = find(r.schema.subs, 'value');
        if (raw.op === 'pr') return { op: 'pr', attr: toAttr(r) };
        if (!value) {
          throw invalidFilter(
            `Invalid filter ${near(text, raw.path.at)}: ${r.path.join('.')} has sub-attributes; name one, e.g. ${r.path.join('.')}.${r.schema.subs![0]!.name}`,
          );
        }
        return leaf(raw, toAttr({ schema: value, path: [...r.path, value.name] }), text);
      }
      return leaf(raw, toAttr(r), text);
    }
  }
}

function leaf(raw: Extract<RawFilter, { path: RawPath }>, attr: FilterAttribute, text: string): Filter {
  if (raw.op === 'pr') return { op: 'pr', attr };
  if (raw.op === 'valuePath') throw new Error('unreachable');
  return { op: raw.op, attr, value: checkValue(raw.op, attr, raw.value, text, raw.valueAt) };
}

/** A list GET's `filter` → a resolved filter for the store, or 400 `invalidFilter` saying where it went wrong. */
export function parseFilter(text: string, kind: ResourceKind): Filter {
  if (text.length > MAX_FILTER_LENGTH) throw invalidFilter(`The filter is longer than ${MAX_FILTER_LENGTH} characters.`);
  if (!text.trim()) throw invalidFilter('The filter is empty.');
  const reader = new Reader(text);
  const raw = reader.filter();
  reader.skip();
  if (reader.i < text.length) {
    const word = reader.peekWord();
    reader.fail(
      text[reader.i] === ')'
        ? 'this ")" has no "("'
        : `"and" or "or" was expected${word ? `, not "${word}"` : ''}`,
    );
  }
  return resolve(kind, raw, text);
}

/** `sortBy` (an attribute path) and `sortOrder` (ascending by default) → the store's sort. */
export function parseSort(sortBy: string | null, sortOrder: string | null, kind: ResourceKind): SortSpec | undefined {
  if (sortOrder !== null && !/^(ascending|descending)$/i.test(sortOrder.trim())) {
    throw invalidValue(`sortOrder must be "ascending" or "descending".`);
  }
  if (sortBy === null || !sortBy.trim()) return undefined;
  const text = sortBy.trim();
  if (text.length > 200 || !/^[A-Za-z$][\w$:.\-]*$/.test(text)) throw invalidValue('sortBy must be an attribute name such as userName or meta.lastModified.');
  let r: Resolved;
  try {
    r = resolvePath(kind, { text, at: 0 }, text);
  } catch (error) {
    throw invalidValue(`sortBy: ${(error as Error).message.replace(/^Invalid filter at position 1 \(near "[^"]*"\): /, '')}.`);
  }
  if (r.schema.type === 'complex') {
    const value = find(r.schema.subs, 'value');
    if (!value) throw invalidValue(`sortBy: name a sub-attribute of ${r.path.join('.')}.`);
    r = { schema: { ...value, multiValued: r.schema.multiValued }, path: [...r.path, value.name] };
  }
  return { attr: toAttr(r), descending: sortOrder?.trim().toLowerCase() === 'descending' };
}
