// Allocation requests: idempotency per owner, static requests, sticky hints, `index`, and the
// dynamic choice of the lowest free block in the first candidate that has room. The hot path
// allocates no JS object except the returned Allocation.

import { Cidr, formatAddr, formatCidr, fromBig, parseCidr, toBig } from './addr.js';
import { candidates, ReqClass } from './candidates.js';
import { IpamError } from './errors.js';
import { EMPTY_LABELS, renderSelector, sameLabels } from './labels.js';
import { buildAllocation, rowAllocation } from './output.js';
import { finishRow, conflict, refAlloc, selectableAlloc, takeAt } from './place.js';
import { checkParent, dependentsError, hostBitsError } from './prefixes.js';
import { noMatch, plan, satisfies, type Plan } from './request.js';
import { insertAllocation } from './restore.js';
import { KIND_NAMES, KindCode, RowFlag, RowType } from './rows.js';
import type { IpamState } from './state.js';
import { allocatedPrefixLabels } from './subnets.js';
import { Probe } from './trie.js';
import type { Allocation, AllocationRequest } from './types.js';

const scratch = new Uint32Array(4);

function staticAlloc(state: IpamState, p: Plan, dry: boolean): Allocation {
  const s = p.stat!;
  const inst = p.inst;
  const text = p.req.prefix!;
  const W = s.v6 ? 128 : 32;
  if (p.cls === ReqClass.Host || p.cls === ReqClass.Loopback) {
    if (p.cls === ReqClass.Loopback && s.len !== W) {
      if (s.hostBits) throw hostBitsError(s, text, p.kind, inst, 'spec.prefix');
      throw new IpamError(
        'InvalidArgument',
        `kind loopback allocates single addresses: write ${formatAddr(s.v6, s.w)}/${W}, not ${text} (network instance ${inst.key})`,
        { networkInstance: inst.key, prefix: text, field: 'spec.prefix' },
      );
    }
    state.locate(inst, s.v6, s.w, 0, W);
    const c = state.locContainer;
    if (p.cls === ReqClass.Host) {
      if (c === 0 || state.rows.kind(c) !== KindCode.Network || state.rows.len(c) !== s.len) {
        throw new IpamError(
          'FailedPrecondition',
          `static address ${text} is not in a network subnet ${formatCidr(s, true)} of network instance ${inst.key}`,
          { networkInstance: inst.key, prefix: text, field: 'spec.prefix' },
        );
      }
    } else if (c === 0 || (state.rows.kind(c) !== KindCode.Loopback && state.rows.kind(c) !== KindCode.Aggregate)) {
      if (c === 0) checkParent(state, inst, KindCode.Loopback, 0, text, 'spec.prefix');
      throw new IpamError(
        'FailedPrecondition',
        `loopback address ${text} cannot be taken from ${KIND_NAMES[state.rows.kind(c)]} prefix ${state.cidrOf(c)} in network instance ${inst.key}`,
        { networkInstance: inst.key, prefix: text, field: 'spec.prefix' },
      );
    }
    if (state.locProbe !== Probe.Free) throw conflict(state, p, formatAddr(s.v6, s.w), state.locHit);
    return takeAt(state, p, c, s.w, W, true, dry);
  }
  if (s.hostBits) throw hostBitsError(s, text, p.kind, inst, 'spec.prefix');
  if (p.prefixLength >= 0 && p.prefixLength !== s.len) {
    throw new IpamError('InvalidArgument', `prefixLength ${p.prefixLength} contradicts prefix ${text} (network instance ${inst.key})`, {
      networkInstance: inst.key,
      prefix: text,
      field: 'spec.prefixLength',
    });
  }
  state.locate(inst, s.v6, s.w, 0, s.len);
  // nesting first: a pool inside a network subnet is a nesting error, not "reserved"
  if (state.locContainer !== 0) checkParent(state, inst, p.kind, state.locContainer, formatCidr(s), 'spec.prefix');
  if (state.locProbe !== Probe.Free) throw conflict(state, p, formatCidr(s), state.locHit);
  checkParent(state, inst, p.kind, state.locContainer, formatCidr(s), 'spec.prefix');
  return takeAt(state, p, state.locContainer, s.w, s.len, false, dry);
}

