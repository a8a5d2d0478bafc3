// Allocation requests: validation, idempotency per owner, sticky hints, `index`, static
// requests, and the dynamic choice of the lowest free block in the first candidate that has
// room. The hot path allocates no JS object except the returned Allocation.

import { Cidr, compareWords, formatAddr, formatCidr, fromBig, parseCidr, toBig } from './addr.js';
import { candidates, ReqClass } from './candidates.js';
import { IpamError } from './errors.js';
import {
  EMPTY_LABELS,
  isEmptyLabels,
  L_ADDRESS_FAMILY,
  L_NETWORK_NAME,
  renderSelector,
  sameLabels,
  selectorMatches,
  selectorProblem,
} from './labels.js';
import { buildAllocation, rowAllocation } from './output.js';
import { checkParent, createPrefixRow, dependentsError, hostBitsError, inUse, kindCode, parseField } from './prefixes.js';
import { KIND_NAMES, KindCode, RowFlag, RowType, SYSTEM_ROW, ROW } from './rows.js';
import type { Instance, Space } from './space.js';
import { allocatedPrefixLabels } from './subnets.js';
import { Probe } from './trie.js';
import type { Allocation, AllocationRequest, LabelSelector, Labels } from './types.js';

interface Plan {
  req: AllocationRequest;
  inst: Instance;
  owner: string;
  kind: KindCode;
  cls: ReqClass;
  /** -1 either, 0 ipv4, 1 ipv6 */
  family: number;
  /** -1 when not given */
  prefixLength: number;
  stat: Cidr | null;
  sel: LabelSelector | undefined;
  labels: Labels;
  /** nephio.org/network-name of a subnet being created */
  networkName: string | undefined;
}

const scratch = new Uint32Array(4);

function famCode(v: unknown, field: string, inst: Instance): number {
  if (v === 'ipv4') return 0;
  if (v === 'ipv6') return 1;
  throw new IpamError('InvalidArgument', `unknown address family ${JSON.stringify(v)} in network instance ${inst.key}: want ipv4 or ipv6`, {
    networkInstance: inst.key,
    field,
  });
}

