import { invalidFilter } from './errors.js';

/**
 * The value filters of PATCH paths as Entra sends them (`members[value eq "…"]`,
 * `emails[type eq "work"].value`): `attr eq value`, joined by `and`. Values are quoted (JSON string
 * escapes) or raw. The whole filter grammar of list GETs is in ./filter-grammar.ts. Parsing is
 * linear in the filter's length.
 */
export const MAX_FILTER_LENGTH = 4096;
const MAX_CONDITIONS = 16;

export interface RawCondition {
  /** The attribute path as written, e.g. `userName`, `emails[type eq "work"].value`. */
  path: string;
  /** Undefined for a bare value path such as `members[value eq "…"]`. */
  value?: string;
}

const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r';

/** Reads a JSON-style quoted string starting at `i` (which holds the quote). */
function readQuoted(text: string, i: number): { value: string; end: number } {
  let j = i + 1;
  while (j < text.length) {
    const c = text[j];
    if (c === '\\') {
      j += 2;
      continue;
    }
    if (c === '"') break;
    j++;
  }
  if (j >= text.length) throw invalidFilter('The filter has a quoted value without its closing quote.');
  try {
    return { value: JSON.parse(text.slice(i, j + 1)) as string, end: j + 1 };
  } catch {
    throw invalidFilter('The filter has a quoted value with an invalid escape.');
  }
}

/** An attribute path, which may hold a bracketed value filter (with spaces and quotes inside). */
function readPath(text: string, i: number): { path: string; end: number } {
  let j = i;
  while (j < text.length && !isSpace(text[j])) {
    if (text[j] === '(' || text[j] === ')') throw invalidFilter('Grouping with parentheses is not supported; use `eq` joined by `and`.');
    if (text[j] === '[') {
      j++;
      while (j < text.length && text[j] !== ']') {
        if (text[j] === '"') j = readQuoted(text, j).end;
        else j++;
      }
      if (j >= text.length) throw invalidFilter('The filter has a "[" without its "]".');
    }
    j++;
  }
  return { path: text.slice(i, j), end: j };
}

function readWord(text: string, i: number): { word: string; end: number } {
  let j = i;
  while (j < text.length && !isSpace(text[j])) j++;
  return { word: text.slice(i, j), end: j };
}

const skipSpace = (text: string, i: number) => {
  while (i < text.length && isSpace(text[i])) i++;
  return i;
};

export function parseEqConditions(text: string): RawCondition[] {
  if (text.length > MAX_FILTER_LENGTH) throw invalidFilter(`The filter is longer than ${MAX_FILTER_LENGTH} characters.`);
  const conditions: RawCondition[] = [];
  let i = skipSpace(text, 0);
  if (i >= text.length) throw invalidFilter('The filter is empty.');
  for (;;) {
    if (conditions.length >= MAX_CONDITIONS) throw invalidFilter(`A filter may join at most ${MAX_CONDITIONS} conditions.`);
    const path = readPath(text, i);
    if (!path.path) throw invalidFilter('The filter is missing an attribute name.');
    i = skipSpace(text, path.end);
    const bareValuePath = path.path.includes('[') && path.path.endsWith(']');
    let value: string | undefined;
    if (bareValuePath && (i >= text.length || /^and$/i.test(readWord(text, i).word))) {
      value = undefined;
    } else {
      const op = readWord(text, i);
      if (!op.word) throw invalidFilter(`The filter has no operator after "${path.path}".`);
      if (op.word.toLowerCase() !== 'eq') {
        throw invalidFilter(`The filter operator "${op.word}" is not supported; only "eq" (joined by "and") is.`);
      }
      i = skipSpace(text, op.end);
      if (i >= text.length) throw invalidFilter(`The filter has no value after "${path.path} eq".`);
      if (text[i] === '"') {
        const q = readQuoted(text, i);
        value = q.value;
        i = q.end;
      } else {
        const w = readWord(text, i);
        if (w.word.startsWith('(') || w.word.endsWith(')')) throw invalidFilter('Grouping with parentheses is not supported.');
        value = w.word;
        i = w.end;
      }
    }
    conditions.push({ path: path.path, value });
    i = skipSpace(text, i);
    if (i >= text.length) return conditions;
    const joiner = readWord(text, i);
    if (joiner.word.toLowerCase() !== 'and') {
      throw invalidFilter(`"${joiner.word}" is not supported in filters; conditions may only be joined by "and".`);
    }
    i = skipSpace(text, joiner.end);
    if (i >= text.length) throw invalidFilter('The filter ends with "and".');
  }
}

/** `emails[type eq "work"]` → { attr: 'emails', filterAttr: 'type', filterValue: 'work', sub: 'value' } */
export function parseValuePath(path: string): { attr: string; filterAttr?: string; filterValue?: string; sub?: string } | undefined {
  const open = path.indexOf('[');
  if (open < 0) {
    const [attr, sub, ...more] = path.split('.');
    if (more.length || !attr) return undefined;
    return sub === undefined ? { attr } : { attr, sub };
  }
  const close = path.lastIndexOf(']');
  if (close < open) return undefined;
  const inner = parseEqConditions(path.slice(open + 1, close));
  if (inner.length !== 1 || inner[0]!.value === undefined || inner[0]!.path.includes('[')) return undefined;
  const rest = path.slice(close + 1);
  if (rest && !/^\.[A-Za-z$][\w$]*$/.test(rest)) return undefined;
  return {
    attr: path.slice(0, open),
    filterAttr: inner[0]!.path,
    filterValue: inner[0]!.value,
    ...(rest ? { sub: rest.slice(1) } : {}),
  };
}