/** Sticky hint: the status.prefix a request already carries, kept when it is still free and fits. */
const hintCidr = new Cidr();
function tryHint(state: IpamState, p: Plan, primary: number[], fallback: number[], dry: boolean): Allocation | null {
  const hint = p.req.hint;
  if (typeof hint !== 'string' || hint === '') return null;
  let h: Cidr;
  try {
    h = parseCidr(hint, hintCidr);
  } catch {
    return null;
  }
  if (p.family >= 0 && (h.v6 ? 1 : 0) !== p.family) return null;
  const W = h.v6 ? 128 : 32;
  const host = p.cls === ReqClass.Host || p.cls === ReqClass.Loopback;
  if (host) {
    if (p.cls === ReqClass.Loopback && h.len !== W) return null;
    state.locate(p.inst, h.v6, h.w, 0, W);
  } else {
    if (h.hostBits || h.len !== p.prefixLength) return null;
    state.locate(p.inst, h.v6, h.w, 0, h.len);
  }
  const c = state.locContainer;
  if (c === 0 || state.locProbe !== Probe.Free || !(primary.includes(c) || fallback.includes(c))) return null;
  // a host hint is addr/<subnet length>, or addr/32|128 as the original API wrote it on repeat
  if (p.cls === ReqClass.Host && state.rows.len(c) !== h.len && h.len !== W) return null;
  const w = new Uint32Array(h.w);
  return takeAt(state, p, c, w, host ? W : h.len, host, dry);
}

/** `index`: the index-th address (or block) of the first candidate that has one. */
function indexAlloc(state: IpamState, p: Plan, list: number[], dry: boolean): Allocation {
  const rows = state.rows;
  const index = p.req.index!;
  if (!Number.isInteger(index) || index < 0) {
    throw new IpamError('InvalidArgument', `invalid index ${JSON.stringify(index)} (network instance ${p.inst.key})`, {
      networkInstance: p.inst.key,
      field: 'spec.index',
    });
  }
  const host = p.cls === ReqClass.Host || p.cls === ReqClass.Loopback;
  for (const c of list) {
    const v6 = rows.isV6(c);
    const W = v6 ? 128 : 32;
    const blockLen = host ? W : p.prefixLength;
    if (blockLen > W || (!host && blockLen <= rows.len(c))) continue;
    const k = W - blockLen;
    const count = 1n << BigInt(blockLen - rows.len(c));
    if (BigInt(index) >= count) continue;
    const w = new Uint32Array(4);
    fromBig(v6, toBig(v6, rows.page(c), rows.at(c)) + (BigInt(index) << BigInt(k)), w);
    const pr = state.trie.probe(rows.root(c), W - rows.len(c), rows.len(c), w, 0, k);
    const text = formatAddr(v6, w) + '/' + blockLen;
    if (pr !== Probe.Free) throw conflict(state, p, `index ${index} of ${state.cidrOf(c)} (${text})`, state.trie.hit);
    return takeAt(state, p, c, w, blockLen, host, dry);
  }
  throw new IpamError(
    'InvalidArgument',
    `index ${index} lies outside every prefix matching selector ${renderSelector(p.sel)} in network instance ${p.inst.key}`,
    {
      networkInstance: p.inst.key,
      selector: renderSelector(p.sel),
      field: 'spec.index',
    },
  );
}

/** Candidates of a list that have the requested length (set by firstFit, read for the error). */
let fitting = 0;

/** The lowest free block in the first candidate of `list` with room, or null. */
function firstFit(state: IpamState, p: Plan, list: number[], dry: boolean): Allocation | null {
  const inst = p.inst;
  const rows = state.rows;
  const trie = state.trie;
  const host = p.cls === ReqClass.Host || p.cls === ReqClass.Loopback;
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    const v6 = (rows.flags(c) & RowFlag.V6) !== 0;
    const W = v6 ? 128 : 32;
    const L = rows.len(c);
    const blockLen = host ? W : p.prefixLength;
    if (blockLen > W || (!host && blockLen <= L)) continue;
    fitting++;
    const O = W - L;
    const k = W - blockLen;
    if (trie.freeOf(rows.root(c), O) <= k) continue;
    const a = rows.page(c),
      ao = rows.at(c);
    scratch[0] = a[ao];
    scratch[1] = a[ao + 1];
    scratch[2] = a[ao + 2];
    scratch[3] = a[ao + 3];
    if (dry) {
      trie.findFirst(rows.root(c), O, L, k, scratch);
      return buildAllocation(state, p.owner, inst, p.kind, v6, scratch, 0, blockLen, host, c, p.labels);
    }
    // hot path: one descent finds and takes the lowest free block
    const r = rows.alloc();
    rows.setRoot(c, trie.allocFirst(rows.root(c), O, L, k, r, scratch));
    rows.setNode(r, trie.leaf);
    const ra = rows.page(r),
      ro = rows.at(r);
    ra[ro] = scratch[0];
    ra[ro + 1] = scratch[1];
    ra[ro + 2] = scratch[2];
    ra[ro + 3] = scratch[3];
    rows.setMeta(r, blockLen, p.kind, RowType.Alloc, (v6 ? RowFlag.V6 : 0) | (host ? RowFlag.Host : 0));
    rows.setParent(r, c);
    rows.setInst(r, inst.id);
    rows.setOwner(r, p.owner);
    if (!host && p.kind === KindCode.Network) state.reserveSystem(r);
    finishRow(state, p, r);
    return buildAllocation(state, p.owner, inst, p.kind, v6, scratch, 0, blockLen, host, c, p.labels);
  }
  return null;
}

