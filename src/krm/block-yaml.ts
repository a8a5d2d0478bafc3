// A fast reader for the block-style YAML that kpt and kustomize write (block maps and
// sequences, one-line scalars, one-line flow collections, literal block scalars, comments).
// It keeps the text offsets of every entry, so the function can change a few fields by
// splicing text and leave every other byte alone. Anything outside that subset (anchors,
// tags, folded or multi-line scalars, ...) throws `Unsupported`, and the caller falls back to
// the `yaml` library for that one resource. The library alone is too slow for a large
// package (docs/performance.md, "Measurements behind the design").
import { resolvePlain, type ScalarValue } from './scalar.js';
import { MAX_DEPTH, tooDeep } from './yaml-limits.js';

export class Unsupported extends Error {
  override readonly name = 'Unsupported';
}

export type ScalarStyle = 'plain' | 'single' | 'double' | 'literal';

export interface YScalar {
  type: 'scalar';
  value: ScalarValue;
  style: ScalarStyle;
  /** Offsets of the value text (for a literal block: the header through its last line). */
  start: number;
  end: number;
}
/** A one-line flow collection (`{}`, `[a, b]`, `{a: 1}`): read, replaced whole when edited. */
export interface YFlow {
  type: 'flow';
  value: unknown;
  start: number;
  end: number;
}
export interface YEntry {
  key: string;
  /** Offset of the start of the key's line (the dash line for the first key of a list item). */
  lineStart: number;
  /** Column of the key. */
  col: number;
  value: YNode;
  /** Offset just after the entry's last content line (its newline included when present). */
  end: number;
}
export interface YMap {
  type: 'map';
  indent: number;
  entries: YEntry[];
  value: Record<string, unknown>;
  start: number;
  end: number;
}
export interface YItem {
  /** Offset of the start of the dash line, and the dash's column. */
  lineStart: number;
  col: number;
  value: YNode;
  end: number;
}
export interface YSeq {
  type: 'seq';
  indent: number;
  items: YItem[];
  value: unknown[];
  start: number;
  end: number;
}
export type YNode = YScalar | YFlow | YMap | YSeq;

/** The JS value of a node. */
export function jsValue(n: YNode): unknown {
  return n.value;
}

/** Object with no prototype: keys like `__proto__` are plain data here. */
export function newObject(): Record<string, unknown> {
  return Object.create(null) as Record<string, unknown>;
}

