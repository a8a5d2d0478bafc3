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
import type { Ipam, NetworkInstanceInfo, PrefixSpec } from '../../../ipam/types.js';
import type { Op } from '../ops.js';
import { Derivation, type Derived, type InstState, type MirrorIndex, type OwnerState } from './derivation.js';
import { instId, instOfPrefixId, type Keys } from './keys.js';
import { decodeOwnerValue } from './owner-value.js';
import { VlanMirror } from './vlan-state.js';

export class Mirror implements MirrorIndex {
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
      s = { id, owners: new Set(), prefixes: new Map(), niOwner: undefined };
      this.insts.set(id, s);
    }
    return s;
  }

  /** The key writes that bring etcd from the mirror's state to the live allocator's, for
   *  what `ops` changed. Updates the (optimistic) mirror. */
  derive(ops: Op[], live: Ipam): Derived {
    return this.derived(ops, live, true);
  }

  /** What `derive` does to the mirror, for records already in etcd (another replica's journal)
   *  or never sent (an undo): the keys are the same, their values all WRITTEN (derivation.ts). */
  follow(ops: Op[], live: Ipam): Derived {
    return this.derived(ops, live, false);
  }

  private derived(ops: Op[], live: Ipam, withValues: boolean): Derived {
    const d = new Derivation(this, live, withValues).run(ops);
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
      case 'ni':
        this.inst(k.id).niOwner = value === null ? undefined : (JSON.parse(value.toString()) as NetworkInstanceInfo).owner;
        return;
      case 'pfx':
        this.applyPrefixKv(k.id, value);
        return;
      case 'own':
        this.applyOwnerKv(k.id, value, modRevision);
        return;
    }
  }

  private applyPrefixKv(pid: string, value: Buffer | null): void {
    const inst = this.inst(instOfPrefixId(pid));
    if (value === null) inst.prefixes.delete(pid);
    else inst.prefixes.set(pid, (JSON.parse(value.toString()) as PrefixSpec).owner);
  }

  private applyOwnerKv(owner: string, value: Buffer | null, modRevision: number): void {
    const prev = this.owners.get(owner);
    if (prev?.instance !== undefined) this.insts.get(prev.instance)?.owners.delete(owner);
    if (value === null) {
      this.owners.delete(owner);
      this.ownerMod.delete(owner);
      return;
    }
    const h = decodeOwnerValue(value);
    const instance = h.allocation ? instId(h.allocation.networkInstance) : undefined;
    this.owners.set(owner, {
      instance,
      prefixIds: h.prefixIds ? new Set(h.prefixIds) : undefined,
      instanceIds: h.instanceIds ? new Set(h.instanceIds) : undefined,
    });
    if (instance !== undefined) this.inst(instance).owners.add(owner);
    this.ownerMod.set(owner, modRevision);
  }

  clear(): void {
    this.owners.clear();
    this.insts.clear();
    this.rev.clear();
    this.ownerMod.clear();
    this.vlan.clear();
  }
}

/** Key/value pairs as read from etcd (a load). */
export interface Kv {
  key: string;
  value: Buffer;
  createRevision: number;
  modRevision: number;
}