function plan(sp: Space, req: AllocationRequest): Plan {
  if (!req || typeof req.owner !== 'string' || req.owner === '') {
    throw new IpamError('InvalidArgument', 'allocation owner is required', { field: 'owner' });
  }
  const inst = sp.instance(req.networkInstance);
  const kind = kindCode(req.kind, 'spec.kind', inst);
  const sel = req.selector;
  if (sel && sel.matchExpressions) {
    const p = selectorProblem(sel);
    if (p) throw new IpamError('InvalidArgument', `invalid selector ${renderSelector(sel)} in network instance ${inst.key}: ${p}`, { networkInstance: inst.key, selector: renderSelector(sel), field: 'spec.selector' });
  }
  let family = -1;
  if (req.addressFamily !== undefined && req.addressFamily !== null) family = famCode(req.addressFamily, 'spec.addressFamily', inst);
  const fl = sel?.matchLabels?.[L_ADDRESS_FAMILY];
  if (fl !== undefined) {
    const f = famCode(fl, `spec.selector.matchLabels[${L_ADDRESS_FAMILY}]`, inst);
    if (family >= 0 && f !== family) {
      throw new IpamError('InvalidArgument', `addressFamily ${req.addressFamily} contradicts selector label ${L_ADDRESS_FAMILY}=${fl} in network instance ${inst.key}`, { networkInstance: inst.key, field: 'spec.addressFamily' });
    }
    family = f;
  }
  let prefixLength = -1;
  if (req.prefixLength !== undefined && req.prefixLength !== null) {
    const pl = req.prefixLength;
    if (!Number.isInteger(pl) || pl < 0 || pl > 128) {
      throw new IpamError('InvalidArgument', `invalid prefixLength ${JSON.stringify(pl)} in network instance ${inst.key}`, { networkInstance: inst.key, field: 'spec.prefixLength' });
    }
    prefixLength = pl;
  }
  let stat: Cidr | null = null;
  if (req.prefix !== undefined && req.prefix !== null && req.prefix !== '') {
    stat = parseField(req.prefix, 'spec.prefix', inst);
    const f = stat.v6 ? 1 : 0;
    if (family >= 0 && f !== family) {
      throw new IpamError('InvalidArgument', `prefix ${req.prefix} is not ${family ? 'ipv6' : 'ipv4'} (network instance ${inst.key})`, { networkInstance: inst.key, prefix: req.prefix, field: 'spec.prefix' });
    }
    family = f;
  }
  let cls: ReqClass;
  switch (kind) {
    case KindCode.Network:
      cls = req.createPrefix || prefixLength >= 0 ? ReqClass.Subnet : ReqClass.Host;
      if (cls === ReqClass.Subnet && prefixLength < 0 && !stat) {
        throw new IpamError('InvalidArgument', `creating a network prefix needs prefixLength (network instance ${inst.key})`, { networkInstance: inst.key, field: 'spec.prefixLength' });
      }
      break;
    case KindCode.Loopback:
      cls = ReqClass.Loopback;
      if (prefixLength >= 0) {
        if (prefixLength !== 32 && prefixLength !== 128) {
          throw new IpamError('InvalidArgument', `kind loopback allocates single addresses: prefixLength must be 32 or 128, not ${prefixLength} (network instance ${inst.key})`, { networkInstance: inst.key, field: 'spec.prefixLength' });
        }
        const f = prefixLength === 128 ? 1 : 0;
        if (family >= 0 && f !== family) {
          throw new IpamError('InvalidArgument', `prefixLength ${prefixLength} does not fit the address family (network instance ${inst.key})`, { networkInstance: inst.key, field: 'spec.prefixLength' });
        }
        family = f;
      }
      break;
    case KindCode.Pool:
      cls = ReqClass.Pool;
      if (prefixLength < 0 && !stat) {
        throw new IpamError('InvalidArgument', `a pool request needs prefixLength (network instance ${inst.key})`, { networkInstance: inst.key, field: 'spec.prefixLength' });
      }
      break;
    default:
      cls = ReqClass.Aggregate;
      if (!stat) {
        throw new IpamError('InvalidArgument', `a dynamic aggregate request is not allowed: an aggregate needs spec.prefix (network instance ${inst.key})`, { networkInstance: inst.key, field: 'spec.prefix' });
      }
  }
  if (family === 0 && prefixLength > 32 && cls !== ReqClass.Loopback) {
    throw new IpamError('InvalidArgument', `prefixLength ${prefixLength} is longer than an IPv4 address (network instance ${inst.key})`, { networkInstance: inst.key, field: 'spec.prefixLength' });
  }
  let labels: Labels = req.labels && !isEmptyLabels(req.labels) ? req.labels : EMPTY_LABELS;
  let networkName: string | undefined;
  if (cls === ReqClass.Subnet) {
    networkName = labels[L_NETWORK_NAME] ?? sel?.matchLabels?.[L_NETWORK_NAME];
    if (networkName !== undefined && labels[L_NETWORK_NAME] === undefined) labels = { ...labels, [L_NETWORK_NAME]: networkName };
  }
  return { req, inst, owner: req.owner, kind, cls, family, prefixLength, stat, sel, labels, networkName };
}

function noMatch(p: Plan): IpamError {
  const s = renderSelector(p.sel);
  const what = p.cls === ReqClass.Host ? 'network' : p.cls === ReqClass.Subnet ? 'aggregate' : p.cls === ReqClass.Loopback ? 'loopback or aggregate' : 'pool or aggregate';
  const fam = p.family < 0 ? '' : p.family ? ' ipv6' : ' ipv4';
  return new IpamError('NotFound', `no prefix matches selector ${s} in network instance ${p.inst.key} (wanted a${fam} ${what} prefix for kind ${KIND_NAMES[p.kind]})`, {
    networkInstance: p.inst.key,
    selector: s,
    field: 'spec.selector',
  });
}

