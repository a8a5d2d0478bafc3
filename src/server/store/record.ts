// The one codec of the file store's log records: the payload of each frame of a segment
// (segment-file.ts, frame.ts). Code outside this file sees only `Entry`, with named fields;
// the one-letter keys below are the format on disk (changing them needs a version bump).
// docs/persisted-formats.md links here.
//
// Version 3, as written:
//   record:     {"r":3,"n":N,"s":[shape...],"o":[op...]}
//   end marker: {"r":3,"n":N,"end":"next"|"close"}
// - `r`: the format version (3).
// - `n`: a record's number, 1, 2, 3... across segments and snapshots, so that a record missing
//   anywhere is a gap (log-reader.ts); for an end marker, the number of the last record before
//   it (0: none yet).
// - `end`: the last frame of a segment the writer left: `next` when it moved on to the
//   following segment, `close` at a graceful close.
// - `s`: shapes, allocation requests without their owner, hint and (static) prefix, each once
//   per record: a package's batch asks for many addresses the same way, so the record holds the
//   request once instead of once per allocation (fewer bytes, less JSON to write).
// - `o`: the ops. An allocate op is a row [shape index, owner, prefix given], then the
//   request's hint and prefix when it has them (hint null when only the prefix is there); any
//   other op is itself (ops.ts).
// Read too: version 2 (the same without `n`) and version 1 (a JSON array of ops).
import type { AllocationRequest } from '../../ipam/types.js';
import type { Op } from './ops.js';

/** Shapes a request is compared with, newest first. */
const RECENT = 4;

type Shape = Omit<AllocationRequest, 'owner' | 'hint' | 'prefix'>;
/** An allocate op on disk: [shape index, owner, prefix given, hint, request's prefix]. */
type Row = [number, string, string, (string | null)?, string?];
/** A version 2 or 3 frame as JSON holds it. */
interface RecordJson {
  r: number;
  n?: unknown;
  end?: unknown;
  s: Shape[];
  o: (Op | Row)[];
}

/** One transaction's ops; `number` is undefined for records of versions 1 and 2. */
export interface OpsRecord {
  kind: 'ops';
  number: number | undefined;
  ops: Op[];
}

/** The last frame of a segment the writer left; `after`: the number of the last record before it. */
export interface EndMarker {
  kind: 'end';
  after: number;
  end: 'next' | 'close';
}

/** What a frame of a log segment holds. */
export type Entry = OpsRecord | EndMarker;

/** The text of record number `record.number` holding `record.ops`. */
export function encodeRecord(record: { number: number; ops: readonly Op[] }): string {
  const shapes: AllocationRequest[] = [];
  let out = '';
  for (const op of record.ops) {
    if (out) out += ',';
    if (op.op !== 'allocate') {
      out += JSON.stringify(op);
      continue;
    }
    const { req } = op;
    // the last few shapes only: requests that all differ (static prefixes) stay linear
    let i = shapes.length - 1;
    const stop = Math.max(0, shapes.length - RECENT);
    while (i >= stop && !sameShape(shapes[i]!, req)) i--;
    if (i < stop) i = shapes.push(req) - 1;
    const extra =
      req.prefix !== undefined
        ? `,${req.hint === undefined ? 'null' : str(req.hint)},${str(req.prefix)}`
        : req.hint !== undefined
          ? `,${str(req.hint)}`
          : '';
    out += `[${i},${str(req.owner)},${str(op.prefix)}${extra}]`;
  }
  let s = '';
  for (const req of shapes) s += (s ? ',' : '') + JSON.stringify({ ...req, owner: undefined, hint: undefined, prefix: undefined });
  return `{"r":3,"n":${record.number},"s":[${s}],"o":[${out}]}`;
}

/** The text of an end marker. */
export function encodeEnd(marker: Omit<EndMarker, 'kind'>): string {
  return `{"r":3,"n":${marker.after},"end":"${marker.end}"}`;
}

/** A JSON string; most owners and prefixes need no escaping, and checking is cheaper than stringify. */
function str(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u2028\u2029\ud800-\udfff]/;