class Lines {
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  readonly indents: number[] = [];
  /** Blank or comment-only (outside block scalars such lines carry nothing). */
  readonly empty: boolean[] = [];
  constructor(readonly text: string) {
    if (text.includes('\r')) throw new Unsupported('carriage return');
    let pos = 0;
    const n = text.length;
    while (pos <= n) {
      let end = text.indexOf('\n', pos);
      if (end < 0) end = n;
      let i = pos;
      while (i < end && text.charCodeAt(i) === 32) i++;
      if (i < end && text.charCodeAt(i) === 9) throw new Unsupported('tab in indentation');
      this.starts.push(pos);
      this.ends.push(end);
      this.indents.push(i - pos);
      this.empty.push(i === end || text.charCodeAt(i) === 35);
      if (end === n) break;
      pos = end + 1;
    }
  }
  get length(): number {
    return this.starts.length;
  }
  /** Offset just after line `li`, including its newline when there is one. */
  after(li: number): number {
    return this.ends[li] < this.text.length ? this.ends[li] + 1 : this.ends[li];
  }
  nextContent(li: number): number {
    while (li < this.starts.length && this.empty[li]) li++;
    return li;
  }
  /** Line index of an offset (binary search). */
  lineOf(off: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= off) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

function isDash(text: string, off: number, end: number): boolean {
  return text.charCodeAt(off) === 45 && (off + 1 === end || text.charCodeAt(off + 1) === 32);
}

/** End of the value text on a line: before a ` #` comment, trailing spaces trimmed. */
function plainEnd(text: string, from: number, end: number): number {
  let stop = end;
  for (let i = from; i < end; i++) {
    if (text.charCodeAt(i) === 35 && i > from && (text.charCodeAt(i - 1) === 32 || text.charCodeAt(i - 1) === 9)) {
      stop = i;
      break;
    }
  }
  while (stop > from && (text.charCodeAt(stop - 1) === 32 || text.charCodeAt(stop - 1) === 9)) stop--;
  return stop;
}

/** After a closed quoted scalar or flow collection only spaces and a comment may follow. */
function expectLineEnd(text: string, from: number, end: number): void {
  let i = from;
  while (i < end && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++;
  if (i < end && !(text.charCodeAt(i) === 35 && i > from)) throw new Unsupported('text after value');
}

const ESCAPES: Record<string, string> = {
  '0': '\0',
  a: '\x07',
  b: '\b',
  t: '\t',
  '\t': '\t',
  n: '\n',
  v: '\v',
  f: '\f',
  r: '\r',
  e: '\x1b',
  ' ': ' ',
  '"': '"',
  '/': '/',
  '\\': '\\',
  N: '\x85',
  _: '\xa0',
  L: '\u2028',
  P: '\u2029',
};

/** Reads a double-quoted scalar that closes on its line; returns [value, offset after the quote]. */
export function readDouble(text: string, at: number, end: number): [string, number] {
  let out = '';
  let i = at + 1;
  let run = i;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c === 34) return [out + text.slice(run, i), i + 1];
    if (c === 92) {
      out += text.slice(run, i);
      const e = text[i + 1];
      if (e === undefined || i + 1 >= end) throw new Unsupported('escaped line break');
      if (e === 'x' || e === 'u' || e === 'U') {
        const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = text.slice(i + 2, i + 2 + len);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) throw new Unsupported('bad escape');
        out += String.fromCodePoint(parseInt(hex, 16));
        i += 2 + len;
      } else {
        const r = ESCAPES[e];
        if (r === undefined) throw new Unsupported('bad escape');
        out += r;
        i += 2;
      }
      run = i;
      continue;
    }
    i++;
  }
  throw new Unsupported('multi-line double-quoted scalar');
}

export function readSingle(text: string, at: number, end: number): [string, number] {
  let out = '';
  let i = at + 1;
  let run = i;
  while (i < end) {
    if (text.charCodeAt(i) === 39) {
      if (text.charCodeAt(i + 1) === 39 && i + 1 < end) {
        out += text.slice(run, i + 1);
        i += 2;
        run = i;
        continue;
      }
      return [out + text.slice(run, i), i + 1];
    }
    i++;
  }
  throw new Unsupported('multi-line single-quoted scalar');
}

