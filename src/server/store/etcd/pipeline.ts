// Group commit: the store's commits, sent to etcd as compare-and-swap transactions.
//
// Commits arriving while transactions are in flight form the next one (bounded by etcd's
// operations and bytes per transaction). Up to `depth` transactions are in flight: the second
// compares the id the first writes, so it can only succeed after the first did; if it reaches
// etcd first it fails with the first one's predecessor still in place, which readAnswer
// recognises, and it goes again once the first is answered. A commit larger than one
// transaction goes alone, in several, in order.
//
// A lost race (etcd answers "compare failed"): the commits that touched what changed, and
// every later commit that shares an instance or owner with them (they were computed on top of
// them), are undone in the live allocator (newest first) and reject with StoreConflictError;
// the others go again. Transactions sent before it and not yet answered are left to their own
// answers (the change it ran into may have been made from them). The instances that changed
// are then `behind`: commits on them reject at once until the follower has replayed the
// winner's journal there (catchUp). When a commit cannot be undone, its resources are
// poisoned instead and the server reloads everything.
import type { Ipam } from '../../../ipam/types.js';
import type { Op } from '../ops.js';
import { FLUSH_BUCKETS, StoreConflictError, StoreFailedError, StoreRejectedError, type Revert } from '../store.js';
import type { Keys } from './keys.js';
import { conflictNames, instanceOf, instanceResource, ownerResource, type Resource } from './resource.js';
import type { Mirror } from './state.js';
import type { Turns } from './turns.js';
import { buildTxn, Pending, readAnswer, type CommitShare, type TxnOutcome, type Round } from './txn.js';
import type { TxnAnswer } from './txn-codec.js';

export interface PipelineOptions {
  keys: Keys;
  mirror: Mirror;
  writer: string;
  turns: Turns;
  maxOps: number;
  maxBytes: number;
  /** transactions in flight at once */
  depth: number;
  /** How long a lost race may wait for the winner's journal before a full reload (ms). */
  catchUpMs: number;
  /** Sends one encoded TxnRequest to etcd (retried until it answers); `retried`: an earlier
   *  attempt failed after it may have reached etcd. */
  send: (req: Buffer) => Promise<{ answer: TxnAnswer; retried: boolean }>;
  live: () => Ipam;
  /** After every answer: other replicas' journals may now apply. */
  answered: () => void;
  counters: PipelineCounters;
}

export interface PipelineCounters {
  records: number;
  flushes: number;
  bytes: number;
  overtaken: number;
  conflicts: number;
  rejected: number;
  reverted: number;
  txnOps: number;
}

interface Barrier {
  after: number;
  rejections: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

interface CatchUpWaiter {
  ids: string[];
  resolve: (current: boolean) => void;
  timer: NodeJS.Timeout;
}

export class CommitPipeline {
  /** Latency of successful transactions (attempts and retries included), over FLUSH_BUCKETS. */
  readonly txnSeconds = { counts: new Array<number>(FLUSH_BUCKETS.length + 1).fill(0), sum: 0 };
  private txnSeq = 0;
  private commitSeq = 0;
  private queue: Pending[] = [];
  private inflight: Round[] = [];
  /** instance -> id of the last transaction in flight that changes it */
  private readonly predicted = new Map<string, string>();
  /** instance -> seq of the transaction of ours whose id mirror.rev holds */
  private readonly revSeq = new Map<string, number>();
  private readonly ownersInFlight = new Set<string>();
  /** what the last transactions sent were made from, by id (to recognise one that overtook its predecessor) */
  private readonly recent = new Map<string, ReadonlyMap<string, string>>();
  /** a transaction overtook this one: send nothing more until it is answered */
  private holdFor: Round | undefined;
  private scheduled = false;
  private barriers: Barrier[] = [];
  private idle: (() => void)[] = [];
  private failed: StoreFailedError | undefined;
  /** Resources of commits rejected without being undone: later commits touching them reject
   *  too, until a reload. */
  private readonly poisoned = new Set<Resource>();
  private reloadNeeded = false;
  /** Instances another replica changed under a lost race: commits on them reject (and are
   *  undone) until the follower replayed the winner's journal there. */
  private readonly behind = new Set<string>();
  private waiters: CatchUpWaiter[] = [];
  private rejections = 0;
  /** resource -> number of unsettled commits touching it */
  private readonly busy = new Map<Resource, number>();
  /** The follower lost track: everything rejects until a reload. */
  private stale = false;

