// One resource of the ResourceList: its text, read on demand (fast block reader, else the
// yaml library), and the few edits the function makes to it.
import { Unsupported, parseItem, type YMap } from './block-yaml.js';
import { applySplices, editNestedList, setChildScalars, type ListEdit } from './block-edit.js';
import type { RawItem } from './resource-list.js';
import type { ScalarValue } from './scalar.js';
import {
  dataNode,
  isMap,
  isSeq,
  itemDocToText,
  mapDelete,
  mapGet,
  mapSet,
  newMap,
  newSeq,
  parseItemDoc,
  setScalarKeepingStyle,
  toJS,
  type Document,
  type YAMLMap,
  type YAMLSeq,
} from './yaml-doc.js';

export type Obj = Record<string, unknown>;

const headerRes = new Map<number, { kind: RegExp; apiVersion: RegExp }>();
function headerRe(dash: number): { kind: RegExp; apiVersion: RegExp } {
  let r = headerRes.get(dash);
  if (!r) {
    const lead = `^(?: {${dash}}- | {${dash + 2}})`;
    r = { kind: new RegExp(`${lead}kind:[ \\t]*(.*)$`, 'm'), apiVersion: new RegExp(`${lead}apiVersion:[ \\t]*(.*)$`, 'm') };
    headerRes.set(dash, r);
  }
  return r;
}