/** The ops of a record of any version (an end marker holds none). */
export function decodeRecord(text: string): Op[] {
  const e = decodeEntry(text);
  return e.kind === 'ops' ? e.ops : [];
}

export function decodeEntry(text: string): Entry {
  const v = JSON.parse(text) as Op[] | RecordJson;
  if (Array.isArray(v)) return { kind: 'ops', number: undefined, ops: v }; // version 1
  if (v.r !== 2 && v.r !== 3) throw new Error(`unknown record format ${JSON.stringify(v.r)}`);
  let number: number | undefined;
  if (v.r === 3) {
    if (!Number.isSafeInteger(v.n) || (v.n as number) < 0) throw new Error(`record number ${JSON.stringify(v.n)}`);
    number = v.n as number;
    if (v.end !== undefined) {
      if (v.end !== 'next' && v.end !== 'close') throw new Error(`unknown end marker ${JSON.stringify(v.end)}`);
      return { kind: 'end', after: number, end: v.end };
    }
    if (number === 0) throw new Error('record number 0');
  }
  if (!Array.isArray(v.s) || !Array.isArray(v.o)) throw new Error(`record of format ${v.r} without ops`);
  const shapes = v.s;
  const ops = v.o.map((o): Op => (Array.isArray(o) ? allocateOp(o, shapes) : o));
  return { kind: 'ops', number, ops };
}

function allocateOp([shapeIndex, owner, prefix, hint, requested]: Row, shapes: Shape[]): Op {
  const shape = shapes[shapeIndex];
  if (!shape) throw new Error(`record names request shape ${shapeIndex}, it has ${shapes.length}`);
  const req: AllocationRequest = { ...shape, owner };
  if (typeof hint === 'string') req.hint = hint;
  if (typeof requested === 'string') req.prefix = requested;
  return { op: 'allocate', req, prefix };
}

/** Whether two requests differ at most in owner, hint and prefix (as JSON: an undefined field is absent). */
function sameShape(a: AllocationRequest, b: AllocationRequest): boolean {
  return (
    a.networkInstance.name === b.networkInstance.name &&
    a.networkInstance.namespace === b.networkInstance.namespace &&
    a.kind === b.kind &&
    a.prefixLength === b.prefixLength &&
    a.addressFamily === b.addressFamily &&
    a.createPrefix === b.createPrefix &&
    a.index === b.index &&
    sameMap(a.labels, b.labels) &&
    (a.selector === undefined) === (b.selector === undefined) &&
    sameMap(a.selector?.matchLabels, b.selector?.matchLabels) &&
    jsonEqual(a.selector?.matchExpressions, b.selector?.matchExpressions) &&
    sameKeys(a, b, REQUEST_FIELDS) &&
    sameKeys(a.selector ?? {}, b.selector ?? {}, SELECTOR_FIELDS)
  );
}

/** String maps, an absent map equal to none but not to an empty one (JSON keeps `{}`). */
function sameMap(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  let n = 0;
  for (const k in a) {
    if (a[k] !== b[k]) return false;
    n++;
  }
  for (const _k in b) n--;
  return n === 0;
}

/** The same fields, and none this record format does not know (those must not be lost). */
function sameKeys(a: object, b: object, known: ReadonlySet<string>): boolean {
  let n = 0;
  for (const k in a) {
    if (!known.has(k)) return false;
    if ((a as Record<string, unknown>)[k] !== undefined) n++;
  }
  for (const k in b) {
    if (!known.has(k)) return false;
    if ((b as Record<string, unknown>)[k] !== undefined) n--;
  }
  return n === 0;
}
const REQUEST_FIELDS: ReadonlySet<string> = new Set([
  'owner',
  'hint',
  'networkInstance',
  'kind',
  'selector',
  'prefix',
  'prefixLength',
  'addressFamily',
  'createPrefix',
  'labels',
  'index',
]);
const SELECTOR_FIELDS: ReadonlySet<string> = new Set(['matchLabels', 'matchExpressions']);

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}
