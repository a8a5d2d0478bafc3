// Operator-defined space: NetworkInstances (their prefixes become aggregates) and IPPrefixes
// (aggregate, network, pool, loopback), with the nesting rules of docs/semantics.md, shared
// network subnets, reserved addresses, and removal refused while others depend on a prefix.

import { AddrError, Cidr, formatAddr, formatCidr, maskTo, parseCidr } from './addr.js';
import { IpamError } from './errors.js';
import { freezeLabels, sameLabels } from './labels.js';
import { KIND_NAMES, KindCode, RowFlag, RowType, SYSTEM_ROW } from './rows.js';
import { KIND_CODE, type Instance, type IpamState, type SpecRec } from './state.js';
import { refreshPrefix, refreshReserved } from './subnets.js';
import { Probe } from './trie.js';
import type { InstancePrefix, NetworkInstanceInfo, NetworkInstanceRef, PrefixSpec, ReleaseOptions } from './types.js';

export function parseField(text: unknown, field: string, inst: Instance | undefined, out?: Cidr): Cidr {
  try {
    return parseCidr(text as string, out);
  } catch (e) {
    if (e instanceof AddrError)
      throw new IpamError('InvalidArgument', inst ? `${e.message} (network instance ${inst.key})` : e.message, {
        networkInstance: inst?.key,
        prefix: String(text),
        field,
      });
    throw e;
  }
}

export function kindCode(kind: unknown, field: string, inst?: Instance): KindCode {
  const k = typeof kind === 'string' ? KIND_CODE[kind] : undefined;
  if (k === undefined) {
    throw new IpamError('InvalidArgument', `unknown prefix kind ${JSON.stringify(kind)}: want aggregate, network, pool or loopback`, {
      networkInstance: inst?.key,
      field,
    });
  }
  return k;
}

/** "net <p> address is not allowed for kind K": prefixes that are not addresses must be written as networks. */
export function hostBitsError(c: Cidr, text: string, kind: KindCode, inst: Instance, field: string): IpamError {
  return new IpamError(
    'InvalidArgument',
    `net <${text}> address is not allowed for kind ${KIND_NAMES[kind]} (write ${formatCidr(c, true)}) in network instance ${inst.key}`,
    {
      networkInstance: inst.key,
      prefix: text,
      field,
    },
  );
}

export function inUse(state: IpamState, inst: Instance, what: string, hit: number, field?: string): IpamError {
  return new IpamError('AlreadyExists', `${what} in network instance ${inst.key} is in use by ${state.holderOf(hit)}`, {
    networkInstance: inst.key,
    prefix: what,
    field,
    dependents: [state.holderOf(hit)],
  });
}

const PARENT_KINDS: Record<KindCode, readonly number[]> = {
  [KindCode.Aggregate]: [-1, KindCode.Aggregate],
  [KindCode.Network]: [KindCode.Aggregate],
  [KindCode.Pool]: [KindCode.Aggregate, KindCode.Pool],
  [KindCode.Loopback]: [KindCode.Aggregate],
};

/** Checks the nesting rule for a new prefix of `kind` in container c (0: top level). */
export function checkParent(state: IpamState, inst: Instance, kind: KindCode, c: number, text: string, field: string): void {
  const pk = state.containerKind(c);
  if (PARENT_KINDS[kind].includes(pk)) return;
  if (c === 0) {
    throw new IpamError(
      'FailedPrecondition',
      `an aggregate prefix is required for ${KIND_NAMES[kind]} prefix ${text} in network instance ${inst.key}`,
      {
        networkInstance: inst.key,
        prefix: text,
        field,
      },
    );
  }
  const article = kind === KindCode.Aggregate ? 'an' : 'a';
  throw new IpamError(
    'FailedPrecondition',
    `${article} ${KIND_NAMES[kind]} prefix (${text}) cannot be nested in ${KIND_NAMES[pk]} prefix ${state.cidrOf(c)} in network instance ${inst.key}`,
    {
      networkInstance: inst.key,
      prefix: text,
      field,
    },
  );
}

