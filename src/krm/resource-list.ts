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
  const scan = new LayoutScan(text);
  if (!scan.run()) return null;
  const top = readTopLevel(text, scan, isInput, library);
  if (top === NEEDS_LIBRARY) return NEEDS_LIBRARY;
  const { values, error } = top;
  if (values.kind !== undefined && values.kind !== 'ResourceList')
    throw new ResourceListError(`input kind is ${String(values.kind)}, not ResourceList`);
  const results = Array.isArray(values.results) ? values.results : [];
  const { head, tail } = headAndTail(text, scan);
  const out: ResourceListText = { head, items: scan.items(isInput), tail, functionConfig: values.functionConfig ?? null, results };
  if (scan.docEnd < text.length) out.trailer = text.slice(scan.docEnd);
  if (error) out.error = error;
  return out;
}

/** What to do after a line: read the next one, stop (the document ended), or give up (not the fast layout). */
const NEXT = 0;
const END = 1;
const OTHER_LAYOUT = 2;
type Step = typeof NEXT | typeof END | typeof OTHER_LAYOUT;

/** Only comments and blank lines. */
const NOTHING_MORE = /^(\s*(#.*)?\n)*\s*(#.*)?$/;

/**
 * One pass over the lines of the input: where each top-level section starts and ends, and
 * where each item of `items` starts. A line is blank or a comment, a document marker, a line
 * of `items`, a line inside the current section, or a section's `key:` line.
 */
class LayoutScan {
  readonly sections: Section[] = [];
  itemsSection: Section | null = null;
  /** Offset just after the `items:` line. */
  itemsKeyEnd = -1;
  /** Offset where the items end. */
  itemsEnd = -1;
  /** Offset where the document ends (a `...` marker, else the end of the input). */
  docEnd: number;
  private current: Section | null = null;
  private inItems = false;
  private itemsIndent = -1;
  private readonly itemStarts: number[] = [];
  private seenContent = false;

  constructor(private readonly text: string) {
    this.docEnd = text.length;
  }

  /** Scans every line; false when the input is not in the fast reader's layout. */
  run(): boolean {
    const text = this.text;
    const n = text.length;
    for (let pos = 0; pos < n;) {
      let e = text.indexOf('\n', pos);
      if (e < 0) e = n;
      const next = e < n ? e + 1 : n;
      const step = this.line(pos, e, next);
      if (step === END) break;
      if (step === OTHER_LAYOUT) return false;
      pos = next;
    }
    if (!this.itemsSection) return false;
    if (this.itemsEnd < 0) this.itemsEnd = this.docEnd;
    return true;
  }

  /** The items' texts: from each dash line to the next (or the end of the items). */
  items(isInput: boolean): RawItem[] {
    const { text, itemStarts, itemsIndent } = this;
    const items: RawItem[] = [];
    for (let k = 0; k < itemStarts.length; k++) {
      const s = itemStarts[k];
      let t = text.slice(s, k + 1 < itemStarts.length ? itemStarts[k + 1] : this.itemsEnd);
      if (!t.endsWith('\n')) t += '\n';
      items.push(isInput ? { index: k, text: t, dash: itemsIndent, offset: s } : { index: k, text: t, dash: itemsIndent });
    }
    return items;
  }

  /** The line from `pos` to `e` (its newline), `next` the offset of the line after it. */
  private line(pos: number, e: number, next: number): Step {
    const text = this.text;
    let i = pos;
    while (i < e && text.charCodeAt(i) === 32) i++;
    const ind = i - pos;
    if (i === e || text.charCodeAt(i) === 35) return NEXT;
    // A tab in indentation belongs to the section (or item) it sits in: its reader names the line.
    if (text.charCodeAt(i) === 9 && this.current) return NEXT;
    if (ind === 0 && this.seenContent && this.isDocumentEnd(pos, e, next)) return END;
    if (!this.seenContent && this.isDocumentStart(pos, e, ind)) return NEXT;
    if (this.inItems) {
      const step = this.itemsLine(pos, e, ind);
      if (step !== undefined) return step;
    }
    // Content of the current top-level section (a compact list at column 0 included).
    if (ind !== 0 || (this.current && isDashLine(text, pos, e, 0))) return this.current ? NEXT : OTHER_LAYOUT;
    return this.sectionKey(pos, e, next);
  }

  /** The first content line: a `---` there starts the (one) document. */
  private isDocumentStart(pos: number, e: number, ind: number): boolean {
    this.seenContent = true;
    const text = this.text;
    return ind === 0 && text.startsWith('---', pos) && (e === pos + 3 || text.charCodeAt(pos + 3) === 32);
  }

  /** A `...` at column 0 ends the document (true); a second document is an error. */
  private isDocumentEnd(pos: number, e: number, next: number): boolean {
    const text = this.text;
    if (isMarker(text, pos, e, '...')) {
      if (!NOTHING_MORE.test(text.slice(next))) {
        throw new ResourceListError(
          `the input holds more than one YAML document (the first ends at ${position(text, pos)}); kpt sends one ResourceList`,
        );
      }
      if (this.current) this.current.end = pos;
      if (this.inItems) {
        this.inItems = false;
        this.itemsEnd = pos;
      }
      this.docEnd = pos;
      return true;
    }
    if (isMarker(text, pos, e, '---')) {
      throw new ResourceListError(
        `the input holds more than one YAML document (a second starts at ${position(text, pos)}); kpt sends one ResourceList`,
      );
    }
    return false;
  }

  /** A line while in `items`: an item's dash line, a line of that item, or (undefined) the next top-level key. */
  private itemsLine(pos: number, e: number, ind: number): Step | undefined {
    const dash = isDashLine(this.text, pos, e, ind);
    if (this.itemsIndent < 0) {
      if (ind > 0 && !dash) return OTHER_LAYOUT;
      if (dash) this.itemsIndent = ind;
    }
    if (ind === this.itemsIndent && dash) {
      this.itemStarts.push(pos);
      return NEXT;
    }
    if (ind > this.itemsIndent && this.itemsIndent >= 0) return NEXT;
    if (ind !== 0) return OTHER_LAYOUT;
    this.inItems = false;
    this.itemsEnd = pos;
    return undefined;
  }

  /** A top-level `key:` line: it starts a section. */
  private sectionKey(pos: number, e: number, next: number): Step {
    const text = this.text;
    if ('-{["\'?%!&*|>'.includes(text[pos]) || text.startsWith('---', pos) || text.startsWith('...', pos)) return OTHER_LAYOUT;
    let colon = pos;
    while (colon < e && !(text.charCodeAt(colon) === 58 && (colon + 1 === e || text.charCodeAt(colon + 1) === 32))) colon++;
    if (colon >= e) return OTHER_LAYOUT;
    if (this.current) this.current.end = pos;
    const section = { key: text.slice(pos, colon).trim(), start: pos, end: text.length };
    this.current = section;
    this.sections.push(section);
    return section.key === 'items' ? this.itemsKey(section, colon, e, next) : NEXT;
  }

  /** The `items:` line: a block list follows, or it says `[]`. */
  private itemsKey(section: Section, colon: number, e: number, next: number): Step {
    if (this.itemsSection) return OTHER_LAYOUT;
    this.itemsSection = section;
    this.itemsKeyEnd = next;
    const rest = this.text.slice(colon + 1, e).trim();
    if (rest === '' || rest.startsWith('#')) this.inItems = true;
    else if (/^\[\s*\](\s+#.*)?$/.test(rest)) this.itemsEnd = next;
    else return OTHER_LAYOUT;
    return NEXT;
  }
}

/**
 * Everything but the items is small: read it with the yaml library. A syntax error there
 * still echoes the items, and says where the rest went wrong.
 */
function readTopLevel(
  text: string,
  scan: LayoutScan,
  isInput: boolean,
  library: boolean,
): { values: Record<string, unknown>; error?: string } | NeedsLibrary {
  const others = scan.sections.filter((s) => s !== scan.itemsSection);
  const outside = others.map((s) => text.slice(s.start, s.end)).join('');
  if (outside.trim() === '') return { values: {} };
  try {
    const v = readOutside(outside, library);
    if (v === NEEDS_LIBRARY) return NEEDS_LIBRARY;
    return { values: v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {} };
  } catch (e) {
    if (!(e instanceof YamlSyntaxError)) throw e;
    const at = e.offset === undefined || !isInput ? '' : ` at ${position(text, inputOffset(others, e.offset))} of the input`;
    const keys = others.map((s) => s.key).join(', ');
    return { values: {}, error: `the ResourceList outside its items (${keys}) is not valid YAML${at}: ${e.message}` };
  }
}

/**
 * The text before and after the items. An incoming `results` section is dropped from it and
 * written again, merged, at the end.
 */
function headAndTail(text: string, scan: LayoutScan): { head: string; tail: string } {
  const { itemsKeyEnd, itemsEnd, docEnd } = scan;
  const res = scan.sections.find((s) => s.key === 'results');
  if (res && res.start >= itemsEnd)
    return { head: text.slice(0, itemsKeyEnd), tail: text.slice(itemsEnd, res.start) + text.slice(res.end, docEnd) };
  if (res)
    return { head: text.slice(0, res.start) + text.slice(res.end, itemsKeyEnd), tail: text.slice(itemsEnd, Math.max(itemsEnd, docEnd)) };
  return { head: text.slice(0, itemsKeyEnd), tail: text.slice(itemsEnd, Math.max(itemsEnd, docEnd)) };
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
