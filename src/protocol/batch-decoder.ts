// The admin Batch request, read straight from protobuf bytes into the plain objects
// proto-loader would give (LOADER_OPTIONS: fields present only when on the wire, repeated
// fields and maps always present, proto3 `optional` fields with their synthetic oneof name).
// Decoding through protobufjs builds every message twice (decode, then toObject), ~1 KB of
// garbage per request of a batch; a property test checks this decoder against it.
//
// As protobufjs does: a singular message field that appears twice keeps the last one, map
// entries missing a key or value read as "", fields of unknown number are skipped, and a
// message that ends in the middle of a field is an error (grpc-js answers INTERNAL).
import type {
  StringMap,
  WAllocationRequest,
  WApplyNetworkInstanceRequest,
  WBatchRequest,
  WInstancePrefix,
  WLabelSelector,
  WNetworkInstanceRef,
  WPrefixSpec,
} from './messages.js';

/** Protobuf wire reading over one buffer (also used by bench/grpc.bench.ts to check answers). */
export class ProtobufReader {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  varint(): number {
    const buf = this.buf;
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= buf.length) throw new RangeError('index out of range: truncated varint');
      const b = buf[this.pos++]!;
      // fields here are 32-bit: bits above 32 (a negative int32's sign extension) are dropped
      if (i < 5) v += (b & 0x7f) * mul;
      mul *= 128;
      if (b < 0x80) return v % 0x100000000;
    }
    throw new Error('invalid varint encoding');
  }

  /** End offset of a length-delimited field starting here. */
  limit(): number {
    const len = this.varint();
    const end = this.pos + len;
    if (end > this.buf.length) throw new RangeError(`index out of range: ${end} + 0 > ${this.buf.length}`);
    return end;
  }

  string(): string {
    const end = this.limit();
    const s = this.buf.toString('utf8', this.pos, end);
    this.pos = end;
    return s;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint();
        return;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.pos = this.limit();
        return;
      case 5:
        this.pos += 4;
        break;
      default:
        throw new Error(`invalid wire type ${wireType} at offset ${this.pos}`);
    }
    if (this.pos > this.buf.length) throw new RangeError('index out of range: truncated field');
  }
}