/** One-line flow collection reader. */
class Flow {
  constructor(
    private readonly text: string,
    public pos: number,
    private readonly end: number,
    /** Nesting depth of the block around it. */
    private depth: number,
  ) {}
  private ws(): void {
    while (this.pos < this.end && this.text.charCodeAt(this.pos) === 32) this.pos++;
  }
  value(): unknown {
    this.ws();
    const c = this.text[this.pos];
    if (c === '{') return this.map();
    if (c === '[') return this.seq();
    return this.scalar(false);
  }
  private scalar(isKey: boolean): ScalarValue {
    const t = this.text;
    const c = t[this.pos];
    if (c === '"') {
      const [v, next] = readDouble(t, this.pos, this.end);
      this.pos = next;
      return v;
    }
    if (c === "'") {
      const [v, next] = readSingle(t, this.pos, this.end);
      this.pos = next;
      return v;
    }
    if (c === undefined || '&*!|>%@`#{['.includes(c)) throw new Unsupported('flow scalar');
    const from = this.pos;
    while (this.pos < this.end) {
      const ch = t[this.pos];
      if (ch === ',' || ch === ']' || ch === '}') break;
      if (ch === ':' && (this.pos + 1 === this.end || ' ,]}'.includes(t[this.pos + 1]))) break;
      if (ch === '#' && t[this.pos - 1] === ' ') throw new Unsupported('comment in flow');
      if (ch === '{' || ch === '[') throw new Unsupported('flow indicator in scalar');
      this.pos++;
    }
    const raw = t.slice(from, this.pos).trimEnd();
    return isKey ? raw : resolvePlain(raw);
  }
  private map(): Record<string, unknown> {
    const out = newObject();
    if (++this.depth > MAX_DEPTH) throw tooDeep(this.pos);
    this.pos++;
    for (;;) {
      this.ws();
      if (this.text[this.pos] === '}') {
        this.pos++;
        this.depth--;
        return out;
      }
      const k = this.scalar(true);
      const key = k === null ? '' : String(k);
      this.ws();
      let v: unknown = null;
      if (this.text[this.pos] === ':') {
        this.pos++;
        this.ws();
        const c = this.text[this.pos];
        if (c !== ',' && c !== '}') v = this.value();
      }
      if (key in out) throw new Unsupported('duplicate key');
      out[key] = v;
      this.ws();
      const c = this.text[this.pos];
      if (c === ',') this.pos++;
      else if (c !== '}') throw new Unsupported('flow map syntax');
    }
  }
  private seq(): unknown[] {
    const out: unknown[] = [];
    if (++this.depth > MAX_DEPTH) throw tooDeep(this.pos);
    this.pos++;
    for (;;) {
      this.ws();
      if (this.text[this.pos] === ']') {
        this.pos++;
        this.depth--;
        return out;
      }
      out.push(this.value());
      this.ws();
      const c = this.text[this.pos];
      if (c === ',') this.pos++;
      else if (c !== ']') throw new Unsupported('flow sequence syntax');
    }
  }
}

/** Finds the `:` that ends a plain key on a line, or -1 when the line is not `key: ...`. */
function plainKeyEnd(text: string, from: number, end: number): number {
  const c0 = text[from];
  if (c0 === undefined || ',[]{}#&*!|>%@`"\''.includes(c0)) return -1;
  if ((c0 === '-' || c0 === '?' || c0 === ':') && (from + 1 >= end || text.charCodeAt(from + 1) === 32)) return -1;
  for (let i = from; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 58 && (i + 1 === end || text.charCodeAt(i + 1) === 32)) return i;
    if (c === 35 && i > from && text.charCodeAt(i - 1) === 32) return -1;
  }
  return -1;
}

/** Shared stand-in for the value of a map or sequence when values are not built. */
const NO_VALUE = Object.freeze(newObject());
const NO_ITEMS: readonly unknown[] = Object.freeze([]);

/** Whether `key` is already an entry (duplicate keys: YAML forbids them). */
function hasKey(entries: YEntry[], key: string): boolean {
  for (let i = 0; i < entries.length; i++) if (entries[i].key === key) return true;
  return false;
}

class BlockReader {
  readonly L: Lines;
  /** Collections open around the node being read. */
  private depth = 0;
  /**
   * values=false only checks the text: maps and sequences get no JS value (null-prototype
   * objects are dictionaries, and building them is most of the reader's cost).
   */
  constructor(
    readonly text: string,
    readonly values = true,
  ) {
    this.L = new Lines(text);
  }

  /** Parses the block node whose first content line is `li` at column `indent`. */
  block(li: number, indent: number): [YNode, number] {
    const L = this.L;
    const at = L.starts[li] + indent;
    if (isDash(this.text, at, L.ends[li])) return this.seq(li, indent);
    return this.map(li, indent, indent);
  }

