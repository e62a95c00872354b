import type { GroupChange, UserData } from '../directory/store.js';
import { invalidSyntax, invalidValue } from './errors.js';
import { parseValuePath } from './filter.js';

/**
 * PATCH (RFC 7644 §3.5.2) as Entra sends it, in both of its dialects: op names in any case
 * (`Replace`, `add`), `active` as "True"/"False" or a boolean, the path-less replace whose value map
 * has dotted and URN-qualified keys, `manager` as a bare id or `{value}`, member removal by a
 * `value` list or by `members[value eq "…"]`. An operation on an attribute this directory does not
 * store is ignored, so that the other operations of the request (a disable may be among them) apply.
 */

export const ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

export type PatchOpName = 'add' | 'replace' | 'remove';
export interface PatchOperation {
  op: PatchOpName;
  path?: string;
  value?: unknown;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The body of a PATCH request → its operations (400 invalidSyntax / invalidValue when malformed). */
export function parsePatchRequest(body: unknown): PatchOperation[] {
  if (!isObject(body)) throw invalidSyntax('A PATCH body must be a JSON object with an "Operations" array.');
  const key = Object.keys(body).find((k) => k.toLowerCase() === 'operations');
  const ops = key === undefined ? undefined : body[key];
  if (!Array.isArray(ops)) throw invalidSyntax('A PATCH body must have an "Operations" array.');
  return ops.map((raw, index) => {
    if (!isObject(raw)) throw invalidSyntax(`Operations[${index}] must be an object.`);
    const get = (name: string) => raw[Object.keys(raw).find((k) => k.toLowerCase() === name) ?? name];
    const op = get('op');
    const name = typeof op === 'string' ? op.toLowerCase() : '';
    if (name !== 'add' && name !== 'replace' && name !== 'remove') {
      throw invalidValue(`Operations[${index}].op must be "add", "replace" or "remove" (got ${JSON.stringify(op ?? null)}).`);
    }
    const path = get('path');
    if (path !== undefined && path !== null && typeof path !== 'string') {
      throw invalidSyntax(`Operations[${index}].path must be a string.`);
    }
    const operation: PatchOperation = { op: name };
    if (typeof path === 'string' && path.trim()) operation.path = path.trim();
    const value = get('value');
    if (value !== undefined) operation.value = value;
    if (name !== 'remove' && operation.path === undefined && !isObject(value)) {
      throw invalidSyntax(`Operations[${index}] has no "path", so its "value" must be an object of attributes.`);
    }
    return operation;
  });
}

// --- Users ----------------------------------------------------------------------------------------

type Kind = 'string' | 'boolean' | 'complex' | 'multi' | 'manager';
interface AttrDef {
  name: string;
  kind: Kind;
  subs?: string[];
}

const def = (name: string, kind: Kind, subs?: string[]): AttrDef => ({ name, kind, subs });
const MULTI_SUBS = ['value', 'type', 'primary', 'display'];
const ADDRESS_SUBS = ['formatted', 'streetAddress', 'locality', 'region', 'postalCode', 'country', 'type', 'primary'];

/** The core User attributes this directory stores (RFC 7643 §4.1, less password/groups/roles/entitlements/x509). */
const CORE_ATTRS = new Map(
  [
    def('userName', 'string'),
    def('externalId', 'string'),
    def('displayName', 'string'),
    def('nickName', 'string'),
    def('profileUrl', 'string'),
    def('title', 'string'),
    def('userType', 'string'),
    def('preferredLanguage', 'string'),
    def('locale', 'string'),
    def('timezone', 'string'),
    def('active', 'boolean'),
    def('name', 'complex', ['formatted', 'familyName', 'givenName', 'middleName', 'honorificPrefix', 'honorificSuffix']),
    def('emails', 'multi', MULTI_SUBS),
    def('phoneNumbers', 'multi', MULTI_SUBS),
    def('ims', 'multi', MULTI_SUBS),
    def('photos', 'multi', MULTI_SUBS),
    def('addresses', 'multi', ADDRESS_SUBS),
  ].map((d) => [d.name.toLowerCase(), d]),
);

const ENTERPRISE_ATTRS = new Map(
  [
    def('employeeNumber', 'string'),
    def('costCenter', 'string'),
    def('organization', 'string'),
    def('division', 'string'),
    def('department', 'string'),
    def('manager', 'manager', ['value', 'displayName', '$ref']),
  ].map((d) => [d.name.toLowerCase(), d]),
);

interface Target {
  def: AttrDef;
  enterprise: boolean;
  filter?: { attr: string; value: string };
  sub?: string;
}

const canonicalSub = (d: AttrDef, sub: string) => d.subs?.find((s) => s.toLowerCase() === sub.toLowerCase());

const ENT_LC = ENTERPRISE_USER.toLowerCase();
const CORE_LC = CORE_USER.toLowerCase();

// Entra sends the same few dozen attribute paths over and over (every POST /Users names the same
// keys), so resolved paths are remembered. Targets are never modified after they are made. Bounded:
// a client inventing paths only makes the cache start over.
const resolved = new Map<string, Target | undefined | 'enterprise-root'>();

/** Resolves a PATCH path (or a key of a path-less value map) to a stored attribute; undefined = not stored, ignore. */
function resolveUserPath(path: string): Target | undefined | 'enterprise-root' {
  if (resolved.has(path)) return resolved.get(path);
  const target = resolveUncached(path);
  if (resolved.size >= 512) resolved.clear();
  resolved.set(path, target);
  return target;
}

function resolveUncached(path: string): Target | undefined | 'enterprise-root' {
  let rest = path;
  let enterprise = false;
  const lower = path.toLowerCase();
  const ent = ENT_LC;
  const core = CORE_LC;
  if (lower === ent) return 'enterprise-root';
  if (lower.startsWith(`${ent}:`)) {
    enterprise = true;
    rest = path.slice(ent.length + 1);
  } else if (lower.startsWith(`${core}:`)) {
    rest = path.slice(core.length + 1);
  } else if (lower.startsWith('urn:')) {
    return undefined; // another extension: not stored
  }
  let vp: ReturnType<typeof parseValuePath>;
  try {
    vp = parseValuePath(rest);
  } catch {
    return undefined;
  }
  if (!vp) return undefined;
  const d = (enterprise ? ENTERPRISE_ATTRS : CORE_ATTRS).get(vp.attr.toLowerCase());
  if (!d) return undefined;
  const target: Target = { def: d, enterprise };
  if (vp.filterAttr !== undefined) {
    if (d.kind !== 'multi') return undefined;
    const fa = canonicalSub(d, vp.filterAttr);
    if (!fa) return undefined;
    target.filter = { attr: fa, value: vp.filterValue! };
  }
  if (vp.sub !== undefined) {
    const sub = canonicalSub(d, vp.sub);
    if (!sub || d.kind === 'string' || d.kind === 'boolean') return undefined;
    target.sub = sub;
  }
  return target;
}

/** `[{"value": x}]` (the old dialect's wrapping of single values) → x. */
function unwrap(value: unknown): unknown {
  if (Array.isArray(value) && value.length === 1 && isObject(value[0]) && 'value' in value[0]) return value[0].value;
  return value;
}

function toBoolean(value: unknown, name: string): boolean {
  const v = unwrap(value);
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|false)$/i.test(v.trim())) return v.trim().toLowerCase() === 'true';
  throw invalidValue(`${name} must be true or false (got ${JSON.stringify(v)}).`);
}

