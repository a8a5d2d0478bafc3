// ResourceList text in and out. Items are kept as the exact text they came in; the output is
// the input with only edited items replaced and the `results` appended, so every resource the
// function does not own leaves byte for byte as it arrived, in the same order, duplicates
// included.
import { parseBlock, Unsupported } from './block-yaml.js';
import { blockStyle, docToText, isMap, isScalar, isSeq, parseYaml, toJS, YamlSyntaxError, type Document } from './yaml-doc.js';

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
  /** Text after the last item, without any `results` section. */
  tail: string;
  functionConfig: unknown;
  /** `results` the input already carried (kept, ours are appended). */
  results: unknown[];
}

export class ResourceListError extends Error {
  override readonly name = 'ResourceListError';
}

function isDashLine(text: string, s: number, e: number, col: number): boolean {
  return text.charCodeAt(s + col) === 45 && (s + col + 1 === e || text.charCodeAt(s + col + 1) === 32);
}

/** Splits a ResourceList without parsing the items (they are read lazily, one by one). */
export function splitResourceList(text: string): ResourceListText {
  if (text.trim() === '') fail('no input: the function reads a ResourceList on stdin (kpt fn eval and kpt fn render send one); ipam-injector --help says more');
  const fast = trySplit(text, true);
  if (fast) return fast;
  return trySplit(normalize(text), false) ?? fail('ResourceList layout not understood');
}

function fail(msg: string): never {
  throw new ResourceListError(msg);
}

interface Section {
  key: string;
  start: number;
  end: number;
}

/** The fast path: block layout with top-level keys at column 0 (what kpt and kustomize write). */
function trySplit(text: string, isInput: boolean): ResourceListText | null {
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
  for (let pos = 0; pos < n; ) {
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
  if (itemsEnd < 0) itemsEnd = n;
  const items: RawItem[] = [];
  for (let k = 0; k < itemStarts.length; k++) {
    const s = itemStarts[k];
    let t = text.slice(s, k + 1 < itemStarts.length ? itemStarts[k + 1] : itemsEnd);
    if (!t.endsWith('\n')) t += '\n';
    items.push(isInput ? { index: k, text: t, dash: itemsIndent, offset: s } : { index: k, text: t, dash: itemsIndent });
  }
  // Everything but the items is small: read it with the yaml library.
  const outside = sections.filter((s) => s !== itemsSection).map((s) => text.slice(s.start, s.end)).join('');
  let top: Record<string, unknown> = {};
  if (outside.trim() !== '') {
    let v: unknown;
    try {
      v = parseBlock(outside).value;
    } catch (err) {
      if (!(err instanceof Unsupported)) throw err;
      let doc: Document;
      try {
        doc = parseYaml(outside.endsWith('\n') ? outside : outside + '\n');
      } catch (e) {
        if (!(e instanceof YamlSyntaxError)) throw e;
        throw new ResourceListError(`ResourceList is not valid YAML: ${e.message}`);
      }
      v = toJS(doc.contents, doc);
    }
    if (v && typeof v === 'object' && !Array.isArray(v)) top = v as Record<string, unknown>;
  }
  if (top.kind !== undefined && top.kind !== 'ResourceList') throw new ResourceListError(`input kind is ${String(top.kind)}, not ResourceList`);
  // An incoming `results` section is dropped from the text and written again, merged, at the end.
  let head = text.slice(0, itemsKeyEnd);
  let tail = text.slice(itemsEnd);
  const res = sections.find((s) => s.key === 'results');
  if (res) {
    if (res.start >= itemsEnd) tail = text.slice(itemsEnd, res.start) + text.slice(res.end);
    else head = text.slice(0, res.start) + text.slice(res.end, itemsKeyEnd);
  }
  const results = Array.isArray(top.results) ? top.results : [];
  return { head, items, tail, functionConfig: top.functionConfig ?? null, results };
}

/** Rewrites any valid ResourceList (flow style, JSON, odd layout) into kpt's block layout. */
export function normalize(text: string): string {
  let doc: Document;
  try {
    doc = parseYaml(text);
  } catch (err) {
    if (!(err instanceof YamlSyntaxError)) throw err;
    throw new ResourceListError(`input is not valid YAML: ${err.message}`);
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
  return out + tail + resultsText;
}

export { YamlSyntaxError };