function cleanHeaderValue(raw: string): string | undefined {
  let v = raw.replace(/\s+#.*$/, '').trim();
  if (/^"[^"\\]*"$/.test(v) || /^'[^']*'$/.test(v)) v = v.slice(1, -1);
  if (v === '' || /^[&*!|>{[\-"'%@`]/.test(v)) return undefined;
  return v;
}

export class Item {
  readonly index: number;
  readonly dash: number;
  readonly original: string;
  /** Offset of the item in the input text, when known (error positions). */
  readonly offset?: number;
  private _text: string;
  private tree: YMap | null | undefined;
  private _value: Obj | null | undefined;
  /** check() passed on the fast reader (nothing kept). */
  private checked = false;
  /** Set after the first read that needed the yaml library (tests and benchmarks look). */
  usedLibrary = false;

  constructor(raw: RawItem) {
    this.index = raw.index;
    this.dash = raw.dash;
    this.original = raw.text;
    this.offset = raw.offset;
    this._text = raw.text;
  }

  get text(): string {
    return this._text;
  }
  get changed(): boolean {
    return this._text !== this.original;
  }

  /** `kind` read from the text without parsing (undefined: not sure, parse to know). */
  quickKind(): string | undefined {
    const m = headerRe(this.dash).kind.exec(this._text);
    return m ? cleanHeaderValue(m[1]) : undefined;
  }
  quickApiVersion(): string | undefined {
    const m = headerRe(this.dash).apiVersion.exec(this._text);
    return m ? cleanHeaderValue(m[1]) : undefined;
  }

  /** The resource as plain data (null when the item is not a mapping). Throws YamlSyntaxError. */
  value(): Obj | null {
    if (this._value !== undefined) return this._value;
    try {
      const { node } = parseItem(this._text, this.dash);
      this.tree = node.type === 'map' ? node : null;
      this._value = node.type === 'map' ? node.value : null;
    } catch (err) {
      if (!(err instanceof Unsupported)) throw err;
      this.tree = null;
      this.usedLibrary = true;
      const doc = parseItemDoc(this._text, this.dash);
      const v = toJS(doc.contents, doc);
      this._value = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : null;
    }
    return this._value;
  }

  /**
   * Whether reading the item (value() when `keep`, else check()) needs the yaml library. The
   * fast reader reads it now and keeps the answer for that call. Invalid YAML needs nothing:
   * the read reports it.
   */
  needsLibraryToRead(keep: boolean): boolean {
    if (this._value !== undefined || (!keep && this.checked)) return false;
    try {
      if (keep) {
        const { node } = parseItem(this._text, this.dash);
        this.tree = node.type === 'map' ? node : null;
        this._value = node.type === 'map' ? node.value : null;
      } else {
        parseItem(this._text, this.dash, false);
        this.checked = true;
      }
      return false;
    } catch (err) {
      return err instanceof Unsupported;
    }
  }

  /**
   * Checks that the item is valid YAML without keeping what was read (for resources the
   * function does not own: most are never looked at again). Throws YamlSyntaxError.
   */
  check(): void {
    if (this._value !== undefined || this.checked) return;
    try {
      parseItem(this._text, this.dash, false);
    } catch (err) {
      if (!(err instanceof Unsupported)) throw err;
      this.usedLibrary = true;
      parseItemDoc(this._text, this.dash);
    }
  }

  private setText(t: string): void {
    this._text = t;
    this.tree = undefined;
    this._value = undefined;
    this.checked = false;
  }

  /** The fast reader's tree, or null when the item needs the library (never loads or uses it). */
  private fastTree(): YMap | null {
    if (this.tree === undefined) this.needsLibraryToRead(true);
    return this.tree ?? null;
  }

  /** Edits through the yaml library's Document API (any YAML, any path). */
  editDoc(fn: (doc: Document, root: YAMLMap) => void): void {
    const doc = parseItemDoc(this._text, this.dash);
    if (!isMap(doc.contents)) throw new Unsupported('resource is not a mapping');
    fn(doc, doc.contents as YAMLMap);
    this.setText(itemDocToText(doc, this.dash));
  }

  /** Sets (or with undefined removes) scalar fields under a top-level key, e.g. status.prefix. */
  setFields(key: string, fields: Record<string, ScalarValue | undefined>): void {
    if (!this.setFieldsFast(key, fields)) this.setFieldsWithLibrary(key, fields);
  }

  /** setFields by splicing the text; false when the item needs the yaml library for it. */
  setFieldsFast(key: string, fields: Record<string, ScalarValue | undefined>): boolean {
    const tree = this.fastTree();
    if (!tree) return false;
    try {
      this.setText(applySplices(this._text, setChildScalars(this._text, tree, key, fields)));
      return true;
    } catch (err) {
      if (!(err instanceof Unsupported)) throw err;
      return false;
    }
  }

  setFieldsWithLibrary(key: string, fields: Record<string, ScalarValue | undefined>): void {
    this.usedLibrary = true;
    this.editDoc((_doc, root) => {
      let m = mapGet(root, key);
      const defined = Object.values(fields).some((v) => v !== undefined);
      if (!isMap(m)) {
        if (!defined) return;
        m = newMap();
        mapSet(root, key, m as YAMLMap);
      }
      const map = m as YAMLMap;
      for (const [k, v] of Object.entries(fields)) {
        if (v === undefined) mapDelete(map, k);
        else mapSet(map, k, setScalarKeepingStyle(mapGet(map, k), v));
      }
      if (map.items.length === 0) mapDelete(root, key);
    });
  }

  /** Edits the mapping list at key1.key2 (Kptfile status.conditions). */
  editList(key1: string, key2: string, edit: ListEdit): void {
    if (!this.editListFast(key1, key2, edit)) this.editListWithLibrary(key1, key2, edit);
  }

  /** editList by splicing the text; false when the item needs the yaml library for it. */
  editListFast(key1: string, key2: string, edit: ListEdit): boolean {
    const tree = this.fastTree();
    if (!tree) return false;
    try {
      this.setText(applySplices(this._text, editNestedList(this._text, tree, key1, key2, edit)));
      return true;
    } catch (err) {
      if (!(err instanceof Unsupported)) throw err;
      return false;
    }
  }

  editListWithLibrary(key1: string, key2: string, edit: ListEdit): void {
    this.usedLibrary = true;
    this.editDoc((_doc, root) => {
      let m1 = mapGet(root, key1);
      if (!isMap(m1)) {
        if (edit.append.length === 0) return;
        m1 = newMap();
        mapSet(root, key1, m1 as YAMLMap);
      }
      let seq = mapGet(m1 as YAMLMap, key2);
      if (!isSeq(seq)) {
        if (edit.append.length === 0) return;
        seq = newSeq();
        mapSet(m1 as YAMLMap, key2, seq as YAMLSeq);
      }
      const s = seq as YAMLSeq;
      const kept: unknown[] = [];
      s.items.forEach((node, i) => {
        if (edit.remove.has(i)) return;
        const u = edit.update.get(i);
        if (u && isMap(node)) {
          for (const [k, v] of Object.entries(u)) {
            if (v === undefined) mapDelete(node, k);
            else mapSet(node, k, setScalarKeepingStyle(mapGet(node, k), v));
          }
        }
        kept.push(node);
      });
      for (const a of edit.append) kept.push(dataNode(a));
      s.items = kept;
      if (kept.length === 0) {
        mapDelete(m1 as YAMLMap, key2);
        if ((m1 as YAMLMap).items.length === 0) mapDelete(root, key1);
      }
    });
  }
}

export type { ListEdit };
