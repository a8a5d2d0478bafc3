// What the etcd store knows about the keys it shares with other replicas, and how a request's
// records become key writes.
//
// The server logs compact records (ops.ts): an allocation is its request and the answer. etcd
// holds per-key state instead (keys.ts), one key per owner and per prefix, so that a request
// writes a few hundred bytes whatever the size of the pool, and a restart or a new replica
// rebuilds the allocator from a snapshot made of those keys. `Mirror.derive` turns a
// request's records into the key writes that bring etcd to the live allocator's state; it
// runs in the tick of the commit, when the live allocator holds exactly the state after the
// request (core.ts applies and commits in one tick).
//
// The mirror is an index, not a copy: which owners hold allocations in which instance, which
// prefix keys exist and who owns them, who owns each instance (a few dozen bytes per
// allocation; the allocator itself holds the values). Its sets are optimistic (they include
// commits not yet durable); the revisions are durable (the transaction id each revision key
// held and the mod revision each owner key had when this replica last saw them), and are what
// transactions compare.
import { formatCidr, parseCidr } from '../../../ipam/addr.js';
import type { Allocation, Ipam, NetworkInstanceInfo, PrefixSpec, Snapshot } from '../../../ipam/types.js';
import type { Op } from '../ops.js';
import { instId, instOfPrefixId, type Keys } from './keys.js';
import { VlanMirror, vlanSnapshotOf } from './vlan-state.js';

/** An owner's key value. The allocation omits `owner` (it is the key). */
export interface OwnerValue {
  a?: Omit<Allocation, 'owner'>;
  /** Prefix ids the owner defined (IPPrefix). */
  p?: string[];
  /** Instance ids the owner defined (NetworkInstance). */
  n?: string[];
}

/** (Sets only when not empty: most owners hold one allocation and nothing else.) */
interface OwnerState {
  ni: string | undefined;
  p: Set<string> | undefined;
  n: Set<string> | undefined;
}

interface InstState {
  /** Owners whose allocation lies in this instance. */
  owners: Set<string>;
  /** prefix id -> owner. */
  prefixes: Map<string, string>;
  niOwner: string | undefined;
}

/** A key write: the value, or null to delete. */
export type Write = Buffer | null;

/** The key writes one commit needs, and what the transaction must compare for it. */
export interface Derived {
  writes: Map<string, Write>;
  /** Instance ids whose state changes: their revision keys are compared and rewritten. */
  instances: Set<string>;
  /** Owners whose key is written or whose absence was relied on: their keys are compared. */
  owners: Set<string>;
}

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

/** The prefix as the allocator identifies a spec: canonical, host bits kept. */
export const specCanon = (prefix: string): string => formatCidr(parseCidr(prefix));

export class Mirror {
  readonly owners = new Map<string, OwnerState>();
  readonly insts = new Map<string, InstState>();
  /** Durable: the value (last transaction id) of `rev/<id>` (absent: the key does not exist). */
  readonly rev = new Map<string, string>();
  /** Durable: mod revision of `own/<owner>`. */
  readonly ownerMod = new Map<string, number>();
  /** The VLAN keys' index (vlan-state.ts). */
  readonly vlan: VlanMirror;

  constructor(readonly keys: Keys) {
    this.vlan = new VlanMirror(keys);
  }

  inst(id: string): InstState {
    let s = this.insts.get(id);
    if (!s) {
      s = { owners: new Set(), prefixes: new Map(), niOwner: undefined };
      this.insts.set(id, s);
    }
    return s;
  }

