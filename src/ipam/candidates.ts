// Candidate parents of a dynamic request: selectable rows of the network instance whose
// labels match the selector, of the right kind and family, in the documented order (IPv4
// first, then by address, then shorter prefix first). Lists are cached per (class, family,
// selector) and rebuilt only when the instance's selectable rows change, so choosing a
// parent does not grow with the number of allocations.

import { L_NETWORK_NAME, selectorKey, selectorMatches } from './labels.js';
import { KindCode, RowFlag, RowType, type RowStore } from './rows.js';
import type { LabelSelector, Labels } from './label-types.js';

/** What a request asks for, which decides the kinds of parents it can use. */
export const enum ReqClass {
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

export interface Candidates {
  version: number;
  cls: ReqClass;
  family: number;
  /** A copy of the selector the lists were built for (callers may reuse their objects). */
  sel: LabelSelector | undefined;
  primary: number[];
  fallback: number[];
  /** Reserved addresses matching the selector (Host requests only). */
  refs: number[];
}

/** The last lookup of an instance, compared by content first: bulk requests skip building a key. */
export interface CandidateMemo {
  cls: number;
  family: number;
  ml: Record<string, string> | undefined;
  mlCount: number;
  ex: unknown;
  entry: Candidates | undefined;
}

/** What candidate lists are built from: the allocator's rows (state.ts's IpamState). */
export interface CandidateRows {
  readonly rows: RowStore;
  readonly meta: ReadonlyMap<number, { readonly sel: Labels }>;
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
  cls: ReqClass,
  family: number,
  sel: LabelSelector | undefined,
): Candidates {
  const memo = inst.memo;
  if (
    memo.entry !== undefined &&
    memo.entry.version === inst.version &&
    memo.cls === cls &&
    memo.family === family &&
    sameAsMemo(memo, sel)
  ) {
    return memo.entry;
  }
  const e = lookup(state, inst, cls, family, sel);
  memo.cls = cls;
  memo.family = family;
  memo.entry = e;
  memo.ex = sel?.matchExpressions;
  memo.ml = undefined;
  memo.mlCount = 0;
  const ml = sel?.matchLabels;
  if (ml) {
    memo.ml = {};
    for (const k in ml) {
      memo.ml[k] = ml[k];
      memo.mlCount++;
    }
  }
  return e;
}

function sameAsMemo(memo: CandidateMemo, sel: LabelSelector | undefined): boolean {
  if (sel?.matchExpressions !== memo.ex) return false; // expressions: same array only
  const ml = sel?.matchLabels;
  let n = 0;
  if (ml) {
    const m = memo.ml;
    if (!m) {
      for (const _ in ml) return false;
      return memo.mlCount === 0;
    }
    for (const k in ml) {
      if (m[k] !== ml[k]) return false;
      n++;
    }
  }
  return n === memo.mlCount;
}

function lookup(state: CandidateRows, inst: CandidateCache, cls: ReqClass, family: number, sel: LabelSelector | undefined): Candidates {
  const key = cls + '|' + family + '|' + selectorKey(sel);
  let e = inst.cache.get(key);
  if (e && e.version === inst.version) return e;
  e = build(state, inst, cls, family, sel);
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

/** Which list of a (class, family, selector) entry a selectable row belongs to. */
function slotOf(state: CandidateRows, r: number, cls: ReqClass, family: number, sel: LabelSelector | undefined): Slot {
  const rows = state.rows;
  if (family >= 0 && ((rows.flags(r) & RowFlag.V6) !== 0 ? 1 : 0) !== family) return Slot.None;
  const m = state.meta.get(r);
  if (!m) return Slot.None;
  const k = rows.kind(r);
  if (rows.type(r) === RowType.Reserved) return cls === ReqClass.Host && selectorMatches(sel, m.sel) ? Slot.Ref : Slot.None;
  let slot = Slot.None;
  switch (cls) {
    case ReqClass.Host:
      if (k === KindCode.Network) slot = Slot.Primary;
      break;
    case ReqClass.Subnet:
      if (k === KindCode.Aggregate) slot = Slot.Primary;
      break;
    case ReqClass.Loopback:
      if (k === KindCode.Loopback) slot = Slot.Primary;
      else if (k === KindCode.Aggregate) slot = Slot.Fallback;
      break;
    case ReqClass.Pool:
      if (k === KindCode.Pool) slot = Slot.Primary;
      else if (k === KindCode.Aggregate) slot = Slot.Fallback;
      break;
  }
  // A subnet being created names its network through nephio.org/network-name; aggregates do not carry it.
  if (slot !== Slot.None && !selectorMatches(sel, m.sel, cls === ReqClass.Subnet ? L_NETWORK_NAME : undefined)) return Slot.None;
  return slot;
}

function build(state: CandidateRows, inst: CandidateCache, cls: ReqClass, family: number, sel: LabelSelector | undefined): Candidates {
  const primary: number[] = [];
  const fallback: number[] = [];
  const refs: number[] = [];
  for (const r of inst.selectables) {
    const slot = slotOf(state, r, cls, family, sel);
    if (slot === Slot.Primary) primary.push(r);
    else if (slot === Slot.Fallback) fallback.push(r);
    else if (slot === Slot.Ref) refs.push(r);
  }
  primary.sort(state.compareRows);
  fallback.sort(state.compareRows);
  refs.sort(state.compareRows);
  return { version: inst.version, cls, family, sel: copySelector(sel), primary, fallback, refs };
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
    const slot = slotOf(state, r, e.cls, e.family, e.sel);
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
