// Candidate parents of a dynamic request: selectable rows of the network instance whose
// labels match the selector, of the right kind and family, in the documented order (IPv4
// first, then by address, then shorter prefix first). Lists are cached per (class, family,
// selector) and rebuilt only when the instance's selectable rows change, so choosing a
// parent does not grow with the number of allocations.

import { L_NETWORK_NAME, selectorKey, selectorMatches } from './labels.js';
import { KindCode, RowFlag, RowType, type RowStore } from './rows.js';
import type { LabelSelector, Labels } from './label-types.js';

/** What a request asks for, which decides the kinds of parents it can use. */
export const enum RequestClass {
  /** kind network: a host address of a network subnet (fallback: a reserved address by label). */
  Host = 0,
  /** kind network with prefixLength/createPrefix: a new subnet carved from an aggregate. */
  Subnet = 1,
  /** kind loopback: an address from a loopback prefix, else from an aggregate. */
  Loopback = 2,
  /** kind pool: a prefix from a pool, else from an aggregate. */
  Pool = 3,
  /** kind aggregate: static only. */
  Aggregate = 4,
}

/** Host and loopback requests take one address; the other classes take a prefix. */
export const takesAddress = (requestClass: RequestClass): boolean =>
  requestClass === RequestClass.Host || requestClass === RequestClass.Loopback;

/** The class of request an allocation of `kind` answers (`address`: a single address of a network subnet). */
export function classOfAllocation(kind: KindCode, address: boolean): RequestClass {
  switch (kind) {
    case KindCode.Network:
      return address ? RequestClass.Host : RequestClass.Subnet;
    case KindCode.Loopback:
      return RequestClass.Loopback;
    case KindCode.Pool:
      return RequestClass.Pool;
    default:
      return RequestClass.Aggregate;
  }
}

export interface Candidates {
  version: number;
  requestClass: RequestClass;
  family: number;
  /** A copy of the selector the lists were built for (callers may reuse their objects). */
  selector: LabelSelector | undefined;
  primary: number[];
  fallback: number[];
  /** Reserved addresses matching the selector (Host requests only). */
  refs: number[];
}

/** The last lookup of an instance, compared by content first: bulk requests skip building a key. */
export interface CandidateMemo {
  requestClass: number;
  family: number;
  /** A copy of the selector's matchLabels, and how many there are. */
  matchLabels: Record<string, string> | undefined;
  labelCount: number;
  /** The selector's matchExpressions array itself (compared by identity). */
  expressions: unknown;
  entry: Candidates | undefined;
}

/** What candidate lists are built from: the allocator's rows (state.ts's IpamState). */
export interface CandidateRows {
  readonly rows: RowStore;
  readonly meta: ReadonlyMap<number, { readonly selectorLabels: Labels }>;
  compareRows(a: number, b: number): number;
}

/** The per-instance state the lists are cached in (state.ts's Instance). */
export interface CandidateCache {
  /** Bumped whenever a selectable row appears, goes or changes labels. */
  version: number;
  /** Selectable rows: prefixes, reservations, labelled allocated prefixes. */
  selectables: Set<number>;
  cache: Map<string, Candidates>;
  memo: CandidateMemo;
}

const MAX_CACHED = 512;

/** family: 0 ipv4, 1 ipv6, -1 either. */
export function candidates(
  state: CandidateRows,
  inst: CandidateCache,
  requestClass: RequestClass,
  family: number,
  selector: LabelSelector | undefined,
): Candidates {
  const memo = inst.memo;
  if (
    memo.entry !== undefined &&
    memo.entry.version === inst.version &&
    memo.requestClass === requestClass &&
    memo.family === family &&
    sameAsMemo(memo, selector)
  ) {
    return memo.entry;
  }
  const e = lookup(state, inst, requestClass, family, selector);
  memo.requestClass = requestClass;
  memo.family = family;
  memo.entry = e;
  memo.expressions = selector?.matchExpressions;
  memo.matchLabels = undefined;
  memo.labelCount = 0;
  const ml = selector?.matchLabels;
  if (ml) {
    memo.matchLabels = {};
    for (const k in ml) {
      memo.matchLabels[k] = ml[k];
      memo.labelCount++;
    }
  }
  return e;
}

function sameAsMemo(memo: CandidateMemo, selector: LabelSelector | undefined): boolean {
  if (selector?.matchExpressions !== memo.expressions) return false; // expressions: same array only
  const ml = selector?.matchLabels;
  let n = 0;
  if (ml) {
    const m = memo.matchLabels;
    if (!m) {
      for (const _ in ml) return false;
      return memo.labelCount === 0;
    }
    for (const k in ml) {
      if (m[k] !== ml[k]) return false;
      n++;
    }
  }
  return n === memo.labelCount;
}