/** The row's request class (what kind of request made it). */
function rowClass(sp: Space, r: number): ReqClass {
  const rows = sp.rows;
  switch (rows.kind(r) as KindCode) {
    case KindCode.Network:
      return rows.type(r) === RowType.Ref || rows.isHost(r) ? ReqClass.Host : ReqClass.Subnet;
    case KindCode.Loopback:
      return ReqClass.Loopback;
    case KindCode.Pool:
      return ReqClass.Pool;
    default:
      return ReqClass.Aggregate;
  }
}

/** Does the owner's current allocation already answer this request? */
function satisfies(sp: Space, r: number, p: Plan): boolean {
  const rows = sp.rows;
  if (rows.inst(r) !== p.inst.id || rows.kind(r) !== p.kind || rowClass(sp, r) !== p.cls) return false;
  const v6 = rows.isV6(r);
  if (p.family >= 0 && (v6 ? 1 : 0) !== p.family) return false;
  const t = rows.type(r);
  if (t === RowType.Ref) {
    // still the answer while no subnet matches and this reserved address comes first
    if (p.stat) return false;
    const c = candidates(sp, p.inst, p.cls, p.family, p.sel);
    return c.primary.length === 0 && c.refs[0] === rows.parent(r);
  }
  if (p.cls === ReqClass.Subnet && sp.meta.get(r)?.networkName !== p.networkName) return false;
  if (p.stat) {
    const s = p.stat;
    if (s.v6 !== v6 || compareWords(rows.d, ROW * r, s.w, 0) !== 0) return false;
    if (p.cls === ReqClass.Host) return rows.len(rows.parent(r)) === s.len;
    if (p.cls === ReqClass.Loopback) return true;
    return rows.len(r) === s.len;
  }
  if ((p.cls === ReqClass.Subnet || p.cls === ReqClass.Pool) && rows.len(r) !== p.prefixLength) return false;
  const parent = rows.parent(r);
  if (parent !== 0 && (rows.flags(parent) & RowFlag.Selectable) !== 0) {
    const m = sp.meta.get(parent);
    if (m && !selectorMatches(p.sel, m.sel, p.cls === ReqClass.Subnet ? L_NETWORK_NAME : undefined)) return false;
  }
  return true;
}

/** Whether an allocated prefix is offered to later dynamic requests (docs/semantics.md). */
function selectableAlloc(cls: ReqClass, labels: Labels): boolean {
  return cls === ReqClass.Subnet || cls === ReqClass.Aggregate || (cls === ReqClass.Pool && labels !== EMPTY_LABELS && !isEmptyLabels(labels));
}

/** Bookkeeping after a new Alloc row took its block. `restoring`: refuse an owner already present. */
function finishRow(sp: Space, p: Plan, r: number, restoring = false): void {
  const rows = sp.rows;
  rows.setLabels(r, p.labels === EMPTY_LABELS ? 0 : sp.labels.intern(p.labels));
  if (!restoring) sp.owners.set(p.owner, r);
  else if (!sp.owners.add(p.owner, r)) {
    sp.purge(r, true, null);
    throw new IpamError('InvalidArgument', `cannot restore allocation of ${p.owner} in network instance ${p.inst.key}: the owner already holds an allocation`, { networkInstance: p.inst.key });
  }
  if (!rows.isHost(r) && selectableAlloc(p.cls, p.labels)) {
    allocatedPrefixLabels(sp, p.inst, r, sp.labels.get(rows.labels(r)), p.networkName, true);
    sp.setSelectable(p.inst, r, true, true);
  }
}

