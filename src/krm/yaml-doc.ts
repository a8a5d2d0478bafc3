// The `yaml` library path, for resources the fast block reader does not take and for edits
// it does not make (injections). The failsafe schema keeps every scalar as the string it was
// written as, so `0755`, `2021-01-01`, `yes` and quoting survive a round trip; values are
// resolved to JS by the same rules as the fast reader (scalar.ts).
import type { Document, Node, Pair, Scalar, YAMLMap, YAMLSeq } from 'yaml';
import { yamlLib } from './yaml-lib.js';
import { newObject } from './block-yaml.js';
import { isSafePlainString, resolvePlain, type ScalarValue } from './scalar.js';
import { checkDepth, MAX_ALIASES, MAX_DEPTH, MAX_EXPANDED_NODES, tooDeep, YamlLimitError, YamlSyntaxError } from './yaml-limits.js';

export { YamlSyntaxError, YamlLimitError };

const PARSE_OPTIONS = { version: '1.1', schema: 'failsafe', prettyErrors: false, uniqueKeys: true } as const;
const STRING_OPTIONS = { lineWidth: 0, minContentWidth: 0, indentSeq: false } as const;

export function parseYaml(text: string): Document {
  checkDepth(text);
  const doc = yamlLib().parseDocument(text, PARSE_OPTIONS);
  if (doc.errors.length > 0) throw new YamlSyntaxError(doc.errors[0].message, doc.errors[0].pos?.[0]);
  return doc;
}

/** Parses one ResourceList item (its text starts with the dash line, dash at column `dash`). */
export function parseItemDoc(itemText: string, dash: number): Document {
  const nl = itemText.indexOf('\n');
  const first = nl < 0 ? itemText : itemText.slice(0, nl);
  if (first[dash] !== '-') throw new YamlSyntaxError('item does not start with a dash', 0);
  const text = first.slice(0, dash) + ' ' + first.slice(dash + 1) + (nl < 0 ? '' : itemText.slice(nl));
  return parseYaml(text);
}

/** Writes a document back as a ResourceList item with its dash at column `dash`. */
export function itemDocToText(doc: Document, dash: number): string {
  const body = doc.toString(STRING_OPTIONS);
  const pad = ' '.repeat(dash + 2);
  const lines = body.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const out = lines.map((l) => (l === '' ? l : pad + l));
  out[0] = ' '.repeat(dash) + '- ' + out[0].slice(dash + 2);
  return out.join('\n') + '\n';
}

export function docToText(doc: Document): string {
  return doc.toString(STRING_OPTIONS);
}

/** JS value of a node, plain scalars resolved like the fast reader does; aliases expanded within limits. */
export function toJS(node: unknown, doc?: Document): unknown {
  return new Expander(doc).value(node);
}

class Expander {
  private aliases = 0;
  private nodes = 0;
  private depth = 0;
  constructor(private readonly doc?: Document) {}

  value(node: unknown): unknown {
    if (node === null || node === undefined) return null;
    if (++this.nodes > MAX_EXPANDED_NODES)
      throw new YamlLimitError(`aliases expand to more than ${MAX_EXPANDED_NODES} nodes`, offsetOf(node));
    if (yamlLib().isAlias(node)) {
      if (++this.aliases > MAX_ALIASES) throw new YamlLimitError(`more than ${MAX_ALIASES} alias references`, offsetOf(node));
      return this.doc ? this.value(node.resolve(this.doc)) : null;
    }
    if (yamlLib().isScalar(node)) {
      const v = node.value;
      if (node.type === 'PLAIN' || node.type === undefined) {
        if (typeof v === 'string') return resolvePlain(v);
        return v ?? null;
      }
      return v === null || v === undefined ? '' : String(v);
    }
    if (++this.depth > MAX_DEPTH) throw tooDeep(offsetOf(node));
    try {
      if (yamlLib().isMap(node)) {
        const out = newObject();
        for (const pair of node.items) {
          const k = this.value(pair.key);
          out[k === null ? '' : String(k)] = this.value(pair.value);
        }
        return out;
      }
      if (yamlLib().isSeq(node)) return node.items.map((n) => this.value(n));
      return null;
    } finally {
      this.depth--;
    }
  }
}