/** A container row for a new prefix: takes its block, its reserved ends, its meta. */
export function createPrefixRow(
  state: IpamState,
  inst: Instance,
  c: Cidr,
  net: Uint32Array,
  kind: KindCode,
  type: RowType,
  owner: string,
  container: number,
): number {
  const r = state.newRow(inst, c.v6, net, 0, c.len, type, kind, owner, false);
  state.attach(inst, container, r);
  if (kind === KindCode.Network || kind === KindCode.Loopback) state.reserveSystem(r);
  if (type === RowType.Prefix) state.metaOf(r);
  return r;
}

/**
 * Moves the rows inside a new aggregate under it (an aggregate applied after prefixes it
 * contains). Returns the new row, or 0 when something inside cannot move.
 */
function reparentUnder(state: IpamState, inst: Instance, c: Cidr, net: Uint32Array, owner: string): number {
  const rows = state.rows;
  const container = state.locContainer;
  const width = c.v6 ? 128 : 32;
  let moved: number[] = [];
  if (container === 0) {
    moved = inst.top[c.v6 ? 1 : 0].filter((t) => rows.len(t) > c.len && sameNet(rows.page(t), rows.at(t), net, c.len));
  } else {
    const node = state.trie.nodeAt(rows.root(container), width - rows.len(container), rows.len(container), net, 0, width - c.len);
    state.trie.forEach(node, width - c.len, (row) => {
      moved.push(row);
    });
  }
  if (moved.length === 0 || moved.some((m) => m === SYSTEM_ROW)) return 0;
  for (const m of moved) state.detach(m);
  const r = createPrefixRow(state, inst, c, net, KindCode.Aggregate, RowType.Prefix, owner, container);
  for (const m of moved) state.attach(inst, r, m);
  return r;
}

function sameNet(a: ArrayLike<number>, ao: number, net: ArrayLike<number>, len: number): boolean {
  for (let p = 0; p < len; p++) {
    const x = (a[ao + (p >>> 5)] >>> (31 - (p & 31))) & 1;
    const y = (net[p >>> 5] >>> (31 - (p & 31))) & 1;
    if (x !== y) return false;
  }
  return true;
}

interface NormSpec {
  kind: KindCode;
  c: Cidr;
  canon: string;
  net: string;
  netWords: Uint32Array;
  owner: string;
  labels: ReturnType<typeof freezeLabels>;
  networkName?: string;
}

function normalize(inst: Instance, spec: PrefixSpec, field: string): NormSpec {
  const kind = kindCode(spec.kind, 'spec.kind', inst);
  if (typeof spec.owner !== 'string')
    throw new IpamError('InvalidArgument', 'prefix owner is required', { networkInstance: inst.key, field: 'owner' });
  const c = parseField(spec.prefix, field, inst);
  const canon = formatCidr(c);
  if (c.hostBits && (kind === KindCode.Aggregate || kind === KindCode.Pool)) throw hostBitsError(c, spec.prefix, kind, inst, field);
  const netWords = new Uint32Array(c.w);
  maskTo(netWords, c.len, c.v6);
  return {
    kind,
    c,
    canon,
    net: formatAddr(c.v6, netWords) + '/' + c.len,
    netWords,
    owner: spec.owner,
    labels: freezeLabels(spec.labels),
    networkName: spec.networkName || undefined,
  };
}