function readRef(r: ProtobufReader, end: number): WNetworkInstanceRef {
  const out: WNetworkInstanceRef = {};
  while (r.pos < end) {
    const tag = r.varint();
    switch (tag >>> 3) {
      case 1:
        out.name = r.string();
        break;
      case 2:
        out.namespace = r.string();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return out;
}

/** One map entry (key = 1, value = 2) into `into`. */
function readEntry(r: ProtobufReader, end: number, into: StringMap): void {
  let key = '';
  let value = '';
  while (r.pos < end) {
    const tag = r.varint();
    switch (tag >>> 3) {
      case 1:
        key = r.string();
        break;
      case 2:
        value = r.string();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  // "__proto__" is a label key like any other: an own property, never the prototype
  if (key === '__proto__') Object.defineProperty(into, key, { value, enumerable: true, writable: true, configurable: true });
  else into[key] = value;
}

function readSelector(r: ProtobufReader, end: number): WLabelSelector {
  const out: WLabelSelector = { matchLabels: {}, matchExpressions: [] };
  while (r.pos < end) {
    const tag = r.varint();
    switch (tag >>> 3) {
      case 1:
        readEntry(r, r.limit(), out.matchLabels!);
        break;
      case 2: {
        const e = r.limit();
        const req: { key?: string; operator?: string; values: string[] } = { values: [] };
        while (r.pos < e) {
          const t = r.varint();
          switch (t >>> 3) {
            case 1:
              req.key = r.string();
              break;
            case 2:
              req.operator = r.string();
              break;
            case 3:
              req.values.push(r.string());
              break;
            default:
              r.skip(t & 7);
          }
        }
        out.matchExpressions!.push(req);
        break;
      }
      default:
        r.skip(tag & 7);
    }
  }
  return out;
}

function readAllocationRequest(r: ProtobufReader, end: number): WAllocationRequest {
  const out: WAllocationRequest & { _prefixLength?: string; _index?: string } = { labels: {} };
  while (r.pos < end) {
    const tag = r.varint();
    switch (tag >>> 3) {
      case 1:
        out.owner = r.string();
        break;
      case 2:
        out.networkInstance = readRef(r, r.limit());
        break;
      case 3:
        out.kind = r.string();
        break;
      case 4:
        out.selector = readSelector(r, r.limit());
        break;
      case 5:
        out.prefix = r.string();
        break;
      case 6:
        out.prefixLength = r.varint();
        out._prefixLength = 'prefixLength';
        break;
      case 7:
        out.addressFamily = r.string();
        break;
      case 8:
        out.createPrefix = r.varint() !== 0;
        break;
      case 9:
        readEntry(r, r.limit(), out.labels!);
        break;
      case 10:
        out.index = r.varint();
        out._index = 'index';
        break;
      case 11:
        out.hint = r.string();
        break;
      case 12:
        out.dryRun = r.varint() !== 0;
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return out;
}

function readInstancePrefix(r: ProtobufReader, end: number): WInstancePrefix {
  const out: WInstancePrefix = { labels: {} };
  while (r.pos < end) {
    const tag = r.varint();
    switch (tag >>> 3) {
      case 1:
        out.prefix = r.string();
        break;
      case 2:
        readEntry(r, r.limit(), out.labels!);
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return out;
}

function readApplyNetworkInstance(r: ProtobufReader, end: number): WApplyNetworkInstanceRequest {
  const out: WApplyNetworkInstanceRequest = { prefixes: [] };
  while (r.pos < end) {
    const tag = r.varint();
    switch (tag >>> 3) {
      case 1:
        out.ref = readRef(r, r.limit());
        break;
      case 2:
        out.prefixes!.push(readInstancePrefix(r, r.limit()));
        break;
      case 3:
        out.owner = r.string();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return out;
}

function readPrefixSpec(r: ProtobufReader, end: number): WPrefixSpec {
  const out: WPrefixSpec = { labels: {} };
  while (r.pos < end) {
    const tag = r.varint();
    switch (tag >>> 3) {
      case 1:
        out.networkInstance = readRef(r, r.limit());
        break;
      case 2:
        out.prefix = r.string();
        break;
      case 3:
        out.kind = r.string();
        break;
      case 4:
        out.networkName = r.string();
        break;
      case 5:
        readEntry(r, r.limit(), out.labels!);
        break;
      case 6:
        out.owner = r.string();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return out;
}

/** ipaminjector.admin.v1.BatchRequest from protobuf bytes. */
export function decodeBatchRequest(buf: Buffer): WBatchRequest {
  const r = new ProtobufReader(buf);
  const out: WBatchRequest = { networkInstances: [], prefixes: [], release: [], requests: [], networks: [], clusters: [] };
  while (r.pos < buf.length) {
    const tag = r.varint();
    switch (tag >>> 3) {
      case 1:
        out.package = r.string();
        break;
      case 2:
        out.networkInstances!.push(readApplyNetworkInstance(r, r.limit()));
        break;
      case 3:
        out.prefixes!.push(readPrefixSpec(r, r.limit()));
        break;
      case 4:
        out.release!.push(r.string());
        break;
      case 5:
        out.requests!.push(readAllocationRequest(r, r.limit()));
        break;
      case 6:
        out.prune = r.varint() !== 0;
        break;
      case 7:
        out.dryRun = r.varint() !== 0;
        break;
      case 8:
        out.compact = r.varint() !== 0;
        break;
      case 9:
        out.atomic = r.varint() !== 0;
        break;
      case 10:
        out.networks!.push(r.string());
        break;
      case 11:
        out.clusters!.push(r.string());
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return out;
}