  /**
   * Value after `key:` or `- ` starting at column `col` of line `li`; `parent` is the
   * indentation of the owning map or dash. Returns the node and the last line it uses.
   */
  inline(li: number, col: number, parent: number, allowCompactSeq: boolean): [YNode, number] {
    const L = this.L;
    const lineEnd = L.ends[li];
    const at = L.starts[li] + col;
    const c = this.text[at];
    if (at >= lineEnd || c === '#') return this.valueBelow(li, at, parent, allowCompactSeq);
    if (c === '|') return this.literal(li, at, parent);
    const node = this.oneLineValue(at, lineEnd);
    // A more-indented content line after a one-line value continues it (multi-line scalar).
    const nl = L.nextContent(li + 1);
    if (nl < L.length && L.indents[nl] > parent) throw new Unsupported('multi-line scalar');
    return [node, li];
  }

  /** Nothing after `key:` or `- ` on line `li`: the value is the block below, or null. */
  private valueBelow(li: number, at: number, parent: number, allowCompactSeq: boolean): [YNode, number] {
    const L = this.L;
    const nl = L.nextContent(li + 1);
    if (nl < L.length) {
      const ind = L.indents[nl];
      if (ind > parent) return this.block(nl, ind);
      if (allowCompactSeq && ind === parent && isDash(this.text, L.starts[nl] + ind, L.ends[nl])) return this.seq(nl, ind);
    }
    return [{ type: 'scalar', value: null, style: 'plain', start: at, end: at }, li];
  }

  /** A value that starts at `at` and ends on its line: quoted, flow or plain. */
  private oneLineValue(at: number, lineEnd: number): YNode {
    const t = this.text;
    const c = t[at];
    if (c === '"' || c === "'") {
      const [v, next] = c === '"' ? readDouble(t, at, lineEnd) : readSingle(t, at, lineEnd);
      expectLineEnd(t, next, lineEnd);
      return { type: 'scalar', value: v, style: c === '"' ? 'double' : 'single', start: at, end: next };
    }
    if (c === '{' || c === '[') {
      const f = new Flow(t, at, lineEnd, this.depth);
      const v = f.value();
      expectLineEnd(t, f.pos, lineEnd);
      return { type: 'flow', value: v, start: at, end: f.pos };
    }
    if ('&*!%@`>,]}'.includes(c) || ((c === '-' || c === '?' || c === ':') && (at + 1 === lineEnd || t.charCodeAt(at + 1) === 32))) {
      throw new Unsupported(`value starting with ${c}`);
    }
    const end = plainEnd(t, at, lineEnd);
    const raw = t.slice(at, end);
    if (raw.includes(': ') || raw.endsWith(':')) throw new Unsupported('mapping in plain scalar');
    return { type: 'scalar', value: resolvePlain(raw), style: 'plain', start: at, end };
  }

  literal(li: number, at: number, parent: number): [YNode, number] {
    const L = this.L;
    const t = this.text;
    let i = at + 1;
    let chomp = 'clip';
    const lineEnd = L.ends[li];
    while (i < lineEnd && t[i] !== ' ' && t[i] !== '#') {
      if (t[i] === '-') chomp = 'strip';
      else throw new Unsupported('block scalar indicator');
      i++;
    }
    expectLineEnd(t, i, lineEnd);
    let contentIndent = -1;
    let last = li;
    const parts: string[] = [];
    for (let k = li + 1; k < L.length; k++) {
      const s = L.starts[k];
      const e = L.ends[k];
      const ind = L.indents[k];
      if (ind === e - s) {
        // A spaces-only line longer than the content indentation holds spaces: rare, left to the library.
        if (contentIndent >= 0 && ind > contentIndent) throw new Unsupported('spaces-only line in block scalar');
        parts.push('');
        continue;
      }
      if (contentIndent < 0) {
        if (ind <= parent) break;
        contentIndent = ind;
      }
      if (ind < contentIndent) break;
      parts.push(t.slice(s + contentIndent, e));
      last = k;
    }
    // Lines after the last content line are trailing blank lines: not part of a clipped value.
    const used = contentIndent < 0 ? 0 : last - li;
    parts.length = used;
    let value = parts.join('\n');
    if (chomp === 'clip' && used > 0) value += '\n';
    return [{ type: 'scalar', value, style: 'literal', start: at, end: L.ends[last] }, last];
  }

