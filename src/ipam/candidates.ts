// Candidate parents of a dynamic request: selectable rows of the network instance whose
// labels match the selector, of the right kind and family, in the documented order (IPv4
// first, then by address, then shorter prefix first). Lists are cached per (class, family,
// selector) and rebuilt only when the instance's selectable rows change, so choosing a
// parent does not grow with the number of allocations.

import { L_NETWORK_NAME, selectorKey, selectorMatches } from './labels.js';
import { KindCode, RowFlag, RowType } from './rows.js';
import type { Instance, Space } from './space.js';
import type { LabelSelector } from './types.js';

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
  primary: number[];
  fallback: number[];
  /** Reserved addresses matching the selector (Host requests only). */
  refs: number[];
}

const MAX_CACHED = 512;

/** family: 0 ipv4, 1 ipv6, -1 either. */
export function candidates(sp: Space, inst: Instance, cls: ReqClass, family: number, sel: LabelSelector | undefined): Candidates {
  const memo = inst.memo;
  if (memo.entry !== undefined && memo.entry.version === inst.version && memo.cls === cls && memo.family === family && sameAsMemo(memo, sel)) {
    return memo.entry;
  }
  const e = lookup(sp, inst, cls, family, sel);
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

function sameAsMemo(memo: Instance['memo'], sel: LabelSelector | undefined): boolean {
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

function lookup(sp: Space, inst: Instance, cls: ReqClass, family: number, sel: LabelSelector | undefined): Candidates {
  const key = cls + '|' + family + '|' + selectorKey(sel);
  let e = inst.cache.get(key);
  if (e && e.version === inst.version) return e;
  e = build(sp, inst, cls, family, sel);
  if (inst.cache.size >= MAX_CACHED) inst.cache.clear();
  inst.cache.set(key, e);
  return e;
}

function build(sp: Space, inst: Instance, cls: ReqClass, family: number, sel: LabelSelector | undefined): Candidates {
  const rows = sp.rows;
  const primary: number[] = [];
  const fallback: number[] = [];
  const refs: number[] = [];
  // A subnet being created names its network through nephio.org/network-name; aggregates do not carry it.
  const skip = cls === ReqClass.Subnet ? L_NETWORK_NAME : undefined;
  for (const r of inst.selectables) {
    if (family >= 0 && ((rows.flags(r) & RowFlag.V6) !== 0 ? 1 : 0) !== family) continue;
    const m = sp.meta.get(r);
    if (!m) continue;
    const t = rows.type(r);
    const k = rows.kind(r);
    if (t === RowType.Reserved) {
      if (cls === ReqClass.Host && selectorMatches(sel, m.sel)) refs.push(r);
      continue;
    }
    let list: number[] | undefined;
    switch (cls) {
      case ReqClass.Host:
        if (k === KindCode.Network) list = primary;
        break;
      case ReqClass.Subnet:
        if (k === KindCode.Aggregate) list = primary;
        break;
      case ReqClass.Loopback:
        if (k === KindCode.Loopback) list = primary;
        else if (k === KindCode.Aggregate) list = fallback;
        break;
      case ReqClass.Pool:
        if (k === KindCode.Pool) list = primary;
        else if (k === KindCode.Aggregate) list = fallback;
        break;
    }
    if (list && selectorMatches(sel, m.sel, skip)) list.push(r);
  }
  primary.sort(sp.compareRows);
  fallback.sort(sp.compareRows);
  refs.sort(sp.compareRows);
  return { version: inst.version, primary, fallback, refs };
}