  constructor(private readonly o: PipelineOptions) {}

  // ---------------- what the facade calls ----------------

  get failure(): StoreFailedError | undefined {
    return this.failed;
  }

  get isStale(): boolean {
    return this.stale;
  }

  add(ops: Op[], revert?: Revert): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (ops.length === 0) {
      if (this.stale) return Promise.reject(new StoreConflictError(['*']));
      if (this.queue.length === 0 && this.inflight.length === 0 && !this.scheduled) return Promise.resolve();
      return new Promise((resolve, reject) => this.barriers.push({ after: this.commitSeq, rejections: this.rejections, resolve, reject }));
    }
    const derived = this.o.mirror.derive(ops, this.o.live());
    return new Promise<void>((resolve, reject) => {
      const c = new Pending(this.commitSeq + 1, derived, JSON.stringify(ops), this.o.keys, resolve, reject, revert);
      const { maxOps, maxBytes } = this.o;
      // Every chunk of a commit compares and rewrites each of its instances' keys; a commit
      // whose fixed part alone exceeds one transaction can never be written. Refuse it alone
      // instead of sending etcd a transaction it rejects (which would fail the whole store).
      const instances = derived.instances.size;
      if (2 * instances + c.guards.length >= maxOps || c.opsJson.length * instances >= maxBytes) {
        reject(
          new StoreRejectedError(
            `one request touches ${instances} network instances and ${c.guards.length} other owners: more than one etcd transaction can hold (at most ${maxOps} operations, ${maxBytes} bytes); split the request`,
          ),
        );
        return;
      }
      const late = this.lateOf(c);
      if (this.stale || late.length > 0) {
        // computed on a view that etcd no longer holds: it would lose its race
        if (!this.stale) this.undo([c], new Set(late));
        reject(new StoreConflictError(this.stale ? ['*'] : conflictNames(late)));
        return;
      }
      this.commitSeq++;
      this.o.counters.records++;
      for (const r of c.resources) this.busy.set(r, (this.busy.get(r) ?? 0) + 1);
      this.queue.push(c);
      this.schedule();
    });
  }

  /** What a new commit relies on that etcd no longer holds as this replica saw it. */
  private lateOf(c: Pending): Resource[] {
    if (this.poisoned.size === 0 && this.behind.size === 0) return [];
    return c.resources.filter((r) => this.poisoned.has(r) || this.behind.has(instanceOf(r) ?? ''));
  }

  /** Resolves once nothing is queued or in flight. */
  settled(): Promise<void> {
    if (!this.scheduled && this.queue.length === 0 && this.inflight.length === 0) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  /** After a lost race: true once this replica replayed what the winner wrote on these
   *  instances (`*`: on every instance it is behind on), so that the allocator holds what
   *  etcd holds and a retry can win; false when only a full reload can tell. */
  catchUp(names: string[]): Promise<boolean> {
    if (this.failed || this.stale || this.reloadNeeded) return Promise.resolve(false);
    const ids = names.includes('*') ? [...this.behind] : names.filter((n) => this.behind.has(n));
    if (ids.length === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const w: CatchUpWaiter = { ids, resolve, timer: setTimeout(() => this.endWait(w, false), this.o.catchUpMs) };
      this.waiters.push(w);
    });
  }

  /** A full reload read the state: nothing is poisoned, behind or stale any more. */
  reset(): void {
    this.revSeq.clear();
    this.poisoned.clear();
    this.behind.clear();
    this.reloadNeeded = false;
    this.stale = false;
    for (const w of [...this.waiters]) this.endWait(w, true);
  }

  /** The follower lost track of the other replicas: reject everything until a reload. */
  markStale(): void {
    this.stale = true;
    for (const w of [...this.waiters]) this.endWait(w, false);
  }

  /** Whether another replica's journal on this instance must wait: a commit of ours on it (or
   *  on `owners`) is unsettled or in flight (it will lose its race), or a reload is coming. */
  blocks(id: string): boolean {
    const r = instanceResource(id);
    return this.busy.has(r) || this.poisoned.has(r) || this.predicted.has(id);
  }

  blocksOwner(owner: string): boolean {
    return this.busy.has(ownerResource(owner));
  }