function toText(value: unknown): string | undefined {
  const v = unwrap(value);
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/** Keeps the known sub-attributes of a complex value, in their canonical case. */
function cleanComplex(d: AttrDef, value: unknown): Json | undefined {
  if (!isObject(value)) return undefined;
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) {
    const sub = canonicalSub(d, k);
    if (!sub || v === null || v === undefined) continue;
    if (sub === 'primary') {
      try {
        out.primary = toBoolean(v, `${d.name}.primary`);
      } catch {
        /* an unreadable "primary" is dropped, not fatal */
      }
    } else {
      const text = toText(v);
      if (text !== undefined) out[sub] = text;
    }
  }
  return out;
}

function managerValue(value: unknown): Json | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (typeof v === 'string') return v ? { value: v } : undefined;
  if (isObject(v)) {
    const clean = cleanComplex(ENTERPRISE_ATTRS.get('manager')!, v);
    return clean && typeof clean.value === 'string' && clean.value ? clean : undefined;
  }
  return undefined;
}

const sameFilterValue = (attr: string, a: unknown, b: string) =>
  attr === 'type' ? String(a ?? '').toLowerCase() === b.toLowerCase() : String(a ?? '') === b;

function applyTarget(data: Json, op: PatchOpName, t: Target, value: unknown): void {
  let holder: Json = data;
  if (t.enterprise) {
    const ext = isObject(data[ENTERPRISE_USER]) ? (data[ENTERPRISE_USER] as Json) : {};
    data[ENTERPRISE_USER] = ext;
    holder = ext;
  }
  const name = t.def.name;
  const clear = op === 'remove' || value === null || (t.def.kind !== 'string' && value === '');
  switch (t.def.kind) {
    case 'string': {
      if (clear) {
        if (name === 'userName') throw invalidValue('userName cannot be removed.');
        delete holder[name];
        break;
      }
      const text = toText(value);
      if (text === undefined) throw invalidValue(`${name} must be a string.`);
      holder[name] = text;
      break;
    }
    case 'boolean':
      if (clear) delete holder[name];
      else holder[name] = toBoolean(value, name);
      break;
    case 'manager': {
      if (t.sub) {
        if (clear) {
          if (t.sub === 'value') delete holder[name];
          else if (isObject(holder[name])) delete (holder[name] as Json)[t.sub];
        } else {
          const text = toText(value);
          if (text === undefined) break;
          const current = isObject(holder[name]) ? (holder[name] as Json) : {};
          holder[name] = { ...current, [t.sub]: text };
        }
        break;
      }
      const m = clear ? undefined : managerValue(value);
      if (m) holder[name] = m;
      else delete holder[name];
      break;
    }
    case 'complex': {
      const current = isObject(holder[name]) ? (holder[name] as Json) : {};
      if (t.sub) {
        if (clear) delete current[t.sub];
        else {
          const text = toText(value);
          if (text === undefined) break;
          current[t.sub] = text;
        }
        if (Object.keys(current).length) holder[name] = current;
        else delete holder[name];
        break;
      }
      if (clear) {
        delete holder[name];
        break;
      }
      const clean = cleanComplex(t.def, value);
      if (clean) holder[name] = { ...current, ...clean };
      break;
    }
    case 'multi':
      applyMulti(holder, op, t, value, clear);
      break;
  }
}

