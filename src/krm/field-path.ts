// Field paths for injections, in the style of kpt's apply-replacements:
//   data.n3-address                      map keys separated by dots
//   metadata.annotations.[example.com/x] a key that contains dots, in brackets
//   spec.interfaces.[name=n3].ipv4.address  the list item whose `name` is `n3`
//   spec.containers.0.image              a list index
//   spec.config.(json).plugins.0.ipam.addresses.0.address
//                                        `(json)`: the string reached so far holds JSON; the
//                                        rest of the path goes inside it, and the JSON is
//                                        written back (same key order, same indentation).
import {
  isMap,
  isScalar,
  isSeq,
  mapGet,
  mapSet,
  newMap,
  newSeq,
  scalarNode,
  setScalarKeepingStyle,
  type Scalar,
  type YAMLMap,
  type YAMLSeq,
} from './yaml-doc.js';
import type { ScalarValue } from './scalar.js';
import { appendItem, appendMember, JsonTextError, member, parseJsonText, type JsonNode } from './json-edit.js';

export type Segment = { t: 'key'; key: string } | { t: 'match'; field: string; value: string } | { t: 'json' };

export interface FieldPath {
  text: string;
  segments: Segment[];
}

export function parsePath(text: string): FieldPath {
  const segments: Segment[] = [];
  let i = 0;
  const n = text.length;
  if (n === 0) throw new Error('empty field path');
  while (i < n) {
    let seg: Segment;
    if (text[i] === '[') {
      const close = text.indexOf(']', i);
      if (close < 0) throw new Error(`unclosed [ in "${text}"`);
      const inner = text.slice(i + 1, close);
      const eq = inner.indexOf('=');
      if (inner === '') throw new Error(`empty [] in "${text}"`);
      seg =
        eq > 0
          ? { t: 'match', field: inner.slice(0, eq), value: inner.slice(eq + 1) }
          : { t: 'key', key: eq === 0 ? inner.slice(1) : inner };
      if (eq === 0) throw new Error(`[=value] selectors are not supported in "${text}"; use [field=value]`);
      i = close + 1;
    } else if (text.startsWith('(json)', i)) {
      seg = { t: 'json' };
      i += 6;
    } else {
      let j = i;
      while (j < n && text[j] !== '.' && text[j] !== '[') j++;
      const key = text.slice(i, j);
      if (key === '') throw new Error(`empty segment in "${text}"`);
      seg = { t: 'key', key };
      i = j;
    }
    segments.push(seg);
    if (i < n) {
      if (text[i] !== '.') throw new Error(`expected "." after segment ${segments.length} of "${text}"`);
      i++;
      if (i === n) throw new Error(`field path "${text}" ends with "."`);
    }
  }
  const last = segments[segments.length - 1];
  if (last.t !== 'key') throw new Error(`field path "${text}" must end with a field name`);
  return { text, segments };
}

export function formatSegments(segs: Segment[]): string {
  return segs
    .map((s) => (s.t === 'json' ? '(json)' : s.t === 'match' ? `[${s.field}=${s.value}]` : s.key.includes('.') ? `[${s.key}]` : s.key))
    .join('.');
}

/** A path that did not resolve: how far it got. */
export class PathError extends Error {
  override readonly name = 'PathError';
  constructor(
    message: string,
    readonly resolved: string,
  ) {
    super(message);
  }
}

const isIndex = (k: string): boolean => /^(0|[1-9][0-9]*)$/.test(k);

/** The value to write: a number stays a number where the old value was one (or nothing said it must be a string). */
function typed(value: ScalarValue, old: unknown, preferString: boolean): ScalarValue {
  if (typeof value === 'number') {
    if (typeof old === 'number') return value;
    if (typeof old === 'string' || preferString) return String(value);
  }
  return value;
}

function matchesItem(item: unknown, field: string, value: string): boolean {
  if (isMap(item)) {
    const v = mapGet(item, field);
    return isScalar(v) && String(v.value) === value;
  }
  return false;
}