/** Takes block (w, blockLen) inside container c for the plan's owner (or just describes it when dry). */
function takeAt(sp: Space, p: Plan, c: number, w: ArrayLike<number>, blockLen: number, host: boolean, dry: boolean): Allocation {
  const rows = sp.rows;
  const v6 = c === 0 ? p.stat!.v6 : rows.isV6(c);
  if (dry) return buildAllocation(sp, p.owner, p.inst, p.kind, v6, w, 0, blockLen, host, c, p.labels);
  let r: number;
  if (host) {
    r = sp.newRow(p.inst, v6, w, 0, blockLen, RowType.Alloc, p.kind, p.owner, true);
    sp.attach(p.inst, c, r);
  } else {
    const cidr = new Cidr();
    cidr.v6 = v6;
    for (let i = 0; i < 4; i++) cidr.w[i] = w[i];
    cidr.len = blockLen;
    r = createPrefixRow(sp, p.inst, cidr, cidr.w, p.kind, RowType.Alloc, p.owner, c);
  }
  finishRow(sp, p, r);
  return rowAllocation(sp, r);
}

function staticAlloc(sp: Space, p: Plan, dry: boolean): Allocation {
  const s = p.stat!;
  const inst = p.inst;
  const text = p.req.prefix!;
  const W = s.v6 ? 128 : 32;
  if (p.cls === ReqClass.Host || p.cls === ReqClass.Loopback) {
    if (p.cls === ReqClass.Loopback && s.len !== W) {
      if (s.hostBits) throw hostBitsError(s, text, p.kind, inst, 'spec.prefix');
      throw new IpamError('InvalidArgument', `kind loopback allocates single addresses: write ${formatAddr(s.v6, s.w)}/${W}, not ${text} (network instance ${inst.key})`, { networkInstance: inst.key, prefix: text, field: 'spec.prefix' });
    }
    sp.locate(inst, s.v6, s.w, 0, W);
    const c = sp.locContainer;
    if (p.cls === ReqClass.Host) {
      if (c === 0 || sp.rows.kind(c) !== KindCode.Network || sp.rows.len(c) !== s.len) {
        throw new IpamError('FailedPrecondition', `static address ${text} is not in a network subnet ${formatCidr(s, true)} of network instance ${inst.key}`, { networkInstance: inst.key, prefix: text, field: 'spec.prefix' });
      }
    } else if (c === 0 || (sp.rows.kind(c) !== KindCode.Loopback && sp.rows.kind(c) !== KindCode.Aggregate)) {
      if (c === 0) checkParent(sp, inst, KindCode.Loopback, 0, text, 'spec.prefix');
      throw new IpamError('FailedPrecondition', `loopback address ${text} cannot be taken from ${KIND_NAMES[sp.rows.kind(c)]} prefix ${sp.cidrOf(c)} in network instance ${inst.key}`, { networkInstance: inst.key, prefix: text, field: 'spec.prefix' });
    }
    if (sp.locProbe !== Probe.Free) throw conflict(sp, p, formatAddr(s.v6, s.w), sp.locHit);
    return takeAt(sp, p, c, s.w, W, true, dry);
  }
  if (s.hostBits) throw hostBitsError(s, text, p.kind, inst, 'spec.prefix');
  if (p.prefixLength >= 0 && p.prefixLength !== s.len) {
    throw new IpamError('InvalidArgument', `prefixLength ${p.prefixLength} contradicts prefix ${text} (network instance ${inst.key})`, { networkInstance: inst.key, prefix: text, field: 'spec.prefixLength' });
  }
  sp.locate(inst, s.v6, s.w, 0, s.len);
  if (sp.locProbe !== Probe.Free) throw conflict(sp, p, formatCidr(s), sp.locHit);
  checkParent(sp, inst, p.kind, sp.locContainer, formatCidr(s), 'spec.prefix');
  return takeAt(sp, p, sp.locContainer, s.w, s.len, false, dry);
}

function conflict(sp: Space, p: Plan, what: string, hit: number): IpamError {
  if (hit === SYSTEM_ROW) {
    return new IpamError('AlreadyExists', `${what} in network instance ${p.inst.key} is reserved (network, broadcast or IPv4-mapped address)`, {
      networkInstance: p.inst.key,
      prefix: what,
      field: 'spec.prefix',
    });
  }
  return inUse(sp, p.inst, what, hit, 'spec.prefix');
}

