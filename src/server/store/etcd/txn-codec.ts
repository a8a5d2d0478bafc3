// etcd's KV.Txn messages as the store's transactions use them, written and read by hand
// (field numbers: etcd's rpc.proto and kv.proto, the copies etcd3 ships). etcd3's own `kv.txn`
// builds a protobufjs message from a plain object and turns every message of the answer back
// into one (a header per write, defaults filled in, revisions as strings); on the commit path
// that cost more CPU and garbage than the call itself. The request is one Buffer sized
// beforehand, keys written straight from their strings; the answer yields only what readAnswer
// (txn.ts) reads. test/etcd/txn-codec.test.ts checks both against etcd3's protobuf codec.

/** What one compare checks: a key's value, or its create or mod revision, equal to this. */
export type TxnCompare = { key: string; target: 'value'; value: string } | { key: string; target: 'create' | 'mod'; revision: number };

/** One operation: the puts and deletes on success, the read-backs on failure. */
export type TxnOp =
  { op: 'put'; key: string; value: Buffer | string } | { op: 'delete'; key: string } | { op: 'range'; key: string; keysOnly: boolean };

export interface TxnRequestSpec {
  compare: TxnCompare[];
  success: TxnOp[];
  failure: TxnOp[];
}

/** The first key-value of a range answer. */
export interface RangeKv {
  value: string;
  modRevision: number;
}

/** What the store reads of etcd's answer. */
export interface TxnAnswer {
  succeeded: boolean;
  /** the header's revision: the transaction's, when it succeeded */
  revision: number;
  /** on failure, per operation answered: the first key-value of its range (undefined: none) */
  ranges: (RangeKv | undefined)[];
}

// field tags: (field number << 3) | wire type (0 varint, 2 length-delimited)
const TXN_COMPARE = 0x0a;
const TXN_SUCCESS = 0x12;
const TXN_FAILURE = 0x1a;
const CMP_RESULT = 0x08;
const CMP_TARGET = 0x10;
const CMP_KEY = 0x1a;
const CMP_CREATE = 0x28;
const CMP_MOD = 0x30;
const CMP_VALUE = 0x3a;
const OP_RANGE = 0x0a;
const OP_PUT = 0x12;
const OP_DELETE = 0x1a;
const KEY = 0x0a;
const PUT_VALUE = 0x12;
const RANGE_KEYS_ONLY = 0x40;
// Compare.CompareTarget
const TARGET = { create: 1, mod: 2, value: 3 } as const;

/** Bytes of a non-negative integer (below 2^53) as a varint. */
function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    size++;
  }
  return size;
}

/** Bytes of a length-delimited field holding `len` bytes (one-byte tag). */
const fieldSize = (len: number): number => 1 + varintSize(len) + len;

/** Sizes every message first (`sizes`, in writing order), then writes into one Buffer. */
class Encoder {
  private readonly sizes: number[] = [];
  private next = 0;
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;

  encode(spec: TxnRequestSpec): Buffer {
    let total = 0;
    for (const c of spec.compare) total += this.compareSize(c);
    for (const o of spec.success) total += this.opSize(o);
    for (const o of spec.failure) total += this.opSize(o);
    this.buf = Buffer.allocUnsafe(total);
    for (const c of spec.compare) this.compare(c);
    for (const o of spec.success) this.op(TXN_SUCCESS, o);
    for (const o of spec.failure) this.op(TXN_FAILURE, o);
    return this.buf;
  }

  /** A message's size is known after its fields': its slot is taken first (writing order). */
  private open(): number {
    return this.sizes.push(0) - 1;
  }

  private close(slot: number, n: number): number {
    this.sizes[slot] = n;
    return n;
  }

  private textSize(s: string): number {
    const n = Buffer.byteLength(s);
    this.sizes.push(n);
    return fieldSize(n);
  }

  /** The compare's field in TxnRequest. Result Equal (0) and the target are written although
   *  defaults, as protobufjs does. */
  private compareSize(c: TxnCompare): number {
    const slot = this.open();
    const body = 4 + this.textSize(c.key) + (c.target === 'value' ? this.textSize(c.value) : 1 + varintSize(c.revision));
    return fieldSize(this.close(slot, body));
  }

  /** The operation's field in TxnRequest: a RequestOp holding one request. */
  private opSize(o: TxnOp): number {
    const outer = this.open();
    const inner = this.open();
    let body = this.textSize(o.key);
    if (o.op === 'put') body += typeof o.value === 'string' ? this.textSize(o.value) : fieldSize(this.close(this.open(), o.value.length));
    else if (o.op === 'range' && o.keysOnly) body += 2;
    return fieldSize(this.close(outer, fieldSize(this.close(inner, body))));
  }