/** JSON inside a string: the value's characters are replaced in the text; nothing else changes. */
function setInJsonString(raw: string, segs: Segment[], value: ScalarValue, create: boolean, at: string): string {
  let node: JsonNode;
  try {
    node = parseJsonText(raw);
  } catch (err) {
    if (!(err instanceof JsonTextError)) throw err;
    throw new PathError(`the value at ${at} is not JSON (${err.message})`, at);
  }
  const splice = (start: number, end: number, ins: string) => raw.slice(0, start) + ins + raw.slice(end);
  /** JSON text for what the rest of the path creates under a missing member or item. */
  const created = (rest: Segment[], seed: Record<string, unknown> | unknown[], where: string): string => {
    const holder: Record<string, unknown> = { v: seed };
    if (rest.length > 0) setInJs(holder, 'v', rest, value, true, where);
    return JSON.stringify(holder.v);
  };
  at += '.(json)';
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i];
    const last = i === segs.length - 1;
    const here = at + '.' + formatSegments([s]);
    if (s.t === 'json') {
      if (node.t !== 'scalar' || typeof node.value !== 'string') throw new PathError(`${at} is not a string holding JSON`, at);
      return splice(node.start, node.end, JSON.stringify(setInJsonString(node.value, segs.slice(i + 1), value, create, at)));
    }
    if (s.t === 'match') {
      if (node.t !== 'array') throw new PathError(`${at} is not a list`, at);
      const item = node.items.find((x) => {
        if (x.t !== 'object') return false;
        const v = member(x, s.field);
        return v !== undefined && v.t === 'scalar' && String(v.value) === s.value;
      });
      if (!item) {
        if (!create) throw new PathError(`no item with ${s.field}=${s.value} in ${at}`, at);
        const e = appendItem(raw, node, created(segs.slice(i + 1), { [s.field]: s.value }, here));
        return splice(e.at, e.at, e.ins);
      }
      node = item;
      at = here;
      continue;
    }
    if (node.t === 'array' && isIndex(s.key)) {
      const idx = Number(s.key);
      if (idx >= node.items.length) throw new PathError(`${at} has no item ${idx}`, at);
      node = node.items[idx];
    } else if (node.t === 'object') {
      const child = member(node, s.key);
      if (child === undefined) {
        if (!create) throw new PathError(`${at} has no field ${s.key}`, at);
        const text = last ? JSON.stringify(typed(value, undefined, false)) : created(segs.slice(i + 1), {}, here);
        const e = appendMember(raw, node, s.key, text);
        return splice(e.at, e.at, e.ins);
      }
      node = child;
    } else {
      throw new PathError(`${at} is not a mapping`, at);
    }
    if (last) return splice(node.start, node.end, JSON.stringify(typed(value, node.t === 'scalar' ? node.value : undefined, false)));
    at = here;
  }
  return raw;
}

/** Where a walk through plain JS values stands: `container` is `parent[key]`, reached by path `at`. */
interface JsCursor {
  parent: Record<string | number, unknown>;
  key: string | number;
  container: unknown;
  at: string;
}

/** Moves the cursor to `parent[key]`, reached by `at`. */
function descend(c: JsCursor, parent: object, key: string | number, at: string): void {
  c.parent = parent as Record<string | number, unknown>;
  c.key = key;
  c.container = c.parent[key];
  c.at = at;
}

/** Sets `value` at `segs` below `parent[key]` (a new value built from a `(json)` string's rest). */
function setInJs(
  parent: Record<string, unknown> | unknown[],
  key: string | number,
  segs: Segment[],
  value: ScalarValue,
  create: boolean,
  at: string,
): void {
  const parentRecord = parent as Record<string | number, unknown>;
  const c: JsCursor = { parent: parentRecord, key, container: parentRecord[key], at };
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i];
    const last = i === segs.length - 1;
    const here = c.at + '.' + formatSegments([s]);
    if (s.t === 'json') {
      if (typeof c.container !== 'string') throw new PathError(`${c.at} is not a string holding JSON`, c.at);
      c.parent[c.key] = setInJsonString(c.container, segs.slice(i + 1), value, create, c.at);
      return;
    }
    if (s.t === 'match') jsMatch(c, s, create, here);
    else if (Array.isArray(c.container) && isIndex(s.key)) {
      if (jsIndex(c, Number(s.key), last, value, here)) return;
    } else if (jsField(c, s.key, last, value, create, here)) return;
  }
}

/** `[field=value]`: the list item that matches (a new one when `create`). */
function jsMatch(c: JsCursor, s: { field: string; value: string }, create: boolean, here: string): void {
  if (c.container === undefined && create) {
    c.container = [];
    c.parent[c.key] = c.container;
  }
  const list = c.container;
  if (!Array.isArray(list)) throw new PathError(`${c.at} is not a list`, c.at);
  let idx = list.findIndex((x) => x !== null && typeof x === 'object' && String((x as Record<string, unknown>)[s.field]) === s.value);
  if (idx < 0) {
    if (!create) throw new PathError(`no item with ${s.field}=${s.value} in ${c.at}`, c.at);
    list.push({ [s.field]: s.value });
    idx = list.length - 1;
  }
  descend(c, list, idx, here);
}

/** A list index; true when it was the last segment (the value is set). */
function jsIndex(c: JsCursor, idx: number, last: boolean, value: ScalarValue, here: string): boolean {
  const list = c.container as unknown[];
  if (idx >= list.length) throw new PathError(`${c.at} has no item ${idx}`, c.at);
  if (last) {
    list[idx] = typed(value, list[idx], false);
    return true;
  }
  descend(c, list, idx, here);
  return false;
}