/** Sticky hint: the status.prefix a request already carries, kept when it is still free and fits. */
const hintCidr = new Cidr();
function tryHint(sp: Space, p: Plan, list: number[], dry: boolean): Allocation | null {
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
    sp.locate(p.inst, h.v6, h.w, 0, W);
  } else {
    if (h.hostBits || h.len !== p.prefixLength) return null;
    sp.locate(p.inst, h.v6, h.w, 0, h.len);
  }
  const c = sp.locContainer;
  if (c === 0 || sp.locProbe !== Probe.Free || !list.includes(c)) return null;
  if (p.cls === ReqClass.Host && sp.rows.len(c) !== h.len) return null;
  const w = new Uint32Array(h.w);
  return takeAt(sp, p, c, w, host ? W : h.len, host, dry);
}

/** `index`: the index-th address (or block) of the first candidate that has one. */
function indexAlloc(sp: Space, p: Plan, list: number[], dry: boolean): Allocation {
  const rows = sp.rows;
  const index = p.req.index!;
  if (!Number.isInteger(index) || index < 0) {
    throw new IpamError('InvalidArgument', `invalid index ${JSON.stringify(index)} (network instance ${p.inst.key})`, { networkInstance: p.inst.key, field: 'spec.index' });
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
    fromBig(v6, toBig(v6, rows.d, ROW * c) + (BigInt(index) << BigInt(k)), w);
    const pr = sp.trie.probe(rows.root(c), W - rows.len(c), rows.len(c), w, 0, k);
    const text = formatAddr(v6, w) + '/' + blockLen;
    if (pr !== Probe.Free) throw conflict(sp, p, `index ${index} of ${sp.cidrOf(c)} (${text})`, sp.trie.hit);
    return takeAt(sp, p, c, w, blockLen, host, dry);
  }
  throw new IpamError('InvalidArgument', `index ${index} lies outside every prefix matching selector ${renderSelector(p.sel)} in network instance ${p.inst.key}`, {
    networkInstance: p.inst.key,
    selector: renderSelector(p.sel),
    field: 'spec.index',
  });
}

function dynamicAlloc(sp: Space, p: Plan, dry: boolean): Allocation {
  const inst = p.inst;
  const cands = candidates(sp, inst, p.cls, p.family, p.sel);
  const list = cands.primary.length > 0 ? cands.primary : cands.fallback;
  if (list.length === 0) {
    if (p.cls === ReqClass.Host && cands.refs.length > 0) return refAlloc(sp, p, cands.refs[0], dry);
    throw noMatch(p);
  }
  if (p.req.hint !== undefined) {
    const a = tryHint(sp, p, list, dry);
    if (a) return a;
  }
  if (p.req.index !== undefined && p.req.index !== null) return indexAlloc(sp, p, list, dry);
  const rows = sp.rows;
  const trie = sp.trie;
  const host = p.cls === ReqClass.Host || p.cls === ReqClass.Loopback;
  let fitting = 0;
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
    const a = rows.d;
    scratch[0] = a[ROW * c];
    scratch[1] = a[ROW * c + 1];
    scratch[2] = a[ROW * c + 2];
    scratch[3] = a[ROW * c + 3];
    if (dry) {
      trie.findFirst(rows.root(c), O, L, k, scratch);
      return buildAllocation(sp, p.owner, inst, p.kind, v6, scratch, 0, blockLen, host, c, p.labels);
    }
    // hot path: one descent finds and takes the lowest free block
    const r = rows.alloc();
    rows.setRoot(c, trie.allocFirst(rows.root(c), O, L, k, r, scratch));
    rows.setNode(r, trie.leaf);
    const ra = rows.d;
    ra[ROW * r] = scratch[0];
    ra[ROW * r + 1] = scratch[1];
    ra[ROW * r + 2] = scratch[2];
    ra[ROW * r + 3] = scratch[3];
    rows.setMeta(r, blockLen, p.kind, RowType.Alloc, (v6 ? RowFlag.V6 : 0) | (host ? RowFlag.Host : 0));
    rows.setParent(r, c);
    rows.setInst(r, inst.id);
    rows.setOwner(r, p.owner);
    if (!host && p.kind === KindCode.Network) sp.reserveSystem(r);
    finishRow(sp, p, r);
    return buildAllocation(sp, p.owner, inst, p.kind, v6, scratch, 0, blockLen, host, c, p.labels);
  }
  const s = renderSelector(p.sel);
  if (fitting === 0) {
    throw new IpamError('InvalidArgument', `prefixLength ${p.prefixLength} is not longer than any prefix matching selector ${s} in network instance ${inst.key}`, {
      networkInstance: inst.key,
      selector: s,
      field: 'spec.prefixLength',
    });
  }
  const what = host ? 'address' : `/${p.prefixLength}`;
  throw new IpamError('Exhausted', `no free ${what} in prefixes matching selector ${s} in network instance ${inst.key}: exhausted`, {
    networkInstance: inst.key,
    selector: s,
    prefix: list.map((c) => sp.cidrOf(c)).join(', '),
  });
}