  /** The follower replayed another replica's transaction `txId` on instance `id`. */
  followed(id: string, txId: string): void {
    this.o.mirror.rev.set(id, txId);
    this.revSeq.set(id, this.txnSeq);
    if (!this.behind.delete(id)) return;
    for (const w of [...this.waiters]) if (w.ids.every((i) => !this.behind.has(i))) this.endWait(w, true);
  }

  fail(e: unknown): StoreFailedError {
    if (!this.failed) this.failed = e instanceof StoreFailedError ? e : new StoreFailedError(`etcd: ${(e as Error).message}`, e);
    const all = [...new Set([...this.inflight.flatMap((r) => this.unsettled(r)), ...this.queue])];
    this.queue = [];
    for (const c of all) this.settle(c, this.failed);
    this.settleBarriers();
    for (const w of [...this.waiters]) this.endWait(w, false);
    return this.failed;
  }

  /** Commits held back (turns) may go now. */
  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // let every request of this turn of the event loop join the transaction
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  // ---------------- sending ----------------

  /** Starts transactions while there is room in the pipeline and something to send. */
  pump(): void {
    while (!this.failed && this.queue.length > 0 && this.inflight.length < this.o.depth) {
      // a commit in several transactions goes alone; after a transaction arrived before its
      // predecessor, wait for the predecessor
      if (this.inflight.some((r) => r.partial) || this.holdFor) break;
      const round = this.takeRound();
      if (!round) break;
      this.inflight.push(round);
      this.recent.set(round.id, round.basis);
      if (this.recent.size > 64) this.recent.delete(this.recent.keys().next().value!);
      for (const id of round.basis.keys()) this.predicted.set(id, round.id);
      for (const o of round.ownerBasis.keys()) this.ownersInFlight.add(o);
      void this.run(round);
    }
    this.settleBarriers();
    if (this.inflight.length === 0 && this.queue.length === 0 && !this.scheduled) {
      const idle = this.idle;
      this.idle = [];
      for (const r of idle) r();
    }
  }

  /** The next transaction: whole commits from the head of the queue while they fit, or, when
   *  the head alone does not fit, as much of it as fits. A commit whose owner keys are in a
   *  transaction in flight waits for it (owner keys are compared by mod revision, which is
   *  known only once that transaction is answered). */
  private takeRound(): Round | undefined {
    const items = this.takeShares();
    return items.length === 0 ? undefined : this.roundOf(items);
  }

  private takeShares(): CommitShare[] {
    const { maxOps, maxBytes } = this.o;
    const items: CommitShare[] = [];
    const insts = new Set<string>();
    const owners = new Set<string>();
    let ops = 0;
    let bytes = 0;
    while (this.queue.length > 0 && this.mayGo(this.queue[0]!)) {
      const c = this.queue[0]!;
      const rest = c.sent === 0 ? c.entries : c.entries.slice(c.sent);
      const compared = c.comparedOwners(rest);
      const newInsts = countNew(c.derived.instances, insts);
      // per instance: the revision key and the journal
      const needOps = rest.length + 2 * newInsts;
      const needCmp = newInsts + countNew(compared, owners);
      const needBytes = c.bytes(rest) + c.opsJson.length * c.derived.instances.size;
      if (ops + needOps <= maxOps && insts.size + owners.size + needCmp <= maxOps && bytes + needBytes <= maxBytes) {
        items.push({ c, entries: rest, last: true, owners: compared });
        this.queue.shift();
        for (const i of c.derived.instances) insts.add(i);
        for (const o of compared) owners.add(o);
        ops += needOps;
        bytes += needBytes;
        continue;
      }
      if (items.length === 0 && this.inflight.length === 0) {
        items.push(this.chunkOf(c, rest, newInsts));
        this.queue.shift();
      }
      break;
    }
    return items;
  }

  /** Whether the commit at the head of the queue may join the next transaction. */
  private mayGo(c: Pending): boolean {
    if (this.ownersInFlight.size > 0) for (const o of c.owners) if (this.ownersInFlight.has(o)) return false;
    if (this.o.turns.heldBack(c.derived.instances)) return false;
    return !(c.sent > 0 && this.inflight.length > 0);
  }

