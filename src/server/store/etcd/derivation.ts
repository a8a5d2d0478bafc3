// One commit's key writes (Mirror.derive): what the commit's records changed, turned into the
// writes that bring etcd to the live allocator's state, updating the mirror's index as it goes.
// Three steps: each record notes the keys it writes and the owners it touches; instances where
// something may have gone (removals, forced cascades) are checked against the live allocator;
// then every touched owner's key is rewritten (or deleted) from the live allocation.
import type { Allocation, Ipam, PrefixSpec } from '../../../ipam/types.js';
import type { Op } from '../ops.js';
import { instId, instOfPrefixId, specCanon, type Keys } from './keys.js';
import { encodeOwnerValue } from './owner-value.js';

/** The part of the mirror (state.ts) a derivation reads and updates. */
export interface MirrorIndex {
  readonly keys: Keys;
  readonly owners: Map<string, OwnerState>;
  readonly insts: Map<string, InstState>;
  inst(id: string): InstState;
}

/** What the mirror knows of one owner. (Sets only when not empty: most owners hold one
 *  allocation and nothing else.) */
export interface OwnerState {
  /** The instance its allocation lies in. */
  instance: string | undefined;
  prefixIds: Set<string> | undefined;
  instanceIds: Set<string> | undefined;
}

export interface InstState {
  /** The instance's id, one string that every owner record in it shares. */
  readonly id: string;
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

type OpOf<K extends Op['op']> = Extract<Op, { op: K }>;

/** The value of every write a derivation without values makes. */
export const WRITTEN: Buffer = Buffer.alloc(0);

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
const added = (set: Set<string> | undefined, v: string): Set<string> => (set ?? new Set<string>()).add(v);

export class Derivation {
  private readonly d: Derived = { writes: new Map(), instances: new Set(), owners: new Set() };
  /** Owners whose key must be rewritten, with whether the mirror had a record for them. */
  private readonly dirty = new Map<string, boolean>();
  /** Instances where prefixes or other owners' allocations may have gone (made when needed:
   *  most commits only allocate). */
  private recheck: Set<string> | undefined;

  /** `withValues` false: the writes' values are all WRITTEN (replays and undos only need to
   *  know which keys are written and which deleted). */
  constructor(
    private readonly mirror: MirrorIndex,
    private readonly live: Ipam,
    private readonly withValues = true,
  ) {}

  run(ops: Op[]): Derived {
    for (const op of ops) this.record(op);
    if (this.recheck) for (const id of this.recheck) this.recheckInstance(id);
    for (const [owner, hadRecord] of this.dirty) this.writeOwner(owner, hadRecord);
    return this.d;
  }

  private record(op: Op): void {
    switch (op.op) {
      case 'applyNetworkInstance':
        return this.applyNetworkInstance(op);
      case 'removeNetworkInstance':
        return this.removeNetworkInstance(op);
      case 'applyPrefix':
        return this.applyPrefix(op);
      case 'removePrefix':
        this.toRecheck(instId(op.ni));
        return;
      case 'allocate':
        this.touch(op.req.owner);
        return;
      case 'release':
        return this.release(op);
      default:
        return; // VLAN records: vlan-state.ts
    }
  }

  private toRecheck(id: string): void {
    (this.recheck ??= new Set()).add(id);
  }

  /** The owner's mirror record, noted for rewriting. */
  private touch(owner: string): OwnerState {
    let s = this.mirror.owners.get(owner);
    if (!this.dirty.has(owner)) this.dirty.set(owner, s !== undefined);
    if (!s) {
      s = { instance: undefined, prefixIds: undefined, instanceIds: undefined };
      this.mirror.owners.set(owner, s);
    }
    return s;
  }

  private applyNetworkInstance(op: OpOf<'applyNetworkInstance'>): void {
    const id = instId(op.ref);
    const inst = this.mirror.inst(id);
    const info = { name: op.ref.name, namespace: op.ref.namespace || 'default', owner: op.owner, prefixes: op.prefixes };
    this.d.instances.add(id);
    this.d.writes.set(this.mirror.keys.ni(id), this.withValues ? json(info) : WRITTEN);
    if (inst.niOwner !== undefined && inst.niOwner !== op.owner) this.touch(inst.niOwner).instanceIds?.delete(id);
    inst.niOwner = op.owner;
    const o = this.touch(op.owner);
    o.instanceIds = added(o.instanceIds, id);
    // aggregates left out of the new list are removed with what their owner held inside
    this.toRecheck(id);
  }