/** Adds one spec to the space (or joins an existing subnet). */
function addSpec(state: IpamState, inst: Instance, n: NormSpec, fromInstance: boolean, field: string): SpecRec {
  const { row, created } = specRow(state, inst, n, field);
  const rec: SpecRec = {
    key: n.canon + '\u0000' + n.owner,
    inst: inst.id,
    canon: n.canon,
    net: n.net,
    kind: n.kind,
    owner: n.owner,
    labels: n.labels,
    networkName: n.networkName,
    row,
    reserved: 0,
    fromInstance,
  };
  if (n.c.hostBits) rec.reserved = reserveAddress(state, inst, n, row, created, rec, field);
  state.metaOf(row).members.push(rec);
  if (created) state.setSelectable(inst, row, true);
  inst.specs.set(rec.key, rec);
  state.index(state.specsByOwner, rec.owner, rec);
  refreshPrefix(state, inst, row);
  return rec;
}

/** The row the spec defines: a new prefix, an aggregate put over what it contains, or the
 *  subnet it joins (same kind and network name). */
function specRow(state: IpamState, inst: Instance, n: NormSpec, field: string): { row: number; created: boolean } {
  const { c, kind } = n;
  state.locate(inst, c.v6, n.netWords, 0, c.len);
  const probe = state.locProbe;
  const hit = state.locHit;
  // the closest enclosing prefix decides: a wrong parent is a nesting error, whatever lies
  // inside it (its reserved network/broadcast address, other owners' allocations)
  if (state.locContainer !== 0) checkParent(state, inst, kind, state.locContainer, n.net, field);
  if (probe === Probe.Exact) return { row: joinedSubnet(state, inst, n, hit, field), created: false };
  if (probe === Probe.Free) {
    checkParent(state, inst, kind, state.locContainer, n.net, field);
    return { row: createPrefixRow(state, inst, c, n.netWords, kind, RowType.Prefix, n.owner, state.locContainer), created: true };
  }
  if (probe === Probe.Contains && kind === KindCode.Aggregate) {
    checkParent(state, inst, kind, state.locContainer, n.net, field);
    const row = reparentUnder(state, inst, c, n.netWords, n.owner);
    if (row === 0) throw inUse(state, inst, n.net, hit, field);
    return { row, created: true };
  }
  throw inUse(state, inst, n.net, hit, field);
}

/** A network or loopback prefix defined again (another owner, same network): the row it shares. */
function joinedSubnet(state: IpamState, inst: Instance, n: NormSpec, hit: number, field: string): number {
  const rows = state.rows;
  const shares =
    (n.kind === KindCode.Network || n.kind === KindCode.Loopback) && rows.type(hit) === RowType.Prefix && rows.kind(hit) === n.kind;
  if (!shares) throw inUse(state, inst, n.net, hit, field);
  const other = state.meta.get(hit)?.networkName;
  if (other !== n.networkName) {
    throw new IpamError(
      'AlreadyExists',
      `${n.net} in network instance ${inst.key} is in use by ${state.holderOf(hit)} as network ${other ?? '(none)'}, not ${n.networkName ?? '(none)'}`,
      {
        networkInstance: inst.key,
        prefix: n.net,
        field,
        dependents: [state.holderOf(hit)],
      },
    );
  }
  return hit;
}

/** A prefix written with host bits reserves that address (the gateway): its row. A new prefix
 *  row is taken back when the address is not free. */
function reserveAddress(state: IpamState, inst: Instance, n: NormSpec, row: number, created: boolean, rec: SpecRec, field: string): number {
  const { c, kind } = n;
  const width = c.v6 ? 128 : 32;
  const p = state.trie.probe(state.rows.root(row), width - c.len, c.len, c.w, 0, 0);
  if (p !== Probe.Free) {
    const h = state.trie.hit;
    if (created) state.purge(row, true, null);
    throw inUse(state, inst, formatAddr(c.v6, c.w), h, field);
  }
  const res = state.newRow(inst, c.v6, c.w, 0, width, RowType.Reserved, kind, n.owner, true);
  state.attach(inst, row, res);
  state.metaOf(res).members = [rec];
  state.setSelectable(inst, res, true);
  return res;
}