  private compare(c: TxnCompare): void {
    this.tag(TXN_COMPARE, this.sizes[this.next++]!);
    this.varint(CMP_RESULT);
    this.varint(0);
    this.varint(CMP_TARGET);
    this.varint(TARGET[c.target]);
    this.text(CMP_KEY, c.key);
    if (c.target === 'value') this.text(CMP_VALUE, c.value);
    else {
      this.varint(c.target === 'create' ? CMP_CREATE : CMP_MOD);
      this.varint(c.revision);
    }
  }

  private op(field: number, o: TxnOp): void {
    this.tag(field, this.sizes[this.next++]!);
    this.tag(o.op === 'put' ? OP_PUT : o.op === 'delete' ? OP_DELETE : OP_RANGE, this.sizes[this.next++]!);
    this.text(KEY, o.key);
    if (o.op === 'put') {
      if (typeof o.value === 'string') this.text(PUT_VALUE, o.value);
      else {
        this.tag(PUT_VALUE, this.sizes[this.next++]!);
        this.buf.set(o.value, this.pos);
        this.pos += o.value.length;
      }
    } else if (o.op === 'range' && o.keysOnly) {
      this.varint(RANGE_KEYS_ONLY);
      this.varint(1);
    }
  }

  private text(tag: number, s: string): void {
    this.tag(tag, this.sizes[this.next++]!);
    this.pos += this.buf.write(s, this.pos);
  }

  private tag(tag: number, len: number): void {
    this.varint(tag);
    this.varint(len);
  }

  private varint(n: number): void {
    while (n >= 0x80) {
      this.buf[this.pos++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.pos++] = n;
  }
}

/** The TxnRequest message. Revisions are non-negative (etcd's are). */
export function encodeTxnRequest(spec: TxnRequestSpec): Buffer {
  return new Encoder().encode(spec);
}

/** Reads protobuf fields of one message, skipping what it is not asked for. */
class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  get more(): boolean {
    return this.pos < this.end;
  }

  varint(): number {
    let n = 0;
    let scale = 1;
    for (;;) {
      if (this.pos >= this.end) throw new Error('etcd answer: truncated varint');
      const b = this.buf[this.pos++]!;
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 0x80;
    }
  }

  /** A length-delimited field's bounds; moves past it. */
  bytes(): [number, number] {
    const len = this.varint();
    const start = this.pos;
    this.pos += len;
    if (this.pos > this.end) throw new Error('etcd answer: truncated field');
    return [start, this.pos];
  }

  sub(): Reader {
    const [start, end] = this.bytes();
    return new Reader(this.buf, start, end);
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 2) this.bytes();
    else if (wire === 1) this.pos += 8;
    else if (wire === 5) this.pos += 4;
    else throw new Error(`etcd answer: unexpected wire type ${wire}`);
    if (this.pos > this.end) throw new Error('etcd answer: truncated field');
  }
}

/** The TxnResponse message: succeeded, the header's revision, and (only when it failed) each
 *  range answer's first key-value. */
export function decodeTxnAnswer(buf: Buffer): TxnAnswer {
  const r = new Reader(buf, 0, buf.length);
  const answer: TxnAnswer = { succeeded: false, revision: 0, ranges: [] };
  const ops: Reader[] = [];
  while (r.more) {
    const tag = r.varint();
    if (tag === 0x0a) answer.revision = headerRevision(r.sub());
    else if (tag === 0x10) answer.succeeded = r.varint() !== 0;
    else if (tag === 0x1a) ops.push(r.sub());
    else r.skip(tag & 7);
  }
  if (!answer.succeeded) for (const op of ops) answer.ranges.push(firstKv(op));
  return answer;
}

/** ResponseHeader.revision (field 3). */
function headerRevision(r: Reader): number {
  let revision = 0;
  while (r.more) {
    const tag = r.varint();
    if (tag === 0x18) revision = r.varint();
    else r.skip(tag & 7);
  }
  return revision;
}

/** ResponseOp.response_range (field 1) -> RangeResponse.kvs (field 2), the first one. */
function firstKv(op: Reader): RangeKv | undefined {
  while (op.more) {
    const tag = op.varint();
    if (tag !== 0x0a) {
      op.skip(tag & 7);
      continue;
    }
    const range = op.sub();
    while (range.more) {
      const t = range.varint();
      if (t === 0x12) return keyValue(range.sub());
      range.skip(t & 7);
    }
  }
  return undefined;
}

/** KeyValue: mod_revision (field 3) and value (field 5). */
function keyValue(r: Reader): RangeKv {
  const kv: RangeKv = { value: '', modRevision: 0 };
  while (r.more) {
    const tag = r.varint();
    if (tag === 0x18) kv.modRevision = r.varint();
    else if (tag === 0x2a) {
      const [start, end] = r.bytes();
      kv.value = r.buf.toString('utf8', start, end);
    } else r.skip(tag & 7);
  }
  return kv;
}