  /** The key writes that bring etcd from the mirror's state to the live allocator's, for
   *  what `ops` changed. Updates the (optimistic) mirror. */
  derive(ops: Op[], live: Ipam): Derived {
    const d: Derived = { writes: new Map(), instances: new Set(), owners: new Set() };
    // Owners whose key must be rewritten, with whether the mirror had a record for them.
    const dirty = new Map<string, boolean>();
    const touch = (owner: string): OwnerState => {
      let s = this.owners.get(owner);
      if (!dirty.has(owner)) dirty.set(owner, s !== undefined);
      if (!s) {
        s = { ni: undefined, p: undefined, n: undefined };
        this.owners.set(owner, s);
      }
      return s;
    };
    const add = (set: Set<string> | undefined, v: string): Set<string> => (set ?? new Set<string>()).add(v);
    // Instances where prefixes or other owners' allocations may have gone (removals, forced
    // cascades): checked against the live allocator, key by key.
    const recheck = new Set<string>();
    for (const op of ops) {
      switch (op.op) {
        case 'applyNetworkInstance': {
          const id = instId(op.ref);
          const inst = this.inst(id);
          d.instances.add(id);
          d.writes.set(
            this.keys.ni(id),
            json({ name: op.ref.name, namespace: op.ref.namespace || 'default', owner: op.owner, prefixes: op.prefixes }),
          );
          if (inst.niOwner !== undefined && inst.niOwner !== op.owner) touch(inst.niOwner).n?.delete(id);
          inst.niOwner = op.owner;
          const o = touch(op.owner);
          o.n = add(o.n, id);
          // aggregates left out of the new list are removed with what their owner held inside
          recheck.add(id);
          break;
        }
        case 'removeNetworkInstance': {
          const id = instId(op.ref);
          const inst = this.inst(id);
          d.instances.add(id);
          d.writes.set(this.keys.ni(id), null);
          if (inst.niOwner !== undefined) touch(inst.niOwner).n?.delete(id);
          inst.niOwner = undefined;
          recheck.add(id);
          break;
        }
        case 'applyPrefix': {
          const id = instId(op.spec.networkInstance);
          const canon = specCanon(op.spec.prefix);
          const pid = `${id}/${canon} ${op.spec.owner}`;
          const spec: PrefixSpec = {
            networkInstance: { name: op.spec.networkInstance.name, namespace: op.spec.networkInstance.namespace || 'default' },
            prefix: canon,
            kind: op.spec.kind,
            owner: op.spec.owner,
          };
          if (op.spec.networkName) spec.networkName = op.spec.networkName;
          if (op.spec.labels && Object.keys(op.spec.labels).length) spec.labels = op.spec.labels;
          d.instances.add(id);
          d.writes.set(this.keys.pfx(pid), json(spec));
          this.inst(id).prefixes.set(pid, op.spec.owner);
          const o = touch(op.spec.owner);
          o.p = add(o.p, pid);
          break;
        }
        case 'removePrefix':
          recheck.add(instId(op.ni));
          break;
        case 'allocate':
          touch(op.req.owner);
          break;
        case 'release': {
          const s = touch(op.owner);
          for (const pid of s.p ?? []) recheck.add(instOfPrefixId(pid));
          // forced: what others held inside the owner's allocated prefix went with it
          if (op.force && s.ni !== undefined) recheck.add(s.ni);
          // the allocator removes the owner's network instances too
          for (const id of s.n ?? []) recheck.add(id);
          break;
        }
      }
    }
    for (const id of recheck) {
      d.instances.add(id);
      const inst = this.insts.get(id);
      if (!inst) continue;
      const ref = refOf(id);
      const livePrefixes = new Set<string>();
      const exists = live.listNetworkInstances().some((n) => n.name === ref.name && n.namespace === ref.namespace);
      if (!exists && inst.niOwner !== undefined) {
        d.writes.set(this.keys.ni(id), null);
        touch(inst.niOwner).n?.delete(id);
        inst.niOwner = undefined;
      }
      if (exists) {
        for (const p of live.listPrefixes(ref)) {
          const canon = p.reserved?.length ? `${p.reserved[0]}/${p.prefix.slice(p.prefix.indexOf('/') + 1)}` : p.prefix;
          livePrefixes.add(`${id}/${canon} ${p.owner}`);
        }
      }
      for (const [pid, owner] of inst.prefixes) {
        if (livePrefixes.has(pid)) continue;
        d.writes.set(this.keys.pfx(pid), null);
        inst.prefixes.delete(pid);
        touch(owner).p?.delete(pid);
      }
      // (a cascade only removes: an allocation still there in this instance is unchanged)
      for (const owner of inst.owners) {
        const a = live.getAllocations(owner)[0];
        if (!a || instId(a.networkInstance) !== id) touch(owner);
      }
    }
    for (const [owner, hadRecord] of dirty) {
      const s = this.owners.get(owner)!;
      const a = live.getAllocations(owner)[0];
      const ni = a ? instId(a.networkInstance) : undefined;
      if (s.ni !== undefined && s.ni !== ni) {
        this.insts.get(s.ni)?.owners.delete(owner);
        d.instances.add(s.ni);
      }
      if (ni !== undefined) {
        this.inst(ni).owners.add(owner);
        d.instances.add(ni);
      }
      s.ni = ni;
      d.owners.add(owner);
      if (!a && !s.p?.size && !s.n?.size) {
        this.owners.delete(owner);
        if (hadRecord) d.writes.set(this.keys.own(owner), null);
      } else {
        d.writes.set(this.keys.own(owner), json(ownerValue(a, s)));
      }
    }
    this.vlan.derive(ops, live, d);
    return d;
  }

