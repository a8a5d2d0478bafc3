// Text splices on a block-YAML resource read by block-yaml.ts: set or remove a few scalar
// fields and list entries the function owns, leaving every other byte as it was. Whatever
// this cannot do by splicing throws `Unsupported`; callers then use the yaml library.
import { Unsupported, entry, type YEntry, type YMap, type YNode, type YSeq } from './block-yaml.js';
import { formatScalar, formatStringLike, type ScalarValue } from './scalar.js';

export interface Splice {
  at: number;
  del: number;
  ins: string;
}

export function applySplices(text: string, splices: Splice[]): string {
  if (splices.length === 0) return text;
  const sorted = [...splices].sort((a, b) => a.at - b.at || a.del - b.del);
  let out = '';
  let pos = 0;
  for (const s of sorted) {
    if (s.at < pos) throw new Unsupported('overlapping edits');
    out += text.slice(pos, s.at) + s.ins;
    pos = s.at + s.del;
  }
  return out + text.slice(pos);
}

/** Plain data as block YAML lines at column `col` (keys are the function's own, always plain). */
export function renderValue(v: unknown, col: number): string {
  if (Array.isArray(v)) {
    if (v.length === 0) return ' []\n';
    return '\n' + v.map((x) => renderSeqItem(x, col)).join('');
  }
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v);
    if (keys.length === 0) return ' {}\n';
    return '\n' + keys.map((k) => renderEntry(k, (v as Record<string, unknown>)[k], col + 2)).join('');
  }
  return ' ' + formatScalar(v as ScalarValue) + '\n';
}

export function renderEntry(key: string, v: unknown, col: number): string {
  return ' '.repeat(col) + formatScalar(key) + ':' + renderValue(v, col);
}

/** A list item with its dash at column `col`; a mapping's first key shares the dash line. */
export function renderSeqItem(v: unknown, col: number): string {
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) {
    const keys = Object.keys(v);
    const lines = keys.map((k) => renderEntry(k, (v as Record<string, unknown>)[k], col + 2));
    return ' '.repeat(col) + '- ' + lines.join('').slice(col + 2);
  }
  return ' '.repeat(col) + '-' + renderValue(v, col);
}

function isEmptyValue(n: YNode): boolean {
  if (n.type === 'scalar') return n.value === null && n.style === 'plain';
  if (n.type === 'flow') {
    const v = n.value;
    return v !== null && typeof v === 'object' && Object.keys(v as object).length === 0;
  }
  return false;
}

/** True when the entry starts its own line (not the first key of a list item's mapping). */
function ownsLine(text: string, e: YEntry): boolean {
  for (let i = e.lineStart; i < e.lineStart + e.col; i++) if (text.charCodeAt(i) !== 32) return false;
  return true;
}

/** Whole entry rewritten: used for `key:` / `key: {}` / `key: []` that gain content. */
function replaceEntry(text: string, e: YEntry, v: unknown): Splice {
  if (!ownsLine(text, e)) throw new Unsupported('entry shares a dash line');
  return { at: e.lineStart, del: e.end - e.lineStart, ins: renderEntry(e.key, v, e.col) };
}

function insertAt(text: string, at: number, ins: string): Splice {
  return { at, del: 0, ins: at > 0 && text.charCodeAt(at - 1) !== 10 ? '\n' + ins : ins };
}

/**
 * Sets (string/number/boolean) or removes (undefined) scalar fields of a block map.
 * Returns the splices and whether the map ends up empty.
 */
export function setMapScalars(
  text: string,
  map: YMap,
  fields: Record<string, ScalarValue | undefined>,
): { splices: Splice[]; empty: boolean } {
  const splices: Splice[] = [];
  let remaining = map.entries.length;
  let added = '';
  for (const [k, v] of Object.entries(fields)) {
    const e = entry(map, k);
    if (v === undefined) {
      if (!e) continue;
      if (!ownsLine(text, e)) throw new Unsupported('cannot remove the first key of a list item');
      splices.push({ at: e.lineStart, del: e.end - e.lineStart, ins: '' });
      remaining--;
      continue;
    }
    if (!e) {
      added += renderEntry(k, v, map.indent);
      continue;
    }
    const n = e.value;
    if (n.type !== 'scalar' || n.style === 'literal') throw new Unsupported('not a one-line scalar');
    if (n.value === v) continue;
    const ins = typeof v === 'string' ? formatStringLike(v, n.style) : formatScalar(v);
    if (n.start === n.end) splices.push({ at: n.start, del: 0, ins: text.charCodeAt(n.start - 1) === 32 ? ins : ' ' + ins });
    else splices.push({ at: n.start, del: n.end - n.start, ins });
  }
  if (added) splices.push(insertAt(text, map.end, added));
  return { splices, empty: remaining === 0 && added === '' };
}