  map(li: number, indent: number, firstCol: number): [YMap, number] {
    const L = this.L;
    const t = this.text;
    const entries: YEntry[] = [];
    if (++this.depth > MAX_DEPTH) throw tooDeep(L.starts[li]);
    const values = this.values;
    const value = values ? newObject() : (NO_VALUE as Record<string, unknown>);
    let keys: Set<string> | undefined;
    let col = firstCol;
    let line = li;
    let last = li;
    for (;;) {
      const lineStart = L.starts[line];
      const lineEnd = L.ends[line];
      const at = lineStart + col;
      let key: string;
      let after: number;
      const c = t[at];
      if (c === '"' || c === "'") {
        const [k, next] = c === '"' ? readDouble(t, at, lineEnd) : readSingle(t, at, lineEnd);
        after = quotedKeyEnd(t, next, lineEnd);
        key = k;
      } else {
        const k = plainKeyEnd(t, at, lineEnd);
        if (k < 0) throw new Unsupported('not a mapping entry');
        key = t.slice(at, k).trimEnd();
        if (key === '<<') throw new Unsupported('merge key');
        after = k + 1;
      }
      if (!values) keys = checkNewKey(entries, key, keys);
      else if (key in value) throw new Unsupported('duplicate key');
      let vcol = after - lineStart;
      while (vcol + lineStart < lineEnd && t.charCodeAt(vcol + lineStart) === 32) vcol++;
      const [node, end] = this.inline(line, vcol, indent, true);
      if (values) value[key] = node.value;
      entries.push({ key, lineStart, col, value: node, end: L.after(end) });
      last = end;
      const nl = this.nextEntryLine(end, indent);
      if (nl < 0) break;
      line = nl;
      col = indent;
    }
    this.depth--;
    return [{ type: 'map', indent, entries, value, start: L.starts[li] + firstCol, end: L.after(last) }, last];
  }

  /** The line of the map's next entry after line `end`, or -1 when the map (at `indent`) ends there. */
  private nextEntryLine(end: number, indent: number): number {
    const L = this.L;
    const nl = L.nextContent(end + 1);
    if (nl >= L.length) return -1;
    const ind = L.indents[nl];
    if (ind < indent) return -1;
    if (ind > indent) throw new Unsupported('bad indentation');
    return isDash(this.text, L.starts[nl] + ind, L.ends[nl]) ? -1 : nl;
  }

  seq(li: number, indent: number): [YSeq, number] {
    const L = this.L;
    const t = this.text;
    const items: YItem[] = [];
    if (++this.depth > MAX_DEPTH) throw tooDeep(L.starts[li]);
    const value: unknown[] = this.values ? [] : (NO_ITEMS as unknown[]);
    let line = li;
    let last = li;
    for (;;) {
      const r = this.item(line, indent);
      items.push({ lineStart: L.starts[line], col: indent, value: r[0], end: L.after(r[1]) });
      if (this.values) value.push(r[0].value);
      last = r[1];
      const nl = L.nextContent(last + 1);
      if (nl >= L.length) break;
      const ind = L.indents[nl];
      if (ind !== indent || !isDash(t, L.starts[nl] + ind, L.ends[nl])) {
        if (ind > indent) throw new Unsupported('bad indentation');
        break;
      }
      line = nl;
    }
    this.depth--;
    return [{ type: 'seq', indent, items, value, start: L.starts[li] + indent, end: L.after(last) }, last];
  }