  /** Applies one key's durable state (from a load or another replica's transaction). */
  applyKv(key: string, value: Buffer | null, modRevision: number): void {
    const k = this.keys.parse(key);
    if (!k) return;
    switch (k.kind) {
      case 'rev':
        if (value === null) this.rev.delete(k.id);
        else this.rev.set(k.id, value.toString());
        return;
      case 'jr':
        return;
      case 'vix':
      case 'vown':
        this.vlan.applyKv(k.kind, k.id, value);
        return;
      case 'ni': {
        const inst = this.inst(k.id);
        inst.niOwner = value === null ? undefined : (JSON.parse(value.toString()) as NetworkInstanceInfo).owner;
        return;
      }
      case 'pfx': {
        const inst = this.inst(instOfPrefixId(k.id));
        if (value === null) inst.prefixes.delete(k.id);
        else inst.prefixes.set(k.id, (JSON.parse(value.toString()) as PrefixSpec).owner);
        return;
      }
      case 'own': {
        const owner = k.id;
        const prev = this.owners.get(owner);
        if (prev?.ni !== undefined) this.insts.get(prev.ni)?.owners.delete(owner);
        if (value === null) {
          this.owners.delete(owner);
          this.ownerMod.delete(owner);
          return;
        }
        const v = JSON.parse(value.toString()) as OwnerValue;
        const ni = v.a ? instId(v.a.networkInstance) : undefined;
        this.owners.set(owner, { ni, p: v.p?.length ? new Set(v.p) : undefined, n: v.n?.length ? new Set(v.n) : undefined });
        if (ni !== undefined) this.inst(ni).owners.add(owner);
        this.ownerMod.set(owner, modRevision);
        return;
      }
    }
  }

  clear(): void {
    this.owners.clear();
    this.insts.clear();
    this.rev.clear();
    this.ownerMod.clear();
    this.vlan.clear();
  }
}

function refOf(id: string): { name: string; namespace: string } {
  const slash = id.indexOf('/');
  return { namespace: id.slice(0, slash), name: id.slice(slash + 1) };
}

function ownerValue(a: Allocation | undefined, s: OwnerState): OwnerValue {
  const v: OwnerValue = {};
  if (a) {
    const { owner: _owner, ...rest } = a;
    v.a = rest;
  }
  if (s.p?.size) v.p = [...s.p].sort();
  if (s.n?.size) v.n = [...s.n].sort();
  return v;
}

/** Key/value pairs as read from etcd (a load). */
export interface Kv {
  key: string;
  value: Buffer;
  createRevision: number;
  modRevision: number;
}

