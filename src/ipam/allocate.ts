// Allocation requests: idempotency per owner, static requests, sticky hints, `index`, and the
// dynamic choice of the lowest free block in the first candidate that has room. The hot path
// allocates no JS object but the request's Plan and the returned Allocation.

import { Cidr, formatAddr, formatCidr, fromBig, parseCidr, toBig } from './addr.js';
import { candidates, RequestClass, takesAddress } from './candidates.js';
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

/** A static request: exactly the address or prefix spec.prefix names, where it may be taken. */
function staticAlloc(state: IpamState, p: Plan, dry: boolean): Allocation {
  const s = p.staticPrefix!;
  const text = p.req.prefix!;
  return takesAddress(p.requestClass) ? staticAddress(state, p, s, text, dry) : staticBlock(state, p, s, text, dry);
}

/** A host address of a network subnet of the written length, or a loopback address (addr/32|128). */
function staticAddress(state: IpamState, p: Plan, s: Cidr, text: string, dry: boolean): Allocation {
  const width = s.v6 ? 128 : 32;
  if (p.requestClass === RequestClass.Loopback && s.len !== width) throw loopbackNotSingle(p, s, text, width);
  state.locate(p.inst, s.v6, s.w, 0, width);
  const container = state.locContainer;
  if (p.requestClass === RequestClass.Host) checkHostSubnet(state, p, container, s, text);
  else checkLoopbackParent(state, p, container, text);
  if (state.locProbe !== Probe.Free) throw conflict(state, p, formatAddr(s.v6, s.w), state.locHit);
  return takeAt(state, p, container, s.w, width, true, dry);
}

function loopbackNotSingle(p: Plan, s: Cidr, text: string, width: number): IpamError {
  if (s.hostBits) return hostBitsError(s, text, p.kind, p.inst, 'spec.prefix');
  return new IpamError(
    'InvalidArgument',
    `kind loopback allocates single addresses: write ${formatAddr(s.v6, s.w)}/${width}, not ${text} (network instance ${p.inst.key})`,
    { networkInstance: p.inst.key, prefix: text, field: 'spec.prefix' },
  );
}

function checkHostSubnet(state: IpamState, p: Plan, container: number, s: Cidr, text: string): void {
  const rows = state.rows;
  if (container !== 0 && rows.kind(container) === KindCode.Network && rows.len(container) === s.len) return;
  throw new IpamError(
    'FailedPrecondition',
    `static address ${text} is not in a network subnet ${formatCidr(s, true)} of network instance ${p.inst.key}`,
    { networkInstance: p.inst.key, prefix: text, field: 'spec.prefix' },
  );
}

function checkLoopbackParent(state: IpamState, p: Plan, container: number, text: string): void {
  const kind = state.rows.kind(container);
  if (container !== 0 && (kind === KindCode.Loopback || kind === KindCode.Aggregate)) return;
  if (container === 0) checkParent(state, p.inst, KindCode.Loopback, 0, text, 'spec.prefix');
  throw new IpamError(
    'FailedPrecondition',
    `loopback address ${text} cannot be taken from ${KIND_NAMES[kind]} prefix ${state.cidrOf(container)} in network instance ${p.inst.key}`,
    { networkInstance: p.inst.key, prefix: text, field: 'spec.prefix' },
  );
}