function offsetOf(node: unknown): number | undefined {
  return (node as { range?: [number, number, number] }).range?.[0];
}

/** A scalar node that reads back as `v` in any YAML 1.1/1.2 reader, even inside a failsafe document. */
export function scalarNode(v: ScalarValue): Scalar {
  if (v === null) {
    const s = new (yamlLib().Scalar)('null');
    s.type = 'PLAIN';
    return s;
  }
  if (typeof v !== 'string') {
    const s = new (yamlLib().Scalar)(String(v));
    s.type = 'PLAIN';
    return s;
  }
  const s = new (yamlLib().Scalar)(v);
  s.type = isSafePlainString(v) ? 'PLAIN' : 'QUOTE_DOUBLE';
  return s;
}

/** Builds nodes for plain data (objects, arrays, scalars) with safe quoting. */
export function dataNode(v: unknown): Node {
  if (Array.isArray(v)) {
    const seq = new (yamlLib().YAMLSeq)();
    for (const x of v) seq.items.push(dataNode(x));
    return seq;
  }
  if (v !== null && typeof v === 'object') {
    const map = new (yamlLib().YAMLMap)();
    for (const [k, x] of Object.entries(v)) map.items.push(mapPair(k, dataNode(x)));
    return map;
  }
  return scalarNode(v as ScalarValue);
}

function mapPair(k: string, value: Node): Pair<Scalar, Node> {
  return new (yamlLib().Pair)(scalarNode(k), value) as Pair<Scalar, Node>;
}

/** Sets a key in a map node, keeping the key's position when it exists. */
export function mapSet(map: YAMLMap, key: string, value: Node): void {
  for (const pair of map.items) {
    if (yamlLib().isScalar(pair.key) && String(pair.key.value) === key) {
      pair.value = value;
      return;
    }
  }
  map.items.push(mapPair(key, value));
}

export function mapGet(map: YAMLMap, key: string): unknown {
  for (const pair of map.items) if (yamlLib().isScalar(pair.key) && String(pair.key.value) === key) return pair.value;
  return undefined;
}

export function mapDelete(map: YAMLMap, key: string): boolean {
  const i = map.items.findIndex((p) => yamlLib().isScalar(p.key) && String(p.key.value) === key);
  if (i < 0) return false;
  map.items.splice(i, 1);
  return true;
}

/** Replaces a scalar's value and keeps its quoting style when that still reads back right. */
export function setScalarKeepingStyle(old: unknown, v: ScalarValue): Node {
  const n = scalarNode(v);
  if (yamlLib().isScalar(old) && typeof v === 'string') {
    if (old.type === 'QUOTE_DOUBLE' || old.type === 'QUOTE_SINGLE') n.type = old.type;
  }
  return n;
}

/** Turns every flow collection into block style and unquotes plain keys (JSON input becomes kpt-like YAML). */
export function blockStyle(doc: Document): void {
  yamlLib().visit(doc, {
    Collection(_key, node) {
      node.flow = false;
    },
    Scalar(key, node) {
      if (key === 'key' && typeof node.value === 'string' && isSafePlainString(node.value)) node.type = 'PLAIN';
    },
  });
}

export const isMap = (n: unknown): n is YAMLMap => yamlLib().isMap(n);
export const isSeq = (n: unknown): n is YAMLSeq => yamlLib().isSeq(n);
export const isScalar = (n: unknown): n is Scalar => yamlLib().isScalar(n);
export const newMap = (): YAMLMap => new (yamlLib().YAMLMap)();
export const newSeq = (): YAMLSeq => new (yamlLib().YAMLSeq)();
export type { YAMLMap, YAMLSeq, Scalar, Document };