  private removeNetworkInstance(op: OpOf<'removeNetworkInstance'>): void {
    const id = instId(op.ref);
    const inst = this.mirror.inst(id);
    this.d.instances.add(id);
    this.d.writes.set(this.mirror.keys.ni(id), null);
    if (inst.niOwner !== undefined) this.touch(inst.niOwner).instanceIds?.delete(id);
    inst.niOwner = undefined;
    this.toRecheck(id);
  }

  private applyPrefix(op: OpOf<'applyPrefix'>): void {
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
    this.d.instances.add(id);
    this.d.writes.set(this.mirror.keys.pfx(pid), this.withValues ? json(spec) : WRITTEN);
    this.mirror.inst(id).prefixes.set(pid, op.spec.owner);
    const o = this.touch(op.spec.owner);
    o.prefixIds = added(o.prefixIds, pid);
  }

  private release(op: OpOf<'release'>): void {
    const s = this.touch(op.owner);
    for (const pid of s.prefixIds ?? []) this.toRecheck(instOfPrefixId(pid));
    // forced: what others held inside the owner's allocated prefix went with it
    if (op.force && s.instance !== undefined) this.toRecheck(s.instance);
    // the allocator removes the owner's network instances too
    for (const id of s.instanceIds ?? []) this.toRecheck(id);
  }

  /** Compares an instance's keys with the live allocator, key by key. */
  private recheckInstance(id: string): void {
    this.d.instances.add(id);
    const inst = this.mirror.insts.get(id);
    if (!inst) return;
    const ref = refOf(id);
    const exists = this.live.listNetworkInstances().some((n) => n.name === ref.name && n.namespace === ref.namespace);
    if (!exists && inst.niOwner !== undefined) {
      this.d.writes.set(this.mirror.keys.ni(id), null);
      this.touch(inst.niOwner).instanceIds?.delete(id);
      inst.niOwner = undefined;
    }
    const livePrefixes = exists ? this.livePrefixIds(id, ref) : new Set<string>();
    for (const [pid, owner] of inst.prefixes) {
      if (livePrefixes.has(pid)) continue;
      this.d.writes.set(this.mirror.keys.pfx(pid), null);
      inst.prefixes.delete(pid);
      this.touch(owner).prefixIds?.delete(pid);
    }
    // (a cascade only removes: an allocation still there in this instance is unchanged)
    for (const owner of inst.owners) {
      const a = this.live.getAllocations(owner)[0];
      if (!a || instId(a.networkInstance) !== id) this.touch(owner);
    }
  }

  private livePrefixIds(id: string, ref: { name: string; namespace: string }): Set<string> {
    const ids = new Set<string>();
    for (const p of this.live.listPrefixes(ref)) {
      const canon = p.reserved?.length ? `${p.reserved[0]}/${p.prefix.slice(p.prefix.indexOf('/') + 1)}` : p.prefix;
      ids.add(`${id}/${canon} ${p.owner}`);
    }
    return ids;
  }

  /** Rewrites the owner's key from the live allocation (deletes it when it holds nothing). */
  private writeOwner(owner: string, hadRecord: boolean): void {
    const s = this.mirror.owners.get(owner)!;
    const a = this.live.getAllocations(owner)[0];
    let instance = a ? instId(a.networkInstance) : undefined;
    if (s.instance !== undefined && s.instance !== instance) {
      this.mirror.insts.get(s.instance)?.owners.delete(owner);
      this.d.instances.add(s.instance);
    }
    if (instance !== undefined) {
      const inst = this.mirror.inst(instance);
      inst.owners.add(owner);
      // the record keeps the instance's own id string, not a new one per owner
      instance = inst.id;
      this.d.instances.add(instance);
    }
    s.instance = instance;
    this.d.owners.add(owner);
    const key = this.mirror.keys.own(owner);
    if (!a && !s.prefixIds?.size && !s.instanceIds?.size) {
      this.mirror.owners.delete(owner);
      if (hadRecord) this.d.writes.set(key, null);
      return;
    }
    if (!this.withValues) {
      this.d.writes.set(key, WRITTEN);
      return;
    }
    let allocation: Omit<Allocation, 'owner'> | undefined;
    if (a) {
      const { owner: _owner, ...rest } = a;
      allocation = rest;
    }
    const prefixIds = s.prefixIds && [...s.prefixIds];
    const instanceIds = s.instanceIds && [...s.instanceIds];
    this.d.writes.set(key, encodeOwnerValue({ allocation, prefixIds, instanceIds }));
  }
}

function refOf(id: string): { name: string; namespace: string } {
  const slash = id.indexOf('/');
  return { namespace: id.slice(0, slash), name: id.slice(slash + 1) };
}