function applyMulti(holder: Json, op: PatchOpName, t: Target, value: unknown, clear: boolean): void {
  const name = t.def.name;
  let list = (Array.isArray(holder[name]) ? (holder[name] as unknown[]) : []).filter(isObject) as Json[];
  const store = () => {
    if (list.length) holder[name] = list;
    else delete holder[name];
  };
  if (t.filter) {
    const { attr, value: fv } = t.filter;
    const matches = (e: Json) => sameFilterValue(attr, e[attr], fv);
    if (op === 'remove') {
      if (t.sub) {
        for (const e of list) if (matches(e)) delete e[t.sub];
      } else {
        list = list.filter((e) => !matches(e));
      }
      return store();
    }
    if (clear) {
      list = t.sub === undefined || t.sub === 'value' ? list.filter((e) => !matches(e)) : list;
      return store();
    }
    let element = list.find(matches);
    if (!element) {
      element = { [attr]: fv };
      if (name === 'emails' && attr === 'type' && !list.some((e) => e.primary === true)) element.primary = true;
      list.push(element);
    }
    if (t.sub) {
      const text = t.sub === 'primary' ? toBoolean(value, `${name}.primary`) : toText(value);
      if (text !== undefined) element[t.sub] = text;
    } else {
      Object.assign(element, cleanComplex(t.def, unwrapObject(value)) ?? {});
    }
    return store();
  }
  if (t.sub) return; // e.g. "emails.value" without a filter: ambiguous, not applied
  if (clear && op === 'remove' && Array.isArray(value)) {
    // RFC-style removal of listed values.
    const gone = new Set(value.map((v) => (isObject(v) ? String(v.value ?? '') : String(v))));
    list = list.filter((e) => !gone.has(String(e.value ?? '')));
    return store();
  }
  if (clear) {
    list = [];
    return store();
  }
  const items = (Array.isArray(value) ? value : [value]).map((v) => cleanComplex(t.def, v)).filter((v): v is Json => Boolean(v));
  if (op === 'replace') {
    list = items;
  } else {
    for (const item of items) {
      const same = list.find((e) =>
        item.type !== undefined ? sameFilterValue('type', e.type, String(item.type)) : e.value !== undefined && e.value === item.value,
      );
      if (same) Object.assign(same, item);
      else list.push(item);
    }
  }
  store();
}

const unwrapObject = (value: unknown) => (Array.isArray(value) ? value[0] : value);

/** Applies one operation whose path is given (or one key of a path-less value map). */
function applyUserPath(data: Json, op: PatchOpName, path: string, value: unknown): void {
  const target = resolveUserPath(path);
  if (target === undefined) return; // not stored: ignored
  if (target === 'enterprise-root') {
    if (op === 'remove' && value === undefined) {
      delete data[ENTERPRISE_USER];
      return;
    }
    if (!isObject(value)) return;
    for (const [k, v] of Object.entries(value)) applyUserPath(data, op, `${ENTERPRISE_USER}:${k}`, v);
    return;
  }
  applyTarget(data, op, target, value);
}

/** Applies PATCH operations to a user's attributes; returns the new attributes (the input is not changed). */
export function applyUserPatch(current: UserData, operations: PatchOperation[]): UserData {
  const data = structuredClone(current) as Json;
  for (const operation of operations) {
    if (operation.path !== undefined) {
      applyUserPath(data, operation.op, operation.path, operation.value);
      continue;
    }
    if (operation.op === 'remove') continue; // a remove needs a path (RFC 7644 §3.5.2.2): nothing to do
    for (const [key, value] of Object.entries(operation.value as Json)) {
      applyUserPath(data, operation.op, key, value);
    }
  }
  return checkUser(data);
}