/** Owners that depend on a spec: everything inside its prefix (when it is the last to define it). */
export function specDependents(state: IpamState, rec: SpecRec, except: ReadonlySet<string>, out = new Set<string>()): Set<string> {
  const m = state.meta.get(rec.row);
  if (m && m.members.length > 1) {
    if (rec.reserved) state.dependents(rec.reserved, except, out);
  } else state.dependents(rec.row, except, out);
  return out;
}

export function removeSpecNow(state: IpamState, rec: SpecRec, freed: ((r: number) => void) | null): void {
  const inst = state.instances[rec.inst];
  if (!inst || inst.specs.get(rec.key) !== rec) return;
  const m = state.meta.get(rec.row);
  if (m && m.members.length > 1) {
    if (rec.reserved) state.purge(rec.reserved, true, freed);
    m.members = m.members.filter((s) => s !== rec);
    inst.specs.delete(rec.key);
    state.unindex(state.specsByOwner, rec.owner, rec);
    if (state.rows.ownerIs(rec.row, rec.owner)) state.rows.setOwner(rec.row, m.members[0].owner);
    refreshPrefix(state, inst, rec.row);
  } else state.purge(rec.row, true, freed);
}

export function dependentsError(what: string, inst: Instance, deps: Set<string>): IpamError {
  const list = [...deps].sort();
  return new IpamError('FailedPrecondition', `cannot remove ${what} in network instance ${inst.key}: still used by ${list.join(', ')}`, {
    networkInstance: inst.key,
    prefix: what,
    dependents: list,
  });
}

function updateLabels(state: IpamState, inst: Instance, rec: SpecRec, labels: NormSpec['labels']): void {
  if (sameLabels(rec.labels, labels)) return;
  rec.labels = labels;
  if (rec.reserved) refreshReserved(state, inst, rec);
  refreshPrefix(state, inst, rec.row);
}

export function applyPrefix(state: IpamState, spec: PrefixSpec): SpecRec {
  const inst = state.instance(spec?.networkInstance);
  const n = normalize(inst, spec, 'spec.prefix');
  const key = n.canon + '\u0000' + n.owner;
  const old = inst.specs.get(key);
  if (old) {
    if (old.kind === n.kind && old.networkName === n.networkName && !old.fromInstance) {
      updateLabels(state, inst, old, n.labels);
      return old;
    }
    const deps = specDependents(state, old, new Set([old.owner]));
    if (deps.size) throw dependentsError(old.net, inst, deps);
    removeSpecNow(state, old, null);
  }
  return addSpec(state, inst, n, false, 'spec.prefix');
}

export function applyNetworkInstance(
  state: IpamState,
  ref: NetworkInstanceRef,
  prefixes: InstancePrefix[],
  owner: string,
): NetworkInstanceInfo {
  if (!ref || typeof ref.name !== 'string' || ref.name === '') {
    throw new IpamError('InvalidArgument', 'network instance name is required', { field: 'metadata.name' });
  }
  if (typeof owner !== 'string') throw new IpamError('InvalidArgument', 'network instance owner is required', { field: 'owner' });
  let inst = state.findInstance(ref);
  if (inst && inst.owner !== owner) {
    throw new IpamError('AlreadyExists', `network instance ${inst.key} is in use by ${inst.owner}`, {
      networkInstance: inst.key,
      dependents: [inst.owner],
    });
  }
  const isNew = !inst;
  inst ??= state.createInstance(ref, owner);
  const list = Array.isArray(prefixes) ? prefixes : [];
  try {
    const wanted = list.map((p, i) => {
      const n = normalize(
        inst!,
        { networkInstance: ref, prefix: p?.prefix, kind: 'aggregate', labels: p?.labels, owner },
        `spec.prefixes[${i}].prefix`,
      );
      return n;
    });
    const keep = new Set(wanted.map((n) => n.canon + '\u0000' + owner));
    const current = [...inst.specs.values()].filter((s) => s.fromInstance);
    const gone = current.filter((s) => !keep.has(s.key));
    const deps = new Set<string>();
    for (const s of gone) specDependents(state, s, new Set([owner]), deps);
    if (deps.size) throw dependentsError(gone.map((s) => s.net).join(', '), inst, deps);
    for (const s of gone) removeSpecNow(state, s, null);
    const added: SpecRec[] = [];
    try {
      wanted.forEach((n, i) => {
        const old = inst!.specs.get(n.canon + '\u0000' + owner);
        if (old && old.fromInstance) updateLabels(state, inst!, old, n.labels);
        else if (old) throw inUse(state, inst!, n.net, old.row, `spec.prefixes[${i}].prefix`);
        else added.push(addSpec(state, inst!, n, true, `spec.prefixes[${i}].prefix`));
      });
    } catch (e) {
      for (const s of added.reverse()) removeSpecNow(state, s, null);
      throw e;
    }
    inst.prefixes = wanted.map((n) => (n.labels === freezeLabels(undefined) ? { prefix: n.net } : { prefix: n.net, labels: n.labels }));
    return instanceInfo(inst);
  } catch (e) {
    if (isNew) state.dropInstance(inst);
    throw e;
  }
}

