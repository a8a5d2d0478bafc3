// One etcd transaction of the store: the commits it carries (whole, or a chunk of one too
// large for a transaction), what it compares, what it writes, and what its answer means.
import type { Revert } from '../store.js';
import { encodeJournal } from './journal.js';
import type { Keys } from './keys.js';
import { instanceResource, ownerResource, type Resource } from './resource.js';
import type { Derived, Write } from './derivation.js';
import { encodeTxnRequest, type TxnAnswer, type TxnCompare, type TxnOp } from './txn-codec.js';

/** A commit waiting for etcd: its key writes, and the instances and owners it relies on. */
export class Pending {
  /** entries already sent by earlier chunks */
  sent = 0;
  settled = false;
  readonly entries: [string, Write][];
  /** owner key -> owner, for the entries that write one */
  readonly ownerKeys = new Map<string, string>();
  /** every owner whose key the commit writes or relies on */
  readonly owners: string[];
  /** owners compared without a write of their key (their absence or state was relied on) */
  readonly guards: string[];
  readonly resources: Resource[];
  constructor(
    readonly seq: number,
    readonly derived: Derived,
    readonly opsJson: string,
    keys: Keys,
    readonly resolve: () => void,
    readonly reject: (e: Error) => void,
    /** undoes the commit in the live allocator after a lost race (absent: it cannot be) */
    readonly revert?: Revert,
  ) {
    const { writes, owners, instances } = derived;
    this.entries = [...writes];
    this.owners = [...owners];
    this.guards = [];
    this.resources = [];
    for (const i of instances) this.resources.push(instanceResource(i));
    for (const o of this.owners) {
      const k = keys.own(o);
      if (writes.has(k)) this.ownerKeys.set(k, o);
      else this.guards.push(o);
      this.resources.push(ownerResource(o));
    }
  }
  /** Owners whose keys these entries write. */
  ownersOf(entries: [string, Write][]): string[] {
    const out: string[] = [];
    for (const [k] of entries) {
      const o = this.ownerKeys.get(k);
      if (o !== undefined) out.push(o);
    }
    return out;
  }
  /** Owners a share of the commit compares: those whose keys its entries write, and with the
   *  first share the guards (a whole commit: all of them; the list is not to be changed). */
  comparedOwners(entries: [string, Write][]): readonly string[] {
    if (this.sent === 0 && entries.length === this.entries.length) return this.owners;
    const out = this.ownersOf(entries);
    if (this.sent === 0) out.push(...this.guards);
    return out;
  }
  bytes(entries: [string, Write][]): number {
    let n = 0;
    for (const [k, v] of entries) n += k.length + (v?.length ?? 0) + 8;
    return n;
  }
}

/** A commit's share of one transaction: all of it, or a chunk (`last`: the final one). */
export interface CommitShare {
  c: Pending;
  entries: [string, Write][];
  last: boolean;
  /** the owners it compares (Pending.comparedOwners) */
  owners: readonly string[];
}

/** One transaction. */
export interface Round {
  id: string;
  /** order of sending */
  seq: number;
  items: CommitShare[];
  /** instance -> the revision key value compared ('' : absent) */
  basis: Map<string, string>;
  /** owner -> the owner key mod revision compared (0 : absent) */
  ownerBasis: Map<string, number>;
  /** holds a chunk of a commit that needs more transactions */
  partial: boolean;
}

/** `revision` 0: the transaction landed at a revision this replica does not know.
 *  `uncertain`: it may have landed all the same (see readAnswer). */
export type TxnOutcome =
  { ok: true; revision: number } | { ok: false; early: true } | { ok: false; early?: false; conflicts: Set<Resource>; uncertain: boolean };

/**
 * The request: compare each instance's revision key with the transaction id the commits were
 * made from (Create == 0: no transaction yet) and each owner key's mod revision; then write
 * the keys, and per instance the new id and the journal; else read back what was compared.
 */