/**
 * The allocator snapshot the keys describe. Ordered for restore (see ipam/snapshot.ts):
 * instances in creation order; per instance, prefixes and allocations in tree order (every
 * prefix before what lies inside it), lookups of reserved addresses last.
 */
export function snapshotOf(kvs: Kv[], keys: Keys): Snapshot {
  const nis: { ni: NetworkInstanceInfo; created: number }[] = [];
  const specs: PrefixSpec[] = [];
  const allocs: Allocation[] = [];
  for (const kv of kvs) {
    const k = keys.parse(kv.key);
    if (!k) continue;
    if (k.kind === 'ni') nis.push({ ni: JSON.parse(kv.value.toString()) as NetworkInstanceInfo, created: kv.createRevision });
    else if (k.kind === 'pfx') specs.push(JSON.parse(kv.value.toString()) as PrefixSpec);
    else if (k.kind === 'own') {
      const v = JSON.parse(kv.value.toString()) as OwnerValue;
      if (v.a) allocs.push({ owner: k.id, ...v.a });
    }
  }
  nis.sort((x, y) => x.created - y.created);
  const order = new Map(nis.map((n, i) => [instId(n.ni), i]));
  const instOrder = (ref: { name: string; namespace?: string }) => order.get(instId(ref)) ?? Number.MAX_SAFE_INTEGER;

  // reserved addresses (network/loopback IPPrefixes written with host bits), per instance
  const reserved = new Set<string>();
  const specKeys = specs.map((s) => {
    const c = parseCidr(s.prefix);
    if (c.hostBits) reserved.add(`${instId(s.networkInstance)} ${wordsKey(c.v6, c.w)}`);
    const net = new Uint32Array(c.w);
    maskWords(net, c.len);
    return { s, v6: c.v6, w: net, len: c.len };
  });
  specKeys.sort(
    (a, b) =>
      instOrder(a.s.networkInstance) - instOrder(b.s.networkInstance) ||
      Number(a.v6) - Number(b.v6) ||
      compareWords(a.w, b.w) ||
      a.len - b.len ||
      cmpStr(a.s.prefix, b.s.prefix) ||
      cmpStr(a.s.owner, b.s.owner),
  );
  const allocKeys = allocs.map((a) => {
    const c = parseCidr(a.prefix);
    const W = c.v6 ? 128 : 32;
    let host = a.kind === 'loopback';
    if (a.kind === 'network') host = parseCidr(a.parent).len === c.len;
    const w = new Uint32Array(c.w);
    if (!host) maskWords(w, c.len);
    const ref = host && reserved.has(`${instId(a.networkInstance)} ${wordsKey(c.v6, w)}`);
    return { a, v6: c.v6, w, len: host ? W : c.len, ref };
  });
  allocKeys.sort(
    (x, y) =>
      Number(x.ref) - Number(y.ref) ||
      instOrder(x.a.networkInstance) - instOrder(y.a.networkInstance) ||
      Number(x.v6) - Number(y.v6) ||
      compareWords(x.w, y.w) ||
      x.len - y.len ||
      cmpStr(x.a.owner, y.a.owner),
  );
  const vlan = vlanSnapshotOf(kvs, keys);
  return {
    version: 1,
    networkInstances: nis.map((n) => n.ni),
    prefixes: specKeys.map((k) => k.s),
    allocations: allocKeys.map((k) => k.a),
    ...(vlan ? { vlan } : {}),
  };
}

const cmpStr = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function compareWords(a: Uint32Array, b: Uint32Array): number {
  for (let i = 0; i < 4; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return 0;
}

function maskWords(w: Uint32Array, len: number): void {
  for (let i = 0; i < 4; i++) {
    const bits = Math.max(0, Math.min(32, len - 32 * i));
    w[i] = bits === 0 ? 0 : bits === 32 ? w[i]! : (w[i]! & (~0 << (32 - bits))) >>> 0;
  }
}

const wordsKey = (v6: boolean, w: ArrayLike<number>): string => `${v6 ? 6 : 4}:${w[0]}.${w[1]}.${w[2]}.${w[3]}`;
