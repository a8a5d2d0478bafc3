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

function setInJs(
  parent: Record<string, unknown> | unknown[],
  key: string | number,
  segs: Segment[],
  value: ScalarValue,
  create: boolean,
  at: string,
): void {
  let container: unknown = (parent as Record<string | number, unknown>)[key];
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i];
    const last = i === segs.length - 1;
    const here = at + '.' + formatSegments([s]);
    if (s.t === 'json') {
      if (typeof container !== 'string') throw new PathError(`${at} is not a string holding JSON`, at);
      const next = setInJsonString(container, segs.slice(i + 1), value, create, at);
      (parent as Record<string | number, unknown>)[key] = next;
      return;
    }
    if (s.t === 'match') {
      if (container === undefined && create) {
        container = [];
        (parent as Record<string | number, unknown>)[key] = container;
      }
      if (!Array.isArray(container)) throw new PathError(`${at} is not a list`, at);
      let idx = container.findIndex(
        (x) => x !== null && typeof x === 'object' && String((x as Record<string, unknown>)[s.field]) === s.value,
      );
      if (idx < 0) {
        if (!create) throw new PathError(`no item with ${s.field}=${s.value} in ${at}`, at);
        container.push({ [s.field]: s.value });
        idx = container.length - 1;
      }
      parent = container;
      key = idx;
      container = container[idx];
      at = here;
      continue;
    }
    if (Array.isArray(container) && isIndex(s.key)) {
      const idx = Number(s.key);
      if (idx >= container.length) throw new PathError(`${at} has no item ${idx}`, at);
      if (last) {
        container[idx] = typed(value, container[idx], false);
        return;
      }
      parent = container;
      key = idx;
      container = container[idx];
      at = here;
      continue;
    }
    if (container === undefined && create) {
      container = {};
      (parent as Record<string | number, unknown>)[key] = container;
    }
    if (container === null || typeof container !== 'object' || Array.isArray(container)) throw new PathError(`${at} is not a mapping`, at);
    const obj = container as Record<string, unknown>;
    if (last) {
      if (!(s.key in obj) && !create) throw new PathError(`${at} has no field ${s.key}`, at);
      obj[s.key] = typed(value, obj[s.key], false);
      return;
    }
    if (!(s.key in obj) && !create) throw new PathError(`${at} has no field ${s.key}`, at);
    parent = obj;
    key = s.key;
    container = obj[s.key];
    at = here;
  }
}

/**
 * Sets `value` at `path` in a resource's Document root. `preferString` writes numbers as
 * strings in new fields (ConfigMap data). Throws PathError when the path does not resolve.
 */
export function setInDoc(root: YAMLMap, path: FieldPath, value: ScalarValue, create: boolean, preferString: boolean): void {
  const segs = path.segments;
  let node: unknown = root;
  let at = '';
  // How to put a new node where `node` is missing.
  let attach: ((n: unknown) => void) | null = null;
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i];
    const last = i === segs.length - 1;
    const here = at ? `${at}.${formatSegments([s])}` : formatSegments([s]);
    const where = at || '(resource)';
    if (node === undefined || node === null) {
      if (!create || !attach) throw new PathError(`${where} does not exist`, at);
      node = s.t === 'match' ? newSeq() : newMap();
      attach(node);
    }
    if (s.t === 'json') {
      if (!isScalar(node) || typeof node.value !== 'string') throw new PathError(`${where} is not a string holding JSON`, at);
      const sc = node as Scalar;
      sc.value = setInJsonString(sc.value as string, segs.slice(i + 1), value, create, where);
      return;
    }
    if (s.t === 'match') {
      if (!isSeq(node)) throw new PathError(`${where} is not a list`, at);
      const seq = node;
      let item = seq.items.find((x) => matchesItem(x, s.field, s.value));
      if (!item) {
        if (!create) throw new PathError(`${where} has no item with ${s.field}=${s.value}`, at);
        const m = newMap();
        mapSet(m, s.field, scalarNode(s.value));
        seq.items.push(m);
        item = m;
      }
      node = item;
      attach = null;
      at = here;
      continue;
    }
    if (isSeq(node) && isIndex(s.key)) {
      const seq = node;
      const idx = Number(s.key);
      if (idx >= seq.items.length) throw new PathError(`${where} has no item ${idx}`, at);
      if (last) {
        const old = seq.items[idx];
        seq.items[idx] = setScalarKeepingStyle(old, typed(value, isScalar(old) ? jsOf(old) : undefined, preferString));
        return;
      }
      node = seq.items[idx];
      attach = (n) => (seq.items[idx] = n);
      at = here;
      continue;
    }
    if (!isMap(node)) throw new PathError(`${where} is not a mapping`, at);
    const map = node;
    const child = mapGet(map, s.key);
    if (last) {
      if (child === undefined && !create) throw new PathError(`${where} has no field ${s.key}`, at);
      if (child !== undefined && child !== null && !isScalar(child)) throw new PathError(`${here} is not a scalar`, here);
      mapSet(map, s.key, setScalarKeepingStyle(child, typed(value, isScalar(child) ? jsOf(child) : undefined, preferString)));
      return;
    }
    if (child === undefined && !create) throw new PathError(`${where} has no field ${s.key}`, at);
    node = child;
    attach = (n) => mapSet(map, s.key, n as YAMLMap);
    at = here;
  }
}

function jsOf(s: Scalar): unknown {
  if (s.type === 'PLAIN' && typeof s.value === 'string' && /^-?[0-9]+$/.test(s.value)) return Number(s.value);
  return s.value;
}
