// ResourceList text in and out. Items are kept as the exact text they came in; the output is
// the input with only edited items replaced and the `results` appended, so every resource the
// function does not own leaves byte for byte as it arrived, in the same order, duplicates
// included.
import { parseBlock, Unsupported } from './block-yaml.js';
import { blockStyle, docToText, isMap, isScalar, isSeq, parseYaml, toJS, YamlSyntaxError, type Document } from './yaml-doc.js';
import { NEEDS_LIBRARY, type NeedsLibrary } from './yaml-lib.js';

/** "line L, column C" of an offset. */
function position(text: string, offset: number): string {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return `line ${line}, column ${offset - start + 1}`;
}

export interface RawItem {
  /** Position in the list. */
  index: number;
  /** The item's text: from its dash line through its last line, newline included. */
  text: string;
  /** Column of the item's dash. */
  dash: number;
  /** Offset of the item's text in the input (absent when the input had to be rewritten first). */
  offset?: number;
}

export interface ResourceListText {
  /** Text before the first item (the `items:` line included). */
  head: string;
  items: RawItem[];
  /** The text outside the items could not be read (the items are still echoed). */
  error?: string;
  /** A document end marker (`...`) and what follows it: written after the results. */
  trailer?: string;
  /** Text after the last item, without any `results` section. */
  tail: string;
  functionConfig: unknown;
  /** `results` the input already carried (kept, ours are appended). */
  results: unknown[];
}

export class ResourceListError extends Error {
  override readonly name = 'ResourceListError';
}

function isMarker(text: string, s: number, e: number, marker: string): boolean {
  return text.startsWith(marker, s) && (e === s + 3 || text.charCodeAt(s + 3) === 32 || text.charCodeAt(s + 3) === 9);
}

function isDashLine(text: string, s: number, e: number, col: number): boolean {
  return text.charCodeAt(s + col) === 45 && (s + col + 1 === e || text.charCodeAt(s + col + 1) === 32);
}

/**
 * Splits a ResourceList without parsing the items (they are read lazily, one by one), with the
 * fast reader only: NEEDS_LIBRARY when the layout needs the yaml library (load it, then call
 * splitResourceList).
 */
export function splitResourceListFast(text: string): ResourceListText | NeedsLibrary {
  checkNotEmpty(text);
  return trySplit(text, true, false) ?? NEEDS_LIBRARY;
}

/** Splits any ResourceList; layouts the fast reader does not take need loadYaml() first. */
export function splitResourceList(text: string): ResourceListText {
  checkNotEmpty(text);
  const fast = trySplit(text, true, true);
  if (fast && fast !== NEEDS_LIBRARY) return fast;
  const normalized = trySplit(normalize(text), false, true);
  return normalized && normalized !== NEEDS_LIBRARY ? normalized : fail('ResourceList layout not understood');
}

function checkNotEmpty(text: string): void {
  if (text.trim() === '')
    fail('no input: the function reads a ResourceList on stdin (kpt fn eval and kpt fn render send one); ipam-injector --help says more');
}

function fail(msg: string): never {
  throw new ResourceListError(msg);
}

interface Section {
  key: string;
  start: number;
  end: number;
}

/**
 * The fast path: block layout with top-level keys at column 0 (what kpt and kustomize write).
 * null: not that layout; NEEDS_LIBRARY: that layout, but its top-level sections need the
 * library and `library` says it may not be used.
 */