function checkUser(data: Json): UserData {
  if (typeof data.userName !== 'string' || data.userName.trim() === '') {
    throw invalidValue('userName is required and must be a non-empty string.');
  }
  if (data.active === undefined) data.active = true;
  if (isObject(data[ENTERPRISE_USER]) && Object.keys(data[ENTERPRISE_USER] as Json).length === 0) {
    delete data[ENTERPRISE_USER];
  }
  return data as UserData;
}

/** The attributes of a POSTed or PUT user: the known ones, normalized like a path-less replace. */
export function userFromResource(body: unknown): UserData {
  if (!isObject(body)) throw invalidSyntax('A User must be a JSON object.');
  const data: Json = {};
  for (const [key, value] of Object.entries(body)) {
    if (value === null || value === undefined) continue;
    applyUserPath(data, 'replace', key, value);
  }
  return checkUser(data);
}

// --- Groups ---------------------------------------------------------------------------------------

/** Member ids from `[{value}]`, `{value}` or bare strings; anything else is skipped. */
function memberIds(value: unknown): string[] {
  const list = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  const ids: string[] = [];
  for (const item of list) {
    const id = isObject(item) ? item.value : item;
    if (typeof id === 'string' && id) ids.push(id);
  }
  return ids;
}

function groupText(value: unknown, name: string): string {
  const text = toText(value);
  if (text === undefined || (name === 'displayName' && !text.trim())) {
    throw invalidValue(`${name} must be a non-empty string.`);
  }
  return text;
}

/** PATCH operations on a group → one change (member sets disjoint, so order within the request is kept). */
export function groupChangeFromPatch(operations: PatchOperation[]): GroupChange {
  const change: GroupChange = {};
  const add = new Set<string>();
  const remove = new Set<string>();
  let replace: Set<string> | undefined;
  const addMember = (id: string) => {
    remove.delete(id);
    add.add(id);
  };
  const removeMember = (id: string) => {
    add.delete(id);
    if (replace) replace.delete(id);
    remove.add(id);
  };
  const apply = (op: PatchOpName, rawPath: string, value: unknown) => {
    const path = rawPath.toLowerCase().startsWith(`${CORE_GROUP.toLowerCase()}:`) ? rawPath.slice(CORE_GROUP.length + 1) : rawPath;
    let vp: ReturnType<typeof parseValuePath>;
    try {
      vp = parseValuePath(path);
    } catch {
      return;
    }
    if (!vp) return;
    switch (vp.attr.toLowerCase()) {
      case 'displayname':
        if (op !== 'remove' && !vp.sub) change.displayName = groupText(value, 'displayName');
        return;
      case 'externalid':
        if (op === 'remove' || value === null) change.externalId = null;
        else change.externalId = groupText(value, 'externalId');
        return;
      case 'members': {
        if (vp.filterAttr !== undefined) {
          if (op === 'remove' && vp.filterAttr.toLowerCase() === 'value' && !vp.sub) removeMember(vp.filterValue!);
          return;
        }
        if (vp.sub) return;
        const ids = memberIds(value);
        if (op === 'add') ids.forEach(addMember);
        else if (op === 'remove') {
          if (value === undefined) {
            replace = new Set();
            add.clear();
            remove.clear();
          } else ids.forEach(removeMember);
        } else {
          replace = new Set(ids);
          add.clear();
          remove.clear();
        }
        return;
      }
      default:
        return; // not stored: ignored
    }
  };
  for (const operation of operations) {
    if (operation.path !== undefined) {
      apply(operation.op, operation.path, operation.value);
    } else if (operation.op !== 'remove') {
      for (const [key, value] of Object.entries(operation.value as Json)) apply(operation.op, key, value);
    }
  }
  if (replace) change.replaceMembers = [...replace];
  if (add.size) change.addMembers = [...add];
  if (remove.size) change.removeMembers = [...remove];
  return change;
}

/** A POSTed or PUT group: its attributes and initial members. */
export function groupFromResource(body: unknown): { data: { displayName: string; externalId?: string }; members: string[] } {
  if (!isObject(body)) throw invalidSyntax('A Group must be a JSON object.');
  const get = (name: string) => body[Object.keys(body).find((k) => k.toLowerCase() === name) ?? name];
  const displayName = get('displayname');
  if (typeof displayName !== 'string' || !displayName.trim()) {
    throw invalidValue('displayName is required and must be a non-empty string.');
  }
  const data: { displayName: string; externalId?: string } = { displayName };
  const externalId = get('externalid');
  if (typeof externalId === 'string' && externalId) data.externalId = externalId;
  return { data, members: memberIds(get('members')) };
}