/** Sets or removes scalar fields of the map under `key` of `parent`, creating it when needed. */
export function setChildScalars(text: string, parent: YMap, key: string, fields: Record<string, ScalarValue | undefined>): Splice[] {
  const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
  const e = entry(parent, key);
  if (!e) {
    if (Object.keys(defined).length === 0) return [];
    return [insertAt(text, parent.end, renderEntry(key, defined, parent.indent))];
  }
  if (isEmptyValue(e.value)) {
    if (Object.keys(defined).length === 0) return [];
    return [replaceEntry(text, e, defined)];
  }
  if (e.value.type !== 'map') throw new Unsupported(`${key} is not a block mapping`);
  const r = setMapScalars(text, e.value, fields);
  if (r.empty) {
    if (!ownsLine(text, e)) throw new Unsupported('entry shares a dash line');
    return [{ at: e.lineStart, del: e.end - e.lineStart, ins: '' }];
  }
  return r.splices;
}

export interface ListEdit {
  /** Items to change: index -> fields to set (string) or remove (undefined). */
  update: Map<number, Record<string, ScalarValue | undefined>>;
  remove: Set<number>;
  append: Record<string, ScalarValue>[];
}

/**
 * Edits the list at `parent[key1][key2]` (e.g. status.conditions): updates, removals and
 * appends of mapping items. Empty list and then empty parent are removed.
 */
export function editNestedList(text: string, root: YMap, key1: string, key2: string, edit: ListEdit): Splice[] {
  const has = edit.update.size + edit.remove.size + edit.append.length > 0;
  if (!has) return [];
  const e1 = entry(root, key1);
  if (!e1) {
    if (edit.append.length === 0) return [];
    return [insertAt(text, root.end, renderEntry(key1, { [key2]: edit.append }, root.indent))];
  }
  if (isEmptyValue(e1.value)) {
    if (edit.append.length === 0) return [];
    return [replaceEntry(text, e1, { [key2]: edit.append })];
  }
  if (e1.value.type !== 'map') throw new Unsupported(`${key1} is not a block mapping`);
  const m1 = e1.value;
  const e2 = entry(m1, key2);
  if (!e2) {
    if (edit.append.length === 0) return [];
    return [insertAt(text, m1.end, renderEntry(key2, edit.append, m1.indent))];
  }
  if (isEmptyValue(e2.value)) {
    if (edit.append.length === 0) return [];
    return [replaceEntry(text, e2, edit.append)];
  }
  if (e2.value.type !== 'seq') throw new Unsupported(`${key2} is not a block list`);
  const seq: YSeq = e2.value;
  const splices: Splice[] = [];
  let left = seq.items.length;
  seq.items.forEach((it, i) => {
    if (edit.remove.has(i)) {
      splices.push({ at: it.lineStart, del: it.end - it.lineStart, ins: '' });
      left--;
      return;
    }
    const u = edit.update.get(i);
    if (!u) return;
    if (it.value.type !== 'map') throw new Unsupported('list item is not a mapping');
    const r = setMapScalars(text, it.value, u);
    if (r.empty) throw new Unsupported('list item would be empty');
    splices.push(...r.splices);
  });
  if (edit.append.length > 0) {
    splices.push(insertAt(text, seq.end, edit.append.map((x) => renderSeqItem(x, seq.indent)).join('')));
    left += edit.append.length;
  }
  if (left === 0) {
    // Nothing left: drop the list, and its parent when the list was all it had.
    if (m1.entries.length === 1) return [replaceOrDrop(text, e1)];
    if (!ownsLine(text, e2)) throw new Unsupported('entry shares a dash line');
    return [{ at: e2.lineStart, del: e2.end - e2.lineStart, ins: '' }];
  }
  return splices;
}

function replaceOrDrop(text: string, e: YEntry): Splice {
  if (!ownsLine(text, e)) throw new Unsupported('entry shares a dash line');
  return { at: e.lineStart, del: e.end - e.lineStart, ins: '' };
}
