// `(json)` injections edit the JSON text in place: only the injected value's characters change,
// so numbers JavaScript cannot hold (12345678901234567890), `1500.0`, `1e2`, escapes such as
// `\u2028`, key order, duplicate keys and layout all stay as written.
import { MAX_DEPTH } from './yaml-limits.js';
import type { ScalarValue } from './scalar.js';

export type JsonNode =
  | { t: 'object'; start: number; end: number; members: JsonMember[] }
  | { t: 'array'; start: number; end: number; items: JsonNode[] }
  | { t: 'scalar'; start: number; end: number; value: ScalarValue };

export interface JsonMember {
  key: string;
  /** Offsets of the key's opening quote and just after its closing quote. */
  keyStart: number;
  keyEnd: number;
  value: JsonNode;
}

export class JsonTextError extends Error {
  override readonly name = 'JsonTextError';
}

/** Reads JSON text into nodes that know their spans (strict JSON; at most MAX_DEPTH deep). */
export function parseJsonText(text: string): JsonNode {
  const p = new JsonReader(text);
  const node = p.value(0);
  p.ws();
  if (p.pos !== text.length) p.fail('text after the JSON value');
  return node;
}

class JsonReader {
  pos = 0;
  constructor(private readonly text: string) {}

  fail(what: string): never {
    throw new JsonTextError(`${what} at offset ${this.pos}`);
  }
  ws(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
      this.pos++;
    }
  }
  value(depth: number): JsonNode {
    this.ws();
    const c = this.text[this.pos];
    if (c === '{' || c === '[') {
      if (depth >= MAX_DEPTH) this.fail(`JSON nested more than ${MAX_DEPTH} levels deep`);
      return c === '{' ? this.object(depth + 1) : this.array(depth + 1);
    }
    const start = this.pos;
    if (c === '"') return { t: 'scalar', start, end: this.stringEnd(), value: JSON.parse(this.text.slice(start, this.pos)) as string };
    const m = /^(?:true|false|null|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)/.exec(this.text.slice(start, start + 400));
    if (!m) this.fail('not a JSON value');
    this.pos += m[0].length;
    const v = JSON.parse(m[0]) as ScalarValue;
    return { t: 'scalar', start, end: this.pos, value: v };
  }
  private stringEnd(): number {
    const t = this.text;
    let i = this.pos + 1;
    while (i < t.length) {
      const c = t.charCodeAt(i);
      if (c === 34) {
        this.pos = i + 1;
        return this.pos;
      }
      if (c === 92) i++;
      else if (c < 32) break;
      i++;
    }
    this.pos = i;
    return this.fail('unterminated string');
  }
  private object(depth: number): JsonNode {
    const start = this.pos++;
    const members: JsonMember[] = [];
    this.ws();
    if (this.text[this.pos] === '}') return { t: 'object', start, end: ++this.pos, members };
    for (;;) {
      this.ws();
      if (this.text[this.pos] !== '"') this.fail('expected a key');
      const ks = this.pos;
      this.stringEnd();
      const keyEnd = this.pos;
      const key = JSON.parse(this.text.slice(ks, keyEnd)) as string;
      this.ws();
      if (this.text[this.pos++] !== ':') this.fail('expected ":"');
      members.push({ key, keyStart: ks, keyEnd, value: this.value(depth) });
      this.ws();
      const c = this.text[this.pos++];
      if (c === '}') return { t: 'object', start, end: this.pos, members };
      if (c !== ',') this.fail('expected "," or "}"');
    }
  }
  private array(depth: number): JsonNode {
    const start = this.pos++;
    const items: JsonNode[] = [];
    this.ws();
    if (this.text[this.pos] === ']') return { t: 'array', start, end: ++this.pos, items };
    for (;;) {
      items.push(this.value(depth));
      this.ws();
      const c = this.text[this.pos++];
      if (c === ']') return { t: 'array', start, end: this.pos, items };
      if (c !== ',') this.fail('expected "," or "]"');
    }
  }
}

/** A member by key: the last one, as JSON.parse and most readers take duplicates. */
export function member(o: Extract<JsonNode, { t: 'object' }>, key: string): JsonNode | undefined {
  for (let i = o.members.length - 1; i >= 0; i--) if (o.members[i].key === key) return o.members[i].value;
  return undefined;
}

/** The text to insert a new member at the end of an object, in the object's own layout. */
export function appendMember(
  text: string,
  o: Extract<JsonNode, { t: 'object' }>,
  key: string,
  valueText: string,
): { at: number; ins: string } {
  const k = JSON.stringify(key);
  if (o.members.length === 0) return { at: o.start + 1, ins: `${k}:${valueText}` };
  // spacing as written: after the last comma (else after the brace), and around the first colon
  const first = o.members[0];
  const last = o.members[o.members.length - 1];
  const prev = o.members[o.members.length - 2];
  const before = prev ? text.slice(text.indexOf(',', prev.value.end) + 1, last.keyStart) : text.slice(o.start + 1, first.keyStart);
  const colon = text.slice(first.keyEnd, first.value.start);
  return { at: last.value.end, ins: `,${before}${k}${colon}${valueText}` };
}

/** The text to append an item at the end of an array. */
export function appendItem(text: string, a: Extract<JsonNode, { t: 'array' }>, valueText: string): { at: number; ins: string } {
  if (a.items.length === 0) return { at: a.start + 1, ins: valueText };
  const prev = a.items[a.items.length - 2];
  const before = prev
    ? text.slice(text.indexOf(',', prev.end) + 1, a.items[a.items.length - 1].start)
    : text.slice(a.start + 1, a.items[0].start);
  return { at: a.items[a.items.length - 1].end, ins: `,${before}${valueText}` };
}