/**
 * Dynamic requests: the primary candidates (network subnets, loopback prefixes, pools) in
 * candidate order; when none of them can hold the request (none matches, all too short or
 * all full), the fallback candidates (aggregates, for loopback and pool requests).
 */
function dynamicAlloc(state: IpamState, p: Plan, dry: boolean): Allocation {
  const inst = p.inst;
  const { primary, fallback, refs } = candidates(state, inst, p.cls, p.family, p.sel);
  if (primary.length === 0 && fallback.length === 0) {
    if (p.cls === ReqClass.Host && refs.length > 0) return refAlloc(state, p, refs[0], dry);
    throw noMatch(p);
  }
  if (p.req.hint !== undefined) {
    const a = tryHint(state, p, primary, fallback, dry);
    if (a) return a;
  }
  if (p.req.index !== undefined && p.req.index !== null) {
    return indexAlloc(state, p, fallback.length === 0 ? primary : primary.length === 0 ? fallback : [...primary, ...fallback], dry);
  }
  fitting = 0;
  const a = firstFit(state, p, primary, dry) ?? firstFit(state, p, fallback, dry);
  if (a) return a;
  const s = renderSelector(p.sel);
  const kinds = [primary.length > 0 ? PRIMARY_KIND[p.cls] : '', fallback.length > 0 ? 'aggregate' : ''].filter(Boolean);
  if (fitting === 0) {
    throw new IpamError(
      'InvalidArgument',
      `prefixLength ${p.prefixLength} is not longer than any ${kinds.join(' or ')} prefix matching selector ${s} in network instance ${inst.key}`,
      {
        networkInstance: inst.key,
        selector: s,
        field: 'spec.prefixLength',
      },
    );
  }
  const what = p.cls === ReqClass.Host || p.cls === ReqClass.Loopback ? 'address' : `/${p.prefixLength}`;
  throw new IpamError(
    'Exhausted',
    `no free ${what} in ${kinds.join(' and ')} prefixes matching selector ${s} in network instance ${inst.key}: exhausted`,
    {
      networkInstance: inst.key,
      selector: s,
      prefix: [...primary, ...fallback].map((c) => state.cidrOf(c)).join(', '),
    },
  );
}

/** The kind of prefix a request class takes first (its fallback is always aggregates). */
const PRIMARY_KIND: Record<ReqClass, string> = {
  [ReqClass.Host]: 'network',
  [ReqClass.Subnet]: 'aggregate',
  [ReqClass.Loopback]: 'loopback',
  [ReqClass.Pool]: 'pool',
  [ReqClass.Aggregate]: 'aggregate',
};

function fresh(state: IpamState, p: Plan, dry: boolean): Allocation {
  return p.stat ? staticAlloc(state, p, dry) : dynamicAlloc(state, p, dry);
}

export function allocate(state: IpamState, req: AllocationRequest, dry: boolean): Allocation {
  const p = plan(state, req);
  const held = state.owners.get(p.owner);
  if (held === undefined) return fresh(state, p, dry);
  const rows = state.rows;
  if (satisfies(state, held, p)) {
    if (!dry) relabel(state, p, held);
    const a = rowAllocation(state, held);
    return dry && !sameLabels(a.labels, p.labels) ? { ...a, labels: p.labels } : a;
  }
  // the request changed: replace the owner's allocation, or keep it if the new one fails;
  // a dry run answers the same, then puts the old allocation back
  const deps = state.dependents(held, new Set([p.owner]));
  if (deps.size) throw dependentsError(state.cidrOf(held), state.instances[rows.inst(held)]!, deps);
  const old = rowAllocation(state, held);
  state.purge(held, true, null);
  let ok = false;
  try {
    const a = fresh(state, p, dry);
    ok = !dry;
    return a;
  } finally {
    if (!ok) insertAllocation(state, old);
  }
}

function relabel(state: IpamState, p: Plan, r: number): void {
  const rows = state.rows;
  const cur = state.labels.get(rows.labels(r));
  if (sameLabels(cur, p.labels) || (p.labels === EMPTY_LABELS && rows.labels(r) === 0)) return;
  const id = state.labels.intern(p.labels);
  state.labels.unref(rows.labels(r));
  rows.setLabels(r, id);
  if (rows.type(r) !== RowType.Alloc || rows.isHost(r)) return;
  const on = selectableAlloc(p.cls, state.labels.get(id));
  if (on) allocatedPrefixLabels(state, p.inst, r, state.labels.get(id), state.meta.get(r)?.networkName ?? p.networkName);
  if (on !== ((rows.flags(r) & RowFlag.Selectable) !== 0)) state.setSelectable(p.inst, r, on);
}
