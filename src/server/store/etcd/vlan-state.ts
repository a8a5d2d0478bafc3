// The VLAN part of the etcd state (keys.ts has the layout): one key per VLAN index
// (`vix/<ns>/<name>`, its VlanIndexInfo) and one per VLAN owner (`vown/<owner>`, what it holds).
// Every transaction that changes VLAN state compares and rewrites ONE revision key,
// `rev/vlan` (VLAN_DOMAIN; a network instance id always holds a `/`, so it cannot collide),
// and writes its records to `jr/vlan` for the other replicas: two replicas that claimed from
// the same view cannot both commit, whichever indexes and owners they touched, so no id is
// handed out twice and an owner's key is never written from two views. VLAN traffic is a few
// claims per package, so one conflict domain costs little; a lost VLAN race reloads (VLAN ops
// are not undone in place).
import type { Ipam, Snapshot } from '../../../ipam/types.js';
import type { VlanAllocation, VlanIndexInfo, VlanIndexRef, VlanSnapshot } from '../../../vlan/types.js';
import { isVlanOp, type Op } from '../ops.js';
import type { Keys } from './keys.js';

/** The part of a commit's key writes (state.ts Derived) the VLAN keys add to. */
interface Writes {
  writes: Map<string, Buffer | null>;
  instances: Set<string>;
}

/** What a commit's VLAN records touch. */
interface Touched {
  owners: Set<string>;
  indexes: Set<string>;
  /** indexes where other owners' ids may have gone too (removals, forced releases) */
  recheck: Set<string>;
}

/** The conflict domain (revision and journal key id) of all VLAN state. */
export const VLAN_DOMAIN = 'vlan';

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
const indexId = (r: VlanIndexRef): string => `${r.namespace || 'default'}/${r.name}`;

/** Which owners hold ids in which index, and who defined each index: enough to know which
 *  keys a request changes (the allocator holds the values). */
export class VlanMirror {
  /** owner -> index id */
  private readonly owners = new Map<string, string>();
  /** index id -> owners holding ids in it */
  private readonly held = new Map<string, Set<string>>();
  /** index id -> the owner that defined it */
  private readonly indexes = new Map<string, string>();

  constructor(private readonly keys: Keys) {}

  clear(): void {
    this.owners.clear();
    this.held.clear();
    this.indexes.clear();
  }

  /** Adds the key writes that bring etcd's VLAN keys to the live allocator's, for what `ops`
   *  changed, to `d`. */
  derive(ops: Op[], live: Ipam, d: Writes): void {
    const vops = ops.filter(isVlanOp);
    if (vops.length === 0) return;
    d.instances.add(VLAN_DOMAIN);
    const touched: Touched = { owners: new Set(), indexes: new Set(), recheck: new Set() };
    for (const op of vops) this.note(op, touched);
    for (const id of touched.recheck) for (const o of this.held.get(id) ?? []) touched.owners.add(o);
    const liveIndexes = new Map(live.vlan.listIndexes().map((x) => [indexId(x), x]));
    for (const id of touched.indexes) this.writeIndex(id, liveIndexes.get(id), d);
    for (const owner of touched.owners) this.writeOwner(owner, live.vlan.get(owner), d);
  }

  /** The keys one record changes. */
  private note(op: Op, t: Touched): void {
    switch (op.op) {
      case 'applyVlanIndex':
        t.indexes.add(indexId(op.spec.index));
        return;
      case 'removeVlanIndex':
        t.indexes.add(indexId(op.index));
        t.recheck.add(indexId(op.index));
        return;
      case 'applyVlanDefinition':
        t.owners.add(op.def.owner);
        return;
      case 'allocateVlan':
        t.owners.add(op.req.owner);
        return;
      case 'releaseVlan': {
        t.owners.add(op.owner);
        const at = this.owners.get(op.owner);
        if (at !== undefined) t.recheck.add(at);
        // the indexes the owner defined go with it
        for (const [id, o] of this.indexes) {
          if (o !== op.owner) continue;
          t.indexes.add(id);
          t.recheck.add(id);
        }
        return;
      }
      default:
        return;
    }
  }

  private writeIndex(id: string, x: VlanIndexInfo | undefined, d: Writes): void {
    if (x) {
      d.writes.set(this.keys.vix(id), json(x));
      this.indexes.set(id, x.owner);
    } else if (this.indexes.delete(id)) d.writes.set(this.keys.vix(id), null);
  }

  private writeOwner(owner: string, a: VlanAllocation | undefined, d: Writes): void {
    const was = this.owners.get(owner);
    if (was !== undefined) this.held.get(was)?.delete(owner);
    if (!a) {
      if (was !== undefined) d.writes.set(this.keys.vown(owner), null);
      this.owners.delete(owner);
      return;
    }
    const id = indexId(a.index);
    this.owners.set(owner, id);
    this.heldIn(id).add(owner);
    const { owner: _o, ...value } = a;
    d.writes.set(this.keys.vown(owner), json(value));
  }

  /** One key's durable state (a load, or another replica's transaction). */
  applyKv(kind: 'vix' | 'vown', id: string, value: Buffer | null): void {
    if (kind === 'vix') {
      if (value === null) this.indexes.delete(id);
      else this.indexes.set(id, (JSON.parse(value.toString()) as VlanIndexInfo).owner);
      return;
    }
    const was = this.owners.get(id);
    if (was !== undefined) this.held.get(was)?.delete(id);
    if (value === null) {
      this.owners.delete(id);
      return;
    }
    const at = indexId((JSON.parse(value.toString()) as Omit<VlanAllocation, 'owner'>).index);
    this.owners.set(id, at);
    this.heldIn(at).add(id);
  }

  private heldIn(id: string): Set<string> {
    let s = this.held.get(id);
    if (!s) this.held.set(id, (s = new Set()));
    return s;
  }
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const startOf = (a: VlanAllocation): number => a.vlanID ?? Number(a.vlanRange?.split(':')[0] ?? 0);

/**
 * The VLAN snapshot the keys describe, ordered for restore as the allocator's own snapshot is:
 * operators' definitions, then claims, then claims that reference a definition's id; each by
 * index, then id.
 */
export function vlanSnapshotOf(kvs: { key: string; value: Buffer }[], keys: Keys): Snapshot['vlan'] {
  const indexes: VlanIndexInfo[] = [];
  const allocations: VlanAllocation[] = [];
  for (const kv of kvs) {
    const k = keys.parse(kv.key);
    if (k?.kind === 'vix') indexes.push(JSON.parse(kv.value.toString()) as VlanIndexInfo);
    else if (k?.kind === 'vown') allocations.push({ owner: k.id, ...(JSON.parse(kv.value.toString()) as Omit<VlanAllocation, 'owner'>) });
  }
  if (indexes.length === 0) return undefined;
  const rank = (a: VlanAllocation) => (a.definition ? 0 : a.reference ? 2 : 1);
  allocations.sort(
    (a, b) => rank(a) - rank(b) || cmp(indexId(a.index), indexId(b.index)) || startOf(a) - startOf(b) || cmp(a.owner, b.owner),
  );
  const snap: VlanSnapshot = { version: 1, indexes: indexes.sort((a, b) => cmp(indexId(a), indexId(b))), allocations };
  return snap;
}