/** Static allocation by label: a reserved address is answered without taking ownership. */
function refAlloc(sp: Space, p: Plan, res: number, dry: boolean): Allocation {
  const rows = sp.rows;
  const v6 = rows.isV6(res);
  if (!dry) {
    const r = sp.newRow(p.inst, v6, rows.d, ROW * res, v6 ? 128 : 32, RowType.Ref, KindCode.Network, p.owner, true);
    rows.setParent(r, res);
    rows.setLabels(r, p.labels === EMPTY_LABELS ? 0 : sp.labels.intern(p.labels));
    sp.owners.set(p.owner, r);
    let set = sp.refs.get(res);
    if (!set) sp.refs.set(res, (set = new Set()));
    set.add(r);
  }
  return buildAllocation(sp, p.owner, p.inst, KindCode.Network, v6, rows.d, ROW * res, v6 ? 128 : 32, true, rows.parent(res), p.labels);
}

function fresh(sp: Space, p: Plan, dry: boolean): Allocation {
  return p.stat ? staticAlloc(sp, p, dry) : dynamicAlloc(sp, p, dry);
}

export function allocate(sp: Space, req: AllocationRequest, dry: boolean): Allocation {
  const p = plan(sp, req);
  const held = sp.owners.get(p.owner);
  if (held === undefined) return fresh(sp, p, dry);
  const rows = sp.rows;
  if (satisfies(sp, held, p)) {
    if (!dry) relabel(sp, p, held);
    const a = rowAllocation(sp, held);
    return dry && !sameLabels(a.labels, p.labels) ? { ...a, labels: p.labels } : a;
  }
  // the request changed: replace the owner's allocation, or keep it if the new one fails;
  // a dry run answers the same, then puts the old allocation back
  const deps = sp.dependents(held, new Set([p.owner]));
  if (deps.size) throw dependentsError(sp.cidrOf(held), sp.instances[rows.inst(held)]!, deps);
  const old = rowAllocation(sp, held);
  sp.purge(held, true, null);
  let ok = false;
  try {
    const a = fresh(sp, p, dry);
    ok = !dry;
    return a;
  } finally {
    if (!ok) insertAllocation(sp, old);
  }
}

function relabel(sp: Space, p: Plan, r: number): void {
  const rows = sp.rows;
  const cur = sp.labels.get(rows.labels(r));
  if (sameLabels(cur, p.labels) || (p.labels === EMPTY_LABELS && rows.labels(r) === 0)) return;
  const id = sp.labels.intern(p.labels);
  sp.labels.unref(rows.labels(r));
  rows.setLabels(r, id);
  if (rows.type(r) !== RowType.Alloc || rows.isHost(r)) return;
  const on = selectableAlloc(p.cls, sp.labels.get(id));
  if (on) allocatedPrefixLabels(sp, p.inst, r, sp.labels.get(id), sp.meta.get(r)?.networkName ?? p.networkName);
  if (on !== ((rows.flags(r) & RowFlag.Selectable) !== 0)) sp.setSelectable(p.inst, r, on);
}