  /** The transaction for `items`: what it compares is the newest id this replica expects of
   *  each revision key, and the mod revision it last saw of each owner key. */
  private roundOf(items: CommitShare[]): Round {
    const { mirror } = this.o;
    const seq = ++this.txnSeq;
    const id = `${this.o.writer}:${seq}`;
    const basis = new Map<string, string>();
    const ownerBasis = new Map<string, number>();
    for (const it of items) {
      for (const i of it.c.derived.instances) if (!basis.has(i)) basis.set(i, this.predicted.get(i) ?? mirror.rev.get(i) ?? '');
      for (const o of it.owners) if (!ownerBasis.has(o)) ownerBasis.set(o, mirror.ownerMod.get(o) ?? 0);
    }
    return { id, seq, items, basis, ownerBasis, partial: items.some((i) => !i.last) };
  }

  /** Alone and too large: as many of the commit's entries as one transaction holds (each chunk
   *  rewrites every revision key of the commit). Out of the queue while in flight; back at its
   *  head when more remains. */
  private chunkOf(c: Pending, rest: CommitShare['entries'], instances: number): CommitShare {
    const room = Math.max(1, this.o.maxOps - 2 * instances - (c.sent === 0 ? c.guards.length : 0));
    const budget = this.o.maxBytes - c.opsJson.length * c.derived.instances.size;
    let n = 0;
    let b = 0;
    while (n < rest.length && n < room) {
      const [k, v] = rest[n]!;
      const size = k.length + (v?.length ?? 0) + 8;
      if (n > 0 && b + size > budget) break;
      b += size;
      n++;
    }
    const entries = n === rest.length ? rest : rest.slice(0, n);
    return { c, entries, last: n === rest.length, owners: c.comparedOwners(entries) };
  }

  private async run(round: Round): Promise<void> {
    let outcome: TxnOutcome | undefined;
    try {
      outcome = await this.send(round);
    } catch (e) {
      this.fail(e);
    }
    this.inflight = this.inflight.filter((r) => r !== round);
    for (const [id] of round.basis) if (this.predicted.get(id) === round.id) this.predicted.delete(id);
    for (const o of round.ownerBasis.keys()) this.ownersInFlight.delete(o);
    if (this.holdFor === round) this.holdFor = undefined;
    if (outcome?.ok) this.landed(round, outcome.revision);
    else if (outcome?.early) {
      // It reached etcd before the transaction it builds on: send it again after that one.
      this.o.counters.overtaken++;
      this.holdFor = this.inflight[0];
      this.requeue(this.unsettled(round));
    } else if (outcome) {
      this.o.counters.conflicts++;
      this.o.turns.lost(outcome.conflicts);
      this.reject(outcome.conflicts, round, outcome.uncertain);
    }
    this.o.answered();
    this.pump();
  }

  private landed(round: Round, revision: number): void {
    const { mirror } = this.o;
    this.o.turns.won(round.basis.keys());
    // Answers can arrive out of order; a later transaction of ours that succeeded implies
    // this one did, and its id is the newer one.
    for (const id of round.basis.keys()) {
      if ((this.revSeq.get(id) ?? 0) > round.seq) continue;
      mirror.rev.set(id, round.id);
      this.revSeq.set(id, round.seq);
    }
    for (const it of round.items) {
      for (const [k, v] of it.entries) {
        const o = it.c.ownerKeys.get(k);
        if (o === undefined) continue;
        // (revision unknown: the next compare on the key fails, and the replica reloads)
        if (v && revision > 0) mirror.ownerMod.set(o, revision);
        else mirror.ownerMod.delete(o);
      }
      it.c.sent += it.entries.length;
      if (it.last) this.settle(it.c);
      else this.requeue([it.c]);
    }
  }

  /** Sends one transaction, retrying what failed to reach etcd, and says what etcd decided. */
  private async send(round: Round): Promise<TxnOutcome> {
    const { req, bytes, ops } = buildTxn(round, this.o.keys, this.o.writer);
    const t0 = performance.now();
    const { answer, retried } = await this.o.send(req);
    const outcome = readAnswer(answer, round, this.recent, retried);
    if (outcome.ok) {
      const secs = (performance.now() - t0) / 1000;
      let bucket = 0;
      while (bucket < FLUSH_BUCKETS.length && secs > FLUSH_BUCKETS[bucket]!) bucket++;
      this.txnSeconds.counts[bucket]!++;
      this.txnSeconds.sum += secs;
      this.o.counters.flushes++;
      this.o.counters.bytes += bytes;
      this.o.counters.txnOps += ops;
    }
    return outcome;
  }