export function instanceInfo(inst: Instance): NetworkInstanceInfo {
  return { name: inst.ref.name, namespace: inst.ref.namespace, owner: inst.owner, prefixes: inst.prefixes.map((p) => ({ ...p })) };
}

/** Specs a removePrefix(prefix) call means: the exact text first, else every spec of that network. */
export function specsFor(inst: Instance, prefix: string): SpecRec[] {
  const c = parseField(prefix, 'prefix', inst);
  const canon = formatCidr(c);
  const exact = [...inst.specs.values()].filter((s) => s.canon === canon && !s.fromInstance);
  if (exact.length || c.hostBits) return exact;
  return [...inst.specs.values()].filter((s) => s.net === canon && !s.fromInstance);
}

export function removePrefix(state: IpamState, ref: NetworkInstanceRef, prefix: string, opts?: ReleaseOptions): void {
  const inst = state.findInstance(ref);
  if (!inst) return;
  const recs = specsFor(inst, prefix);
  if (!opts?.force) {
    const owners = new Set(recs.map((r) => r.owner));
    const deps = new Set<string>();
    // removing every member of a shared subnet removes the subnet
    const rowsGone = new Set(recs.filter((r) => (state.meta.get(r.row)?.members ?? []).every((m) => recs.includes(m))).map((r) => r.row));
    for (const r of recs) {
      if (rowsGone.has(r.row)) state.dependents(r.row, owners, deps);
      else if (r.reserved) state.dependents(r.reserved, owners, deps);
    }
    if (deps.size) throw dependentsError(prefix, inst, deps);
  }
  for (const r of recs) removeSpecNow(state, r, null);
}

export function removeNetworkInstance(state: IpamState, ref: NetworkInstanceRef, opts?: ReleaseOptions): void {
  const inst = state.findInstance(ref);
  if (!inst) return;
  if (!opts?.force) {
    const deps = instanceDependents(state, inst, new Set([inst.owner]));
    if (deps.size) throw dependentsError(`network instance ${inst.key}`, inst, deps);
  }
  dropWholeInstance(state, inst);
}

export function instanceDependents(state: IpamState, inst: Instance, except: ReadonlySet<string>, out = new Set<string>()): Set<string> {
  for (const fam of inst.top) {
    for (const t of fam) {
      for (const s of state.meta.get(t)?.members ?? []) if (!except.has(s.owner)) out.add(s.owner);
      if (state.rows.type(t) === RowType.Alloc && !except.has(state.rows.ownerOf(t))) out.add(state.rows.ownerOf(t));
      state.dependents(t, except, out);
    }
  }
  return out;
}

export function dropWholeInstance(state: IpamState, inst: Instance, freed: ((r: number) => void) | null = null): void {
  for (const fam of inst.top) for (const t of [...fam]) state.purge(t, true, freed);
  state.dropInstance(inst);
}

export { RowFlag };
