// The admin Batch answer, written straight into one Buffer. It is the largest message the
// server sends (an outcome per request, up to 10,000), and encoding it through
// proto-loader (fromObject, then protobufjs's Writer with an operation object per field)
// left ~1.3 KB of garbage per allocation for the collector; this leaves the Buffer.
//
// The bytes are exactly those protobufjs writes for the same object (a property test checks
// it against proto-loader): fields in declaration order, a field written when its value is
// not null/undefined (so an explicit "" or 0 is written, as protobufjs does), map entries in
// key order as key = 1, value = 2. Field numbers are those of proto/admin.proto.
//
// Two passes over the object: `measure` computes every nested message's and string's byte
// length into one array, in visiting order; `write` visits in the same order and reads them
// back, so nothing is measured twice.
import type { StringMap, WAllocation, WBatchResponse, WError, WNetworkInstanceRef, WOutcome } from './messages.js';

const LEN = 2; // wire type of strings, bytes and nested messages
const VARINT = 0;

function varintSize(v: number): number {
  if (v < 0) return 10; // a negative int32 is written as a 64-bit varint
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // a surrogate pair: 2 UTF-16 units, 4 bytes
      i++;
    } else n += 2; // other 3-byte characters, lone surrogates included (written as U+FFFD)
  }
  return n;
}

/** Byte lengths, in the order `write` needs them. */
type Lengths = number[];

/** A length-delimited field of `len` bytes: one tag byte (field numbers here are < 16). */
const delimited = (len: number) => 1 + varintSize(len) + len;

function measureString(s: string, out: Lengths): number {
  const len = utf8Length(s);
  out.push(len);
  return delimited(len);
}

function measureRef(r: WNetworkInstanceRef, out: Lengths): number {
  const at = out.push(0) - 1;
  let n = 0;
  if (r.name != null) n += measureString(r.name, out);
  if (r.namespace != null) n += measureString(r.namespace, out);
  out[at] = n;
  return delimited(n);
}

function measureMap(m: StringMap, out: Lengths): number {
  let n = 0;
  for (const k of Object.keys(m)) {
    const at = out.push(0) - 1;
    const entry = measureString(k, out) + measureString(m[k]!, out);
    out[at] = entry;
    n += delimited(entry);
  }
  return n;
}

function measureAllocation(a: WAllocation, out: Lengths): number {
  const at = out.push(0) - 1;
  let n = 0;
  if (a.owner != null) n += measureString(a.owner, out);
  if (a.networkInstance != null) n += measureRef(a.networkInstance, out);
  if (a.kind != null) n += measureString(a.kind, out);
  if (a.addressFamily != null) n += measureString(a.addressFamily, out);
  if (a.prefix != null) n += measureString(a.prefix, out);
  if (a.gateway != null) n += measureString(a.gateway, out);
  if (a.parent != null) n += measureString(a.parent, out);
  if (a.labels != null) n += measureMap(a.labels, out);
  out[at] = n;
  return delimited(n);
}

function measureError(e: WError, out: Lengths): number {
  const at = out.push(0) - 1;
  let n = 0;
  if (e.code != null) n += 1 + varintSize(e.code | 0);
  if (e.message != null) n += measureString(e.message, out);
  if (e.reason != null) n += measureString(e.reason, out);
  if (e.networkInstance != null) n += measureString(e.networkInstance, out);
  if (e.selector != null) n += measureString(e.selector, out);
  if (e.prefix != null) n += measureString(e.prefix, out);
  if (e.field != null) n += measureString(e.field, out);
  if (e.dependents != null) for (const d of e.dependents) n += measureString(d, out);
  if (e.subject != null) n += measureString(e.subject, out);
  out[at] = n;
  return delimited(n);
}

function measureOutcome(o: WOutcome, out: Lengths): number {
  const at = out.push(0) - 1;
  let n = 0;
  if (o.allocation != null) n += measureAllocation(o.allocation, out);
  if (o.error != null) n += measureError(o.error, out);
  out[at] = n;
  return delimited(n);
}

class Writer {
  pos = 0;
  next = 0;
  constructor(
    readonly buf: Buffer,
    readonly lengths: Lengths,
  ) {}