function trySplit(text: string, isInput: boolean, library: boolean): ResourceListText | NeedsLibrary | null {
  if (text.includes('\r')) return null;
  const n = text.length;
  const sections: Section[] = [];
  let current: Section | null = null;
  let itemsSection: Section | null = null;
  let itemsKeyEnd = -1;
  let itemsEnd = -1;
  let inItems = false;
  let itemsIndent = -1;
  const itemStarts: number[] = [];
  let seenContent = false;
  let docEnd = n;
  for (let pos = 0; pos < n;) {
    let e = text.indexOf('\n', pos);
    if (e < 0) e = n;
    const next = e < n ? e + 1 : n;
    let i = pos;
    while (i < e && text.charCodeAt(i) === 32) i++;
    const ind = i - pos;
    if (i === e || text.charCodeAt(i) === 35) {
      pos = next;
      continue;
    }
    if (text.charCodeAt(i) === 9 && current) {
      // A tab in indentation belongs to the section (or item) it sits in: its reader names the line.
      pos = next;
      continue;
    }
    if (ind === 0 && seenContent && isMarker(text, pos, e, '...')) {
      // Document end: only comments and blank lines may follow.
      const rest = text.slice(next);
      if (/^(\s*(#.*)?\n)*\s*(#.*)?$/.test(rest)) {
        if (current) current.end = pos;
        if (inItems) {
          inItems = false;
          itemsEnd = pos;
        }
        docEnd = pos;
        break;
      }
      throw new ResourceListError(
        `the input holds more than one YAML document (the first ends at ${position(text, pos)}); kpt sends one ResourceList`,
      );
    }
    if (ind === 0 && seenContent && isMarker(text, pos, e, '---')) {
      throw new ResourceListError(
        `the input holds more than one YAML document (a second starts at ${position(text, pos)}); kpt sends one ResourceList`,
      );
    }
    if (!seenContent) {
      seenContent = true;
      if (ind === 0 && text.startsWith('---', pos) && (e === pos + 3 || text.charCodeAt(pos + 3) === 32)) {
        pos = next;
        continue;
      }
    }
    if (inItems) {
      if (itemsIndent < 0 && ind > 0 && !isDashLine(text, pos, e, ind)) return null;
      if (itemsIndent < 0 && isDashLine(text, pos, e, ind)) itemsIndent = ind;
      if (ind === itemsIndent && isDashLine(text, pos, e, ind)) {
        itemStarts.push(pos);
        pos = next;
        continue;
      }
      if (ind > itemsIndent && itemsIndent >= 0) {
        pos = next;
        continue;
      }
      if (ind !== 0) return null;
      inItems = false;
      itemsEnd = pos;
    }
    if (ind !== 0 || (current && isDashLine(text, pos, e, 0))) {
      // Content of the current top-level section (a compact list at column 0 included).
      if (!current) return null;
      pos = next;
      continue;
    }
    // A top-level `key:` line.
    const c = text[pos];
    if ('-{["\'?%!&*|>'.includes(c) || text.startsWith('---', pos) || text.startsWith('...', pos)) return null;
    let colon = pos;
    while (colon < e && !(text.charCodeAt(colon) === 58 && (colon + 1 === e || text.charCodeAt(colon + 1) === 32))) colon++;
    if (colon >= e) return null;
    if (current) current.end = pos;
    current = { key: text.slice(pos, colon).trim(), start: pos, end: n };
    sections.push(current);
    if (current.key === 'items') {
      if (itemsSection) return null;
      itemsSection = current;
      itemsKeyEnd = next;
      const rest = text.slice(colon + 1, e).trim();
      if (rest === '' || rest.startsWith('#')) inItems = true;
      else if (/^\[\s*\](\s+#.*)?$/.test(rest)) itemsEnd = next;
      else return null;
    }
    pos = next;
  }
  if (!itemsSection) return null;
  if (itemsEnd < 0) itemsEnd = docEnd;
  const items: RawItem[] = [];
  for (let k = 0; k < itemStarts.length; k++) {
    const s = itemStarts[k];
    let t = text.slice(s, k + 1 < itemStarts.length ? itemStarts[k + 1] : itemsEnd);
    if (!t.endsWith('\n')) t += '\n';
    items.push(isInput ? { index: k, text: t, dash: itemsIndent, offset: s } : { index: k, text: t, dash: itemsIndent });
  }
  // Everything but the items is small: read it with the yaml library.
  const others = sections.filter((s) => s !== itemsSection);
  const outside = others.map((s) => text.slice(s.start, s.end)).join('');
  let top: Record<string, unknown> = {};
  let error: string | undefined;
  if (outside.trim() !== '') {
    try {
      const v = readOutside(outside, library);
      if (v === NEEDS_LIBRARY) return NEEDS_LIBRARY;
      if (v && typeof v === 'object' && !Array.isArray(v)) top = v as Record<string, unknown>;
    } catch (e) {
      if (!(e instanceof YamlSyntaxError)) throw e;
      // The items are fine: echo them, and say where the rest went wrong.
      const at = e.offset === undefined ? undefined : inputOffset(others, e.offset);
      error = `the ResourceList outside its items (${others.map((s) => s.key).join(', ')}) is not valid YAML${at === undefined || !isInput ? '' : ` at ${position(text, at)} of the input`}: ${e.message}`;
    }
  }
  if (top.kind !== undefined && top.kind !== 'ResourceList')
    throw new ResourceListError(`input kind is ${String(top.kind)}, not ResourceList`);
  // An incoming `results` section is dropped from the text and written again, merged, at the end.
  let head = text.slice(0, itemsKeyEnd);
  let tail = text.slice(itemsEnd, Math.max(itemsEnd, docEnd));
  const res = sections.find((s) => s.key === 'results');
  if (res) {
    if (res.start >= itemsEnd) tail = text.slice(itemsEnd, res.start) + text.slice(res.end, docEnd);
    else head = text.slice(0, res.start) + text.slice(res.end, itemsKeyEnd);
  }
  const results = Array.isArray(top.results) ? top.results : [];
  const out: ResourceListText = { head, items, tail, functionConfig: top.functionConfig ?? null, results };
  if (docEnd < n) out.trailer = text.slice(docEnd);
  if (error) out.error = error;
  return out;
}

function readOutside(outside: string, library: boolean): unknown {
  try {
    return parseBlock(outside).value;
  } catch (err) {
    if (!(err instanceof Unsupported)) throw err;
  }
  if (!library) return NEEDS_LIBRARY;
  const doc = parseYaml(outside.endsWith('\n') ? outside : outside + '\n');
  return toJS(doc.contents, doc);
}

/** An offset in the joined `sections` -> the offset in the input. */
function inputOffset(sections: Section[], offset: number): number {
  let left = offset;
  for (const s of sections) {
    if (left < s.end - s.start) return s.start + left;
    left -= s.end - s.start;
  }
  const last = sections[sections.length - 1];
  return last ? last.end : 0;
}

/** Rewrites any valid ResourceList (flow style, JSON, odd layout) into kpt's block layout. */
export function normalize(text: string): string {
  let doc: Document;
  try {
    doc = parseYaml(text);
  } catch (err) {
    if (!(err instanceof YamlSyntaxError)) throw err;
    throw new ResourceListError(
      `input is not valid YAML${err.offset === undefined ? '' : ` at ${position(text, err.offset)}`}: ${err.message}`,
    );
  }
  if (!isMap(doc.contents)) throw new ResourceListError('input is not a ResourceList (not a mapping)');
  const items = doc.contents.get('items', true);
  if (items !== undefined && items !== null && !isSeq(items) && !(isScalar(items) && (items.value === null || items.value === ''))) {
    throw new ResourceListError('ResourceList items is not a list');
  }
  blockStyle(doc);
  return docToText(doc);
}

/** Joins the (possibly edited) items back into a ResourceList, with results at the end. */
export function joinResourceList(rl: ResourceListText, itemTexts: string[], resultsText: string): string {
  let out = rl.head;
  for (const t of itemTexts) out += t;
  let tail = rl.tail;
  if (tail !== '' && !tail.endsWith('\n')) tail += '\n';
  if (itemTexts.length === 0 && !/items:\s*\[\s*\]/.test(rl.head)) {
    // `items:` with nothing after it is null; say empty list explicitly.
    out = out.replace(/items:[ \t]*(#.*)?\n$/, 'items: []\n');
  }
  return out + tail + resultsText + (rl.trailer ?? '');
}

export { YamlSyntaxError };