  /** A sequence item whose dash is at column `dash` of line `li`. */
  item(li: number, dash: number): [YNode, number] {
    const L = this.L;
    const t = this.text;
    const s = L.starts[li];
    const e = L.ends[li];
    let col = dash + 1;
    while (s + col < e && t.charCodeAt(s + col) === 32) col++;
    const at = s + col;
    if (at >= e || t[at] === '#') return this.inline(li, col, dash, false);
    if (isDash(t, at, e)) return this.seq(li, col);
    const c = t[at];
    let isMap = false;
    if (c === '"' || c === "'") {
      try {
        const [, next] = c === '"' ? readDouble(t, at, e) : readSingle(t, at, e);
        let j = next;
        while (j < e && t.charCodeAt(j) === 32) j++;
        isMap = t[j] === ':' && (j + 1 === e || t.charCodeAt(j + 1) === 32);
      } catch {
        isMap = false;
      }
    } else if (c !== '{' && c !== '[') {
      isMap = plainKeyEnd(t, at, e) >= 0;
    }
    if (isMap) return this.map(li, col, col);
    return this.inline(li, col, dash, false);
  }
}

/** After a quoted key ending at `next`: the offset just after its colon. */
function quotedKeyEnd(t: string, next: number, lineEnd: number): number {
  let j = next;
  while (j < lineEnd && t.charCodeAt(j) === 32) j++;
  if (t[j] !== ':' || (j + 1 < lineEnd && t.charCodeAt(j + 1) !== 32)) throw new Unsupported('quoted key');
  return j + 1;
}

/**
 * Throws on a key the map already has (a linear search while the map is small, then a set of
 * its keys, returned to be passed to the next call).
 */
function checkNewKey(entries: YEntry[], key: string, keys: Set<string> | undefined): Set<string> | undefined {
  if (!keys && entries.length < 64) {
    if (hasKey(entries, key)) throw new Unsupported('duplicate key');
    return undefined;
  }
  keys ??= new Set(entries.map((e) => e.key));
  if (keys.has(key)) throw new Unsupported('duplicate key');
  keys.add(key);
  return keys;
}

/**
 * Parses one sequence item whose text starts with its dash line (dash at column `dash`),
 * e.g. one element of a ResourceList's `items`. Offsets in the result are into `text`.
 * values=false: only check that the item is in the reader's subset (no JS values built).
 */
export function parseItem(text: string, dash: number, values = true): { node: YNode; lines: Lines } {
  const r = new BlockReader(text, values);
  const first = r.L.nextContent(0);
  if (first >= r.L.length || r.L.indents[first] !== dash || !isDash(text, r.L.starts[first] + dash, r.L.ends[first])) {
    throw new Unsupported('item does not start with a dash');
  }
  const [node, last] = r.item(first, dash);
  if (r.L.nextContent(last + 1) < r.L.length) throw new Unsupported('text after item');
  return { node, lines: r.L };
}

/** Parses a whole block document (used by tests and for small inputs). */
export function parseBlock(text: string): YNode {
  const r = new BlockReader(text);
  const first = r.L.nextContent(0);
  if (first >= r.L.length) return { type: 'scalar', value: null, style: 'plain', start: 0, end: 0 };
  const ind = r.L.indents[first];
  let node: YNode;
  let last: number;
  const s = r.L.starts[first] + ind;
  const e = r.L.ends[first];
  if (isDash(text, s, e)) [node, last] = r.seq(first, ind);
  else if (plainKeyEnd(text, s, e) >= 0 || text[s] === '"' || text[s] === "'") [node, last] = r.map(first, ind, ind);
  else [node, last] = r.inline(first, ind, -1, false);
  if (r.L.nextContent(last + 1) < r.L.length) throw new Unsupported('text after document');
  return node;
}

export type { Lines };

/** Map entry by key. */
export function entry(m: YMap, key: string): YEntry | undefined {
  for (const e of m.entries) if (e.key === key) return e;
  return undefined;
}