/** A mapping's field (the mapping is created when missing and `create`); true when the value is set. */
function jsField(c: JsCursor, key: string, last: boolean, value: ScalarValue, create: boolean, here: string): boolean {
  if (c.container === undefined && create) {
    c.container = {};
    c.parent[c.key] = c.container;
  }
  if (c.container === null || typeof c.container !== 'object' || Array.isArray(c.container))
    throw new PathError(`${c.at} is not a mapping`, c.at);
  const obj = c.container as Record<string, unknown>;
  if (!(key in obj) && !create) throw new PathError(`${c.at} has no field ${key}`, c.at);
  if (last) {
    obj[key] = typed(value, obj[key], false);
    return true;
  }
  descend(c, obj, key, here);
  return false;
}

/** Where a walk through a Document stands: `node` reached by path `at`, and how to attach a node there when it is missing. */
interface DocCursor {
  node: unknown;
  at: string;
  attach: ((n: unknown) => void) | null;
}

/**
 * Sets `value` at `path` in a resource's Document root. `preferString` writes numbers as
 * strings in new fields (ConfigMap data). Throws PathError when the path does not resolve.
 */
export function setInDoc(root: YAMLMap, path: FieldPath, value: ScalarValue, create: boolean, preferString: boolean): void {
  const segs = path.segments;
  const c: DocCursor = { node: root, at: '', attach: null };
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i];
    const last = i === segs.length - 1;
    const here = c.at ? `${c.at}.${formatSegments([s])}` : formatSegments([s]);
    const where = c.at || '(resource)';
    if (c.node === undefined || c.node === null) {
      if (!create || !c.attach) throw new PathError(`${where} does not exist`, c.at);
      c.node = s.t === 'match' ? newSeq() : newMap();
      c.attach(c.node);
    }
    if (s.t === 'json') {
      if (!isScalar(c.node) || typeof c.node.value !== 'string') throw new PathError(`${where} is not a string holding JSON`, c.at);
      const sc = c.node as Scalar;
      sc.value = setInJsonString(sc.value as string, segs.slice(i + 1), value, create, where);
      return;
    }
    const set = { value, create, preferString, last, here, where };
    if (s.t === 'match') docMatch(c, s, set);
    else if (isSeq(c.node) && isIndex(s.key)) {
      if (docIndex(c, c.node, Number(s.key), set)) return;
    } else if (docField(c, s.key, set)) return;
  }
}

/** What setInDoc sets, and where the walk is: this segment's path (`here`) and its parent's for messages (`where`). */
interface DocStep {
  value: ScalarValue;
  create: boolean;
  preferString: boolean;
  last: boolean;
  here: string;
  where: string;
}

function docMatch(c: DocCursor, s: { field: string; value: string }, step: DocStep): void {
  if (!isSeq(c.node)) throw new PathError(`${step.where} is not a list`, c.at);
  const seq = c.node;
  let item = seq.items.find((x) => matchesItem(x, s.field, s.value));
  if (!item) {
    if (!step.create) throw new PathError(`${step.where} has no item with ${s.field}=${s.value}`, c.at);
    const m = newMap();
    mapSet(m, s.field, scalarNode(s.value));
    seq.items.push(m);
    item = m;
  }
  c.node = item;
  c.attach = null;
  c.at = step.here;
}

/** A list index; true when it was the last segment (the value is set). */
function docIndex(c: DocCursor, seq: YAMLSeq, idx: number, step: DocStep): boolean {
  if (idx >= seq.items.length) throw new PathError(`${step.where} has no item ${idx}`, c.at);
  if (step.last) {
    const old = seq.items[idx];
    seq.items[idx] = setScalarKeepingStyle(old, typed(step.value, isScalar(old) ? jsOf(old) : undefined, step.preferString));
    return true;
  }
  c.node = seq.items[idx];
  c.attach = (n) => (seq.items[idx] = n);
  c.at = step.here;
  return false;
}

/** A mapping's field; true when it was the last segment (the value is set). */
function docField(c: DocCursor, key: string, step: DocStep): boolean {
  if (!isMap(c.node)) throw new PathError(`${step.where} is not a mapping`, c.at);
  const map = c.node;
  const child = mapGet(map, key);
  if (child === undefined && !step.create) throw new PathError(`${step.where} has no field ${key}`, c.at);
  if (step.last) {
    if (child !== undefined && child !== null && !isScalar(child)) throw new PathError(`${step.here} is not a scalar`, step.here);
    mapSet(map, key, setScalarKeepingStyle(child, typed(step.value, isScalar(child) ? jsOf(child) : undefined, step.preferString)));
    return true;
  }
  c.node = child;
  c.attach = (n) => mapSet(map, key, n as YAMLMap);
  c.at = step.here;
  return false;
}

function jsOf(s: Scalar): unknown {
  if (s.type === 'PLAIN' && typeof s.value === 'string' && /^-?[0-9]+$/.test(s.value)) return Number(s.value);
  return s.value;
}