  varint(v: number): void {
    const buf = this.buf;
    if (v < 0) {
      // two's complement over 64 bits: the low 32 bits, then ones
      let lo = v >>> 0;
      for (let i = 0; i < 4; i++) {
        buf[this.pos++] = (lo & 0x7f) | 0x80;
        lo >>>= 7;
      }
      buf[this.pos++] = (lo & 0x0f) | 0x70 | 0x80;
      for (let i = 0; i < 4; i++) buf[this.pos++] = 0xff;
      buf[this.pos++] = 0x01;
      return;
    }
    while (v >= 0x80) {
      buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    buf[this.pos++] = v;
  }

  /** Tag and length of a length-delimited field whose length was measured. */
  open(field: number): void {
    this.buf[this.pos++] = (field << 3) | LEN;
    this.varint(this.lengths[this.next++]!);
  }

  string(field: number, s: string): void {
    const len = this.lengths[this.next];
    this.open(field);
    if (len! > 0) this.pos += this.buf.write(s, this.pos, 'utf8');
  }
}

function writeRef(w: Writer, field: number, r: WNetworkInstanceRef): void {
  w.open(field);
  if (r.name != null) w.string(1, r.name);
  if (r.namespace != null) w.string(2, r.namespace);
}

function writeAllocation(w: Writer, field: number, a: WAllocation): void {
  w.open(field);
  if (a.owner != null) w.string(1, a.owner);
  if (a.networkInstance != null) writeRef(w, 2, a.networkInstance);
  if (a.kind != null) w.string(3, a.kind);
  if (a.addressFamily != null) w.string(4, a.addressFamily);
  if (a.prefix != null) w.string(5, a.prefix);
  if (a.gateway != null) w.string(6, a.gateway);
  if (a.parent != null) w.string(7, a.parent);
  if (a.labels != null) {
    for (const k of Object.keys(a.labels)) {
      w.open(8);
      w.string(1, k);
      w.string(2, a.labels[k]!);
    }
  }
}

function writeError(w: Writer, field: number, e: WError): void {
  w.open(field);
  if (e.code != null) {
    w.buf[w.pos++] = (1 << 3) | VARINT;
    w.varint(e.code | 0);
  }
  if (e.message != null) w.string(2, e.message);
  if (e.reason != null) w.string(3, e.reason);
  if (e.networkInstance != null) w.string(4, e.networkInstance);
  if (e.selector != null) w.string(5, e.selector);
  if (e.prefix != null) w.string(6, e.prefix);
  if (e.field != null) w.string(7, e.field);
  if (e.dependents != null) for (const d of e.dependents) w.string(8, d);
  if (e.subject != null) w.string(9, e.subject);
}

/** ipaminjector.admin.v1.BatchResponse as protobuf bytes. */
/** The encoded size of a BatchResponse, measured without encoding it. */
export function batchResponseSize(r: WBatchResponse): number {
  const lengths: Lengths = [];
  let size = 0;
  for (const o of r.outcomes ?? []) size += measureOutcome(o, lengths);
  for (const e of r.spaceErrors ?? []) size += measureError(e, lengths);
  for (const a of r.released ?? []) size += measureAllocation(a, lengths);
  return size;
}

/** The bytes one Allocation adds to a repeated field (tag and length included). */
export function allocationFieldSize(a: WAllocation): number {
  return measureAllocation(a, []);
}

export function encodeBatchResponse(r: WBatchResponse): Buffer {
  const lengths: Lengths = [];
  let size = 0;
  for (const o of r.outcomes ?? []) size += measureOutcome(o, lengths);
  for (const e of r.spaceErrors ?? []) size += measureError(e, lengths);
  for (const a of r.released ?? []) size += measureAllocation(a, lengths);
  const w = new Writer(Buffer.allocUnsafe(size), lengths);
  for (const o of r.outcomes ?? []) {
    w.open(1);
    if (o.allocation != null) writeAllocation(w, 1, o.allocation);
    if (o.error != null) writeError(w, 2, o.error);
  }
  for (const e of r.spaceErrors ?? []) writeError(w, 2, e);
  for (const a of r.released ?? []) writeAllocation(w, 3, a);
  if (w.pos !== size) throw new Error(`BatchResponse encoder wrote ${w.pos} bytes, measured ${size}`);
  return w.buf;
}