export function buildTxn(round: Round, keys: Keys, writer: string): { req: Buffer; bytes: number; ops: number } {
  const writes = new Map<string, Write>();
  const journals = new Map<string, { complete: Pending[]; partial: Pending[] }>();
  for (const it of round.items) {
    for (const [k, v] of it.entries) writes.set(k, v);
    for (const id of it.c.derived.instances) {
      let j = journals.get(id);
      if (!j) journals.set(id, (j = { complete: [], partial: [] }));
      (it.last ? j.complete : j.partial).push(it.c);
    }
  }
  const compare: TxnCompare[] = [];
  const success: TxnOp[] = [];
  const failure: TxnOp[] = [];
  for (const [id, b] of round.basis) {
    const key = keys.rev(id);
    compare.push(b ? { key, target: 'value', value: b } : { key, target: 'create', revision: 0 });
    failure.push({ op: 'range', key, keysOnly: false });
  }
  for (const [o, mod] of round.ownerBasis) {
    const key = keys.own(o);
    compare.push({ key, target: 'mod', revision: mod });
    failure.push({ op: 'range', key, keysOnly: true });
  }
  let bytes = 0;
  for (const [id, j] of journals) {
    const value = encodeJournal(writer, round.id, round.basis.get(id)!, j.complete, j.partial[0]?.seq);
    bytes += value.length + round.id.length;
    success.push({ op: 'put', key: keys.rev(id), value: round.id });
    success.push({ op: 'put', key: keys.jr(id), value });
  }
  for (const [key, v] of writes) {
    bytes += Buffer.byteLength(key) + (v?.length ?? 0);
    success.push(v ? { op: 'put', key, value: v } : { op: 'delete', key });
  }
  return { req: encodeTxnRequest({ compare, success, failure }), bytes, ops: success.length };
}

/** Our transactions sent lately: id -> what each was made from (its `basis`). Only the bases:
 *  a whole Round would keep its commits, their requests and undo records alive, long enough
 *  for the garbage collector to move them all to the old generation. */
export type RecentBases = ReadonlyMap<string, ReadonlyMap<string, string>>;

/** Whether, walking back from our transaction `from` through the ones each was made from (on
 *  instance `inst`), one was made from `target`. */
function madeFrom(from: string, inst: string, target: string, recent: RecentBases): boolean {
  let r = recent.get(from);
  for (let n = 0; r && n < 64; n++) {
    const basis = r.get(inst);
    if (basis === target) return true;
    r = basis === undefined ? undefined : recent.get(basis);
  }
  return false;
}

/**
 * What etcd's answer means. On a failed compare: did an earlier attempt of this very
 * transaction succeed (its answer lost: its id is in a revision key, or the id of a later
 * transaction of ours made from it, which could only land after it)? Did it overtake the
 * transactions of ours it builds on (their basis is still there: `recent` holds the
 * transactions sent lately, by id)? Otherwise, which instances and owners changed.
 * `retried`: an earlier attempt failed after it may have reached etcd. If a revision key now
 * holds another replica's id, that attempt may have landed and the other replica's
 * transaction been made from it: the answer cannot tell, and the outcome is `uncertain`.
 */
export function readAnswer(res: TxnAnswer, round: Round, recent: RecentBases, retried = false): TxnOutcome {
  if (res.succeeded) return { ok: true, revision: res.revision };
  const insts = [...round.basis.keys()];
  const owners = [...round.ownerBasis.keys()];
  const conflicts = new Set<Resource>();
  let mine = 0;
  let landedEarlier = false;
  let early = false;
  let moved = false;
  res.ranges.forEach((kv, i) => {
    if (i < insts.length) {
      const id = insts[i]!;
      const now = kv ? kv.value : '';
      const basis = round.basis.get(id)!;
      if (now === round.id) mine = kv!.modRevision;
      // a later transaction of ours, made from this one, could only land after it
      else if (madeFrom(now, id, round.id, recent)) landedEarlier = true;
      else if (now !== basis) {
        // overtaken: our transactions this one was made from have not all landed yet
        if (madeFrom(basis, id, now, recent)) early = true;
        else {
          conflicts.add(instanceResource(id));
          moved = true;
        }
      }
    } else {
      const o = owners[i - insts.length]!;
      if ((kv ? kv.modRevision : 0) !== round.ownerBasis.get(o)) conflicts.add(ownerResource(o));
    }
  });
  if (mine) return { ok: true, revision: mine };
  if (landedEarlier) return { ok: true, revision: 0 };
  if (conflicts.size === 0 && early) return { ok: false, early: true };
  if (conflicts.size === 0) {
    for (const id of insts) conflicts.add(instanceResource(id));
    moved = true;
  }
  return { ok: false, conflicts, uncertain: retried && moved };
}