function lookup(
  state: CandidateRows,
  inst: CandidateCache,
  requestClass: RequestClass,
  family: number,
  selector: LabelSelector | undefined,
): Candidates {
  const key = requestClass + '|' + family + '|' + selectorKey(selector);
  let e = inst.cache.get(key);
  if (e && e.version === inst.version) return e;
  e = build(state, inst, requestClass, family, selector);
  if (inst.cache.size >= MAX_CACHED) inst.cache.clear();
  inst.cache.set(key, e);
  return e;
}

const enum Slot {
  None = 0,
  Primary = 1,
  Fallback = 2,
  Ref = 3,
}

/** The list a prefix of each kind joins, per request class; indexed by KindCode (aggregate, network, pool, loopback). */
const SLOT_BY_KIND: Record<RequestClass, readonly Slot[]> = {
  [RequestClass.Host]: [Slot.None, Slot.Primary, Slot.None, Slot.None],
  [RequestClass.Subnet]: [Slot.Primary, Slot.None, Slot.None, Slot.None],
  [RequestClass.Loopback]: [Slot.Fallback, Slot.None, Slot.None, Slot.Primary],
  [RequestClass.Pool]: [Slot.Fallback, Slot.None, Slot.Primary, Slot.None],
  [RequestClass.Aggregate]: [Slot.None, Slot.None, Slot.None, Slot.None],
};

/** Which list of a (class, family, selector) entry a selectable row belongs to. */
function slotOf(state: CandidateRows, r: number, requestClass: RequestClass, family: number, selector: LabelSelector | undefined): Slot {
  const rows = state.rows;
  if (family >= 0 && ((rows.flags(r) & RowFlag.V6) !== 0 ? 1 : 0) !== family) return Slot.None;
  const m = state.meta.get(r);
  if (!m) return Slot.None;
  if (rows.type(r) === RowType.Reserved) {
    return requestClass === RequestClass.Host && selectorMatches(selector, m.selectorLabels) ? Slot.Ref : Slot.None;
  }
  const slot = SLOT_BY_KIND[requestClass][rows.kind(r)] ?? Slot.None;
  // A subnet being created names its network through nephio.org/network-name; aggregates do not carry it.
  const ignored = requestClass === RequestClass.Subnet ? L_NETWORK_NAME : undefined;
  if (slot !== Slot.None && !selectorMatches(selector, m.selectorLabels, ignored)) return Slot.None;
  return slot;
}

function build(
  state: CandidateRows,
  inst: CandidateCache,
  requestClass: RequestClass,
  family: number,
  selector: LabelSelector | undefined,
): Candidates {
  const primary: number[] = [];
  const fallback: number[] = [];
  const refs: number[] = [];
  for (const r of inst.selectables) {
    const slot = slotOf(state, r, requestClass, family, selector);
    if (slot === Slot.Primary) primary.push(r);
    else if (slot === Slot.Fallback) fallback.push(r);
    else if (slot === Slot.Ref) refs.push(r);
  }
  primary.sort(state.compareRows);
  fallback.sort(state.compareRows);
  refs.sort(state.compareRows);
  return { version: inst.version, requestClass, family, selector: copySelector(selector), primary, fallback, refs };
}

const copySelector = (sel: LabelSelector | undefined): LabelSelector | undefined =>
  sel && {
    matchLabels: sel.matchLabels ? { ...sel.matchLabels } : undefined,
    matchExpressions: sel.matchExpressions?.map((e) => ({ ...e, values: e.values ? [...e.values] : undefined })),
  };

function insertSorted(state: CandidateRows, list: number[], r: number): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (state.compareRows(list[mid], r) < 0) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, r);
}

/**
 * A prefix an allocation created became selectable: add it to the cached lists it belongs to
 * instead of dropping them all, so creating many subnets does not rebuild lists each time.
 */
export function candidateAdded(state: CandidateRows, inst: CandidateCache, r: number): void {
  for (const e of inst.cache.values()) {
    if (e.version !== inst.version) continue;
    const slot = slotOf(state, r, e.requestClass, e.family, e.selector);
    if (slot === Slot.Primary) insertSorted(state, e.primary, r);
    else if (slot === Slot.Fallback) insertSorted(state, e.fallback, r);
    else if (slot === Slot.Ref) insertSorted(state, e.refs, r);
  }
}

/** The reverse of candidateAdded, before the row goes. */
export function candidateRemoved(inst: CandidateCache, r: number): void {
  for (const e of inst.cache.values()) {
    if (e.version !== inst.version) continue;
    for (const list of [e.primary, e.fallback, e.refs]) {
      const i = list.indexOf(r);
      if (i >= 0) list.splice(i, 1);
    }
  }
}