/** A static prefix (subnet, pool, aggregate): its network address, nested where its kind may be. */
function staticBlock(state: IpamState, p: Plan, s: Cidr, text: string, dry: boolean): Allocation {
  const inst = p.inst;
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
function tryHint(state: IpamState, p: Plan, primary: number[], fallback: number[], dry: boolean): Allocation | null {
  const h = parsedHint(p);
  if (h === null) return null;
  const width = h.v6 ? 128 : 32;
  const host = takesAddress(p.requestClass);
  if (host ? p.requestClass === RequestClass.Loopback && h.len !== width : h.hostBits || h.len !== p.prefixLength) return null;
  const blockLen = host ? width : h.len;
  state.locate(p.inst, h.v6, h.w, 0, blockLen);
  const container = state.locContainer;
  if (container === 0 || state.locProbe !== Probe.Free || !(primary.includes(container) || fallback.includes(container))) return null;
  // a host hint is addr/<subnet length>, or addr/32|128 as the original API wrote it on repeat
  if (p.requestClass === RequestClass.Host && state.rows.len(container) !== h.len && h.len !== width) return null;
  return takeAt(state, p, container, new Uint32Array(h.w), blockLen, host, dry);
}

const hintCidr = new Cidr();

/** The hint parsed, when it is an address or prefix of the requested family (else no hint). */
function parsedHint(p: Plan): Cidr | null {
  const hint = p.hint;
  if (typeof hint !== 'string' || hint === '') return null;
  let h: Cidr;
  try {
    h = parseCidr(hint, hintCidr);
  } catch {
    return null;
  }
  return p.family >= 0 && (h.v6 ? 1 : 0) !== p.family ? null : h;
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
  const host = takesAddress(p.requestClass);
  for (const container of list) {
    const v6 = rows.isV6(container);
    const width = v6 ? 128 : 32;
    const containerLen = rows.len(container);
    const blockLen = host ? width : p.prefixLength;
    if (blockLen > width || (!host && blockLen <= containerLen)) continue;
    const blockOrder = width - blockLen;
    if (BigInt(index) >= 1n << BigInt(blockLen - containerLen)) continue;
    const addr = new Uint32Array(4);
    fromBig(v6, toBig(v6, rows.page(container), rows.at(container)) + (BigInt(index) << BigInt(blockOrder)), addr);
    const probe = state.trie.probe(rows.root(container), width - containerLen, containerLen, addr, 0, blockOrder);
    const text = formatAddr(v6, addr) + '/' + blockLen;
    if (probe !== Probe.Free) throw conflict(state, p, `index ${index} of ${state.cidrOf(container)} (${text})`, state.trie.hit);
    return takeAt(state, p, container, addr, blockLen, host, dry);
  }
  throw new IpamError(
    'InvalidArgument',
    `index ${index} lies outside every prefix matching selector ${renderSelector(p.selector)} in network instance ${p.inst.key}`,
    {
      networkInstance: p.inst.key,
      selector: renderSelector(p.selector),
      field: 'spec.index',
    },
  );
}

/** Candidates of a list that have the requested length (set by firstFit, read for the error). */
let fitting = 0;

/** The lowest free block in the first candidate of `list` with room, or null. */
function firstFit(state: IpamState, p: Plan, list: number[], dry: boolean): Allocation | null {
  const rows = state.rows;
  const trie = state.trie;
  const host = takesAddress(p.requestClass);
  for (let i = 0; i < list.length; i++) {
    const container = list[i];
    const v6 = (rows.flags(container) & RowFlag.V6) !== 0;
    const width = v6 ? 128 : 32;
    const containerLen = rows.len(container);
    const blockLen = host ? width : p.prefixLength;
    if (blockLen > width || (!host && blockLen <= containerLen)) continue;
    fitting++;
    const containerOrder = width - containerLen;
    const blockOrder = width - blockLen;
    if (trie.freeOf(rows.root(container), containerOrder) <= blockOrder) continue;
    const base = rows.page(container),
      at = rows.at(container);
    scratch[0] = base[at];
    scratch[1] = base[at + 1];
    scratch[2] = base[at + 2];
    scratch[3] = base[at + 3];
    if (dry) {
      trie.findFirst(rows.root(container), containerOrder, containerLen, blockOrder, scratch);
      return buildAllocation(state, p.owner, p.inst, p.kind, v6, scratch, 0, blockLen, host, container, p.labels);
    }
    // hot path: one descent finds and takes the lowest free block
    const row = rows.alloc();
    rows.setRoot(container, trie.allocFirst(rows.root(container), containerOrder, containerLen, blockOrder, row, scratch));
    rows.setNode(row, trie.leaf);
    const page = rows.page(row),
      rowAt = rows.at(row);
    page[rowAt] = scratch[0];
    page[rowAt + 1] = scratch[1];
    page[rowAt + 2] = scratch[2];
    page[rowAt + 3] = scratch[3];
    rows.setMeta(row, blockLen, p.kind, RowType.Alloc, (v6 ? RowFlag.V6 : 0) | (host ? RowFlag.Host : 0));
    rows.setParent(row, container);
    rows.setInst(row, p.inst.id);
    rows.setOwner(row, p.owner);
    if (!host && p.kind === KindCode.Network) state.reserveSystem(row);
    finishRow(state, p, row);
    return buildAllocation(state, p.owner, p.inst, p.kind, v6, scratch, 0, blockLen, host, container, p.labels);
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
  const { primary, fallback, refs } = candidates(state, inst, p.requestClass, p.family, p.selector);
  if (primary.length === 0 && fallback.length === 0) {
    if (p.requestClass === RequestClass.Host && refs.length > 0) return refAlloc(state, p, refs[0], dry);
    throw noMatch(p);
  }
  if (p.hint !== undefined) {
    const a = tryHint(state, p, primary, fallback, dry);
    if (a) return a;
  }
  if (p.req.index !== undefined && p.req.index !== null) {
    return indexAlloc(state, p, fallback.length === 0 ? primary : primary.length === 0 ? fallback : [...primary, ...fallback], dry);
  }
  fitting = 0;
  const a = firstFit(state, p, primary, dry) ?? firstFit(state, p, fallback, dry);
  if (a) return a;
  const s = renderSelector(p.selector);
  const kinds = [primary.length > 0 ? PRIMARY_KIND[p.requestClass] : '', fallback.length > 0 ? 'aggregate' : ''].filter(Boolean);
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
  const what = takesAddress(p.requestClass) ? 'address' : `/${p.prefixLength}`;
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
const PRIMARY_KIND: Record<RequestClass, string> = {
  [RequestClass.Host]: 'network',
  [RequestClass.Subnet]: 'aggregate',
  [RequestClass.Loopback]: 'loopback',
  [RequestClass.Pool]: 'pool',
  [RequestClass.Aggregate]: 'aggregate',
};

function fresh(state: IpamState, p: Plan, dry: boolean): Allocation {
  return p.staticPrefix ? staticAlloc(state, p, dry) : dynamicAlloc(state, p, dry);
}

export function allocate(state: IpamState, req: AllocationRequest, dry: boolean): Allocation {
  return allocateWith(state, req, dry, req.hint);
}

/** A logged allocation replayed: the request asking for exactly the answer it was given, as
 *  allocate() does for `{...req, hint: prefix}`, without copying the request. */
export function replayAllocation(state: IpamState, req: AllocationRequest, prefix: string): Allocation {
  return allocateWith(state, req, false, prefix);
}

function allocateWith(state: IpamState, req: AllocationRequest, dry: boolean, hint: string | undefined): Allocation {
  const p = plan(state, req, hint);
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
  const on = selectableAlloc(p.requestClass, state.labels.get(id));
  if (on) allocatedPrefixLabels(state, p.inst, r, state.labels.get(id), state.meta.get(r)?.networkName ?? p.networkName);
  if (on !== ((rows.flags(r) & RowFlag.Selectable) !== 0)) state.setSelectable(p.inst, r, on);
}
