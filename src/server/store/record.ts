// The text of one log record (one transaction's ops), as the file store frames it
// (docs/persisted-formats.md spells out every key).
//
// Written (version 3): {"r":3,"n":N,"s":[shape...],"o":[op...]}, where N numbers the record:
// 1, 2, 3... across segments and snapshots, so that a record missing anywhere is a gap (see
// log-reader.ts). An end marker, {"r":3,"n":N,"end":"next"|"close"}, is the last frame of a
// segment the writer left (N: the last record before it): `next` when it moved on to the
// following segment, `close` at a graceful close. A shape is an allocation request without its
// owner, hint and (static) prefix; an allocate op is written as [shape index, owner, prefix
// given] with the request's hint and prefix after that when it has them (hint null when only
// the prefix is there); any other op as itself.
// A package's batch asks for many addresses the same way, so its record holds the request
// once instead of once per allocation: a fraction of the bytes and of the JSON.stringify
// work, which the server does on its own thread for every batch and which shows in the
// batched p99.
// Read: that; version 2, the same without "n"; and the JSON array of ops version 1 wrote.
import type { AllocationRequest } from '../../ipam/types.js';
import type { Op } from './ops.js';

/** Shapes a request is compared with, newest first. */
const RECENT = 4;

type Shape = Omit<AllocationRequest, 'owner' | 'hint' | 'prefix'>;
type Row = [number, string, string, (string | null)?, string?];

/** What a frame of a log segment holds. `n` is undefined for records of versions 1 and 2. */
export type Entry = { kind: 'ops'; n: number | undefined; ops: Op[] } | { kind: 'end'; n: number; end: 'next' | 'close' };

/** Record number `n` holding `ops`. */
export function encodeRecord(ops: Op[], n: number): string {
  const shapes: AllocationRequest[] = [];
  let out = '';
  for (const op of ops) {
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
  return `{"r":3,"n":${n},"s":[${s}],"o":[${out}]}`;
}

/** The end marker of a segment whose last record is number `n` (0: none yet). */
export function encodeEnd(n: number, end: 'next' | 'close'): string {
  return `{"r":3,"n":${n},"end":"${end}"}`;
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
  const v = JSON.parse(text) as Op[] | { r: number; n?: unknown; end?: unknown; s: Shape[]; o: (Op | Row)[] };
  if (Array.isArray(v)) return { kind: 'ops', n: undefined, ops: v }; // version 1
  if (v.r !== 2 && v.r !== 3) throw new Error(`unknown record format ${JSON.stringify(v.r)}`);
  let n: number | undefined;
  if (v.r === 3) {
    if (!Number.isSafeInteger(v.n) || (v.n as number) < 0) throw new Error(`record number ${JSON.stringify(v.n)}`);
    n = v.n as number;
    if (v.end !== undefined) {
      if (v.end !== 'next' && v.end !== 'close') throw new Error(`unknown end marker ${JSON.stringify(v.end)}`);
      return { kind: 'end', n, end: v.end };
    }
    if (n === 0) throw new Error('record number 0');
  }
  if (!Array.isArray(v.s) || !Array.isArray(v.o)) throw new Error(`record of format ${v.r} without ops`);
  const shapes = v.s;
  const ops = v.o.map((o): Op => {
    if (!Array.isArray(o)) return o;
    const shape = shapes[o[0]];
    if (!shape) throw new Error(`record names request shape ${o[0]}, it has ${shapes.length}`);
    const req: AllocationRequest = { ...shape, owner: o[1] };
    if (typeof o[3] === 'string') req.hint = o[3];
    if (typeof o[4] === 'string') req.prefix = o[4];
    return { op: 'allocate', req, prefix: o[2] };
  });
  return { kind: 'ops', n, ops };
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