const restoreCidr = new Cidr();
const parentCidr = new Cidr();
let lastParentText = '';

/**
 * Puts an Allocation (from a snapshot, or one being rolled back) back without any selection:
 * the fast path of restore. Host vs subnet is told by `parent` (a host's parent is its subnet).
 */
export function insertAllocation(sp: Space, a: Allocation): void {
  const inst = sp.instance(a.networkInstance);
  const kind = kindCode(a.kind, 'kind', inst);
  const c = parseField(a.prefix, 'prefix', inst, restoreCidr);
  const rows = sp.rows;
  const W = c.v6 ? 128 : 32;
  let host = kind === KindCode.Loopback;
  if (kind === KindCode.Network) {
    // a host address is written addr/<subnet length> under its subnet; a created subnet is
    // always longer than the aggregate it came from
    if (a.parent !== lastParentText) {
      parseField(a.parent, 'parent', inst, parentCidr);
      lastParentText = a.parent;
    }
    host = parentCidr.len === c.len;
  }
  const labels = a.labels && !isEmptyLabels(a.labels) ? a.labels : EMPTY_LABELS;
  const cls = kind === KindCode.Network ? (host ? ReqClass.Host : ReqClass.Subnet) : kind === KindCode.Loopback ? ReqClass.Loopback : kind === KindCode.Pool ? ReqClass.Pool : ReqClass.Aggregate;
  const p = restorePlan;
  p.inst = inst;
  p.owner = a.owner;
  p.kind = kind;
  p.cls = cls;
  p.family = c.v6 ? 1 : 0;
  p.prefixLength = c.len;
  p.stat = c;
  p.labels = labels;
  p.networkName = cls === ReqClass.Subnet ? labels[L_NETWORK_NAME] : undefined;
  if (host) {
    sp.locate(inst, c.v6, c.w, 0, W);
    const cont = sp.locContainer;
    if (sp.locProbe === Probe.Exact && rows.type(sp.locHit) === RowType.Reserved && kind === KindCode.Network) {
      if (sp.owners.has(a.owner)) throw restoreError(a, inst, 'the owner already holds an allocation');
      refAlloc(sp, p, sp.locHit, false);
      return;
    }
    if (sp.locProbe !== Probe.Free || cont === 0) throw restoreError(a, inst, sp.locProbe === Probe.Free ? 'no enclosing prefix' : `in use by ${sp.holderOf(sp.locHit)}`);
    const r = sp.newRow(inst, c.v6, c.w, 0, W, RowType.Alloc, kind, a.owner, true);
    sp.attach(inst, cont, r);
    finishRow(sp, p, r, true);
    return;
  }
  sp.locate(inst, c.v6, c.w, 0, c.len);
  if (sp.locProbe !== Probe.Free) throw restoreError(a, inst, `in use by ${sp.holderOf(sp.locHit)}`);
  const r = createPrefixRow(sp, inst, c, c.w, kind, RowType.Alloc, a.owner, sp.locContainer);
  finishRow(sp, p, r, true);
}

const restorePlan: Plan = {
  req: {} as AllocationRequest,
  inst: undefined as unknown as Instance,
  owner: '',
  kind: KindCode.Network,
  cls: ReqClass.Host,
  family: -1,
  prefixLength: -1,
  stat: null,
  sel: undefined,
  labels: EMPTY_LABELS,
  networkName: undefined,
};

function restoreError(a: Allocation, inst: Instance, why: string): IpamError {
  return new IpamError('InvalidArgument', `cannot restore allocation ${a.prefix} of ${a.owner} in network instance ${inst.key}: ${why}`, { networkInstance: inst.key, prefix: a.prefix });
}