  // ---------------- settling ----------------

  private unsettled(round: Round): Pending[] {
    return [...new Set(round.items.map((i) => i.c))].filter((c) => !c.settled);
  }

  /** Puts commits back at the head of the queue, in commit order. */
  private requeue(cs: Pending[]): void {
    if (cs.length === 0) return;
    this.queue = [...cs, ...this.queue].sort((a, b) => a.seq - b.seq);
  }

  /** Rejects the commits that touch `conflicts`, and every later one that depends on them;
   *  the other unsettled commits of the failed transaction go back to the queue. `uncertain`:
   *  the transaction may have landed, so nothing is undone (a reload tells). Transactions
   *  sent before this one and still unanswered are left to their own answers: the change
   *  this one ran into may have been made from them, after they landed. */
  private reject(conflicts: Set<Resource>, round: Round, uncertain: boolean): void {
    const tainted = new Set(conflicts);
    const failed = this.unsettled(round);
    const later = this.inflight.filter((r) => r.seq > round.seq).flatMap((r) => this.unsettled(r));
    const rejected: Pending[] = [];
    const keep: Pending[] = [];
    const all = [...new Set([...failed, ...later, ...this.queue])].sort((a, b) => a.seq - b.seq);
    for (const c of all) {
      if (c.resources.some((r) => tainted.has(r))) {
        for (const r of c.resources) tainted.add(r);
        rejected.push(c);
      } else if (!later.includes(c)) keep.push(c);
    }
    // commits of later transactions in flight stay there (their answers settle them)
    this.queue = keep;
    this.rejections++;
    this.undo(rejected, conflicts, tainted, uncertain);
    const err = new StoreConflictError(conflictNames(conflicts));
    for (const c of rejected) {
      this.o.counters.rejected++;
      this.settle(c, err);
    }
  }

  /** Takes rejected commits out of the live allocator, newest first, and keeps the mirror's
   *  index in step. Then only the instances that changed elsewhere wait (for the winner's
   *  journal). A commit that cannot be undone (or an owner that changed elsewhere: no journal
   *  names it; or an `uncertain` transaction) poisons what it touched until a full reload. */
  private undo(rejected: Pending[], conflicts: Set<Resource>, tainted: Set<Resource> = conflicts, uncertain = false): void {
    let undone = !uncertain && [...conflicts].every((r) => instanceOf(r) !== undefined);
    for (let i = rejected.length - 1; undone && i >= 0; i--) {
      const inverse = rejected[i]!.revert?.() ?? null;
      if (inverse === null) undone = false;
      else if (inverse.length) this.o.mirror.follow(inverse, this.o.live());
    }
    if (undone) {
      this.o.counters.reverted += rejected.length;
      for (const r of conflicts) this.behind.add(instanceOf(r)!);
      return;
    }
    for (const r of tainted) this.poisoned.add(r);
    this.reloadNeeded = true;
    for (const w of [...this.waiters]) this.endWait(w, false);
  }

  private settle(c: Pending, err?: Error): void {
    if (c.settled) return;
    c.settled = true;
    for (const r of c.resources) {
      const n = (this.busy.get(r) ?? 1) - 1;
      if (n <= 0) this.busy.delete(r);
      else this.busy.set(r, n);
    }
    if (err) c.reject(err);
    else c.resolve();
  }

  private settleBarriers(): void {
    if (this.barriers.length === 0) return;
    let lowest = Infinity;
    for (const r of this.inflight) for (const it of r.items) if (!it.c.settled) lowest = Math.min(lowest, it.c.seq);
    for (const c of this.queue) lowest = Math.min(lowest, c.seq);
    const keep: Barrier[] = [];
    for (const b of this.barriers) {
      if (this.failed) b.reject(this.failed);
      else if (b.after >= lowest) keep.push(b);
      else if (this.rejections > b.rejections || this.stale) b.reject(new StoreConflictError(['*']));
      else b.resolve();
    }
    this.barriers = keep;
  }

  private endWait(w: CatchUpWaiter, current: boolean): void {
    clearTimeout(w.timer);
    this.waiters = this.waiters.filter((x) => x !== w);
    w.resolve(current);
  }
}

/** How many of `items` are not in `seen`. */
function countNew(items: Iterable<string>, seen: Set<string>): number {
  let n = 0;
  for (const i of items) if (!seen.has(i)) n++;
  return n;
}
