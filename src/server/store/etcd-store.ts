// The replicated store: IPAM state in etcd, shared by several `ipam-injector serve` replicas.
// docs/etcd.md has the key layout, the consistency argument and the failure behaviour; in
// short:
//
// - State: one key per owner (its allocation), per IPPrefix and per network instance, plus per
//   instance a revision key (keys.ts, state.ts). A restart or a new replica reads them all at
//   one etcd revision and restores the allocator from that snapshot.
// - Commit: every transaction compares, for each network instance it changes, the value of
//   the instance's revision key (the id of the transaction that last changed it) with the one
//   this replica's view was made from, and for each owner key it writes or relies on being
//   absent, that key's mod revision; then it writes the keys and its own id into the revision
//   keys. Two replicas that allocated from the same view of an instance cannot both succeed,
//   so no address is handed out twice.
// - Group commit: commits arriving while transactions are in flight form the next one
//   (bounded by etcd's 128 operations per transaction). Up to two transactions are in flight:
//   the second compares the first's id, so it can only succeed after the first did. A commit
//   larger than one transaction is sent in several, in order, alone.
// - A lost race: the commits that touched the instances (or owners) that changed, and every
//   later commit that depends on them, reject with StoreConflictError; the others are sent
//   again. The server reloads (load() waits until nothing is in flight, then reads everything
//   at one revision) and retries the request.
// - Turns: optimistic commits alone let a replica under steady load starve another that
//   writes the same instance (its pipelined transactions always land first, and the loser's
//   view is stale again by the time its retry arrives). A replica that lost `turnAfter` races
//   in a row on an instance writes its id to the instance's turn key; the others, watching
//   those keys, send nothing more on that instance until the loser's journal shows up or
//   TURN_MS pass. Safety never depends on it; it only orders who goes next.
// - Followers: a watch on the journal keys. Each transaction writes, per instance, the
//   records it made (the journal) and the id it compared, so a replica replays other
//   replicas' records in revision order, instance by instance, exactly when its own view is
//   the one they were made from; otherwise it asks for a reload.
// - Durability: a commit resolves only after etcd answered its transaction (a quorum has it).
//   Calls have a deadline and are retried (with jitter) across members; a transaction whose
//   answer was lost is recognised by its id in the revision keys.
import { randomBytes } from 'node:crypto';
import type { Etcd3, IWatchResponse, Watcher } from 'etcd3';
import type { LiveIpam } from '../live.js';
import type { DurableState, Op, RecoveryNote } from './ops.js';
import { FLUSH_BUCKETS, StoreConflictError, StoreFailedError, StoreRejectedError, type Store, type StoreStats } from './store.js';
import { backoff, connect, isPermanent, sleep, type EtcdConnection } from './etcd/client.js';
import { Keys, prefixEnd } from './etcd/keys.js';
import { Mirror, snapshotOf, type Kv } from './etcd/state.js';
import { buildTxn, Pending, readAnswer, type Item, type Journal, type Outcome, type Round } from './etcd/txn.js';

export interface EtcdStoreOptions extends EtcdConnection {
  /** The allocator the server serves from (commit derives per-key state from it). */
  live: LiveIpam;
  /** Key prefix of this deployment's state (default /ipam). */
  prefix?: string;
  /** How long one transaction (or the load) may keep failing before the store gives up (ms). */
  commitTimeoutMs?: number;
  /** Operations per transaction; etcd refuses more than --max-txn-ops (default 128). */
  maxTxnOps?: number;
  /** Bytes per transaction; etcd refuses more than --max-request-bytes (default 1.5 MiB). */
  maxTxnBytes?: number;
  /** Transactions in flight at once (default 2; 1 sends one after the other). */
  pipeline?: number;
  /** Races lost in a row on one instance before this replica asks the others for a turn
   *  (default 2; 0 never asks). */
  turnAfter?: number;
  onNote?: (note: RecoveryNote) => void;
}

interface Barrier {
  after: number;
  rejections: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

/** One revision's journals (another replica's transaction), as the watch delivers them. */
interface Group {
  rev: number;
  journals: Map<string, Journal>;
}

const PAGE = 5000;
/** How long others hold back for a turn (a loser's reload and retry fit well inside). */
const TURN_MS = 1000;
/** A replica asks at most this often per instance while it keeps losing. */
const ASK_EVERY_MS = 50;

export class EtcdStore implements Store {
  readonly kind = 'etcd';
  readonly writer = randomBytes(6).toString('hex');
  /** How this replica's journals start (see send()). */
  private readonly ownMark = Buffer.from(`{"w":"${this.writer}"`);
  private client: Etcd3 | undefined;
  private readonly keys: Keys;
  private readonly mirror: Mirror;
  private readonly commitTimeoutMs: number;
  private readonly maxOps: number;
  private readonly maxBytes: number;
  private readonly onNote: (n: RecoveryNote) => void;
  readonly live: LiveIpam;
  private txnSeq = 0;
  private commitSeq = 0;
  private queue: Pending[] = [];
  private inflight: Round[] = [];
  /** transactions in flight at once (the second builds on the first) */
  private readonly depth: number;
  private readonly turnAfter: number;
  /** instance -> id of the last transaction in flight that changes it */
  private readonly predicted = new Map<string, string>();
  /** instance -> seq of the transaction of ours whose id mirror.rev holds */
  private readonly revSeq = new Map<string, number>();
  private readonly ownersInFlight = new Set<string>();
  /** the last transactions sent, by id (to recognise one that overtook its predecessor) */
  private readonly recent = new Map<string, Round>();
  /** a transaction overtook this one: send nothing more until it is answered */
  private holdFor: Round | undefined;
  private scheduled = false;
  private barriers: Barrier[] = [];
  private idle: (() => void)[] = [];
  private failed: StoreFailedError | undefined;
  private closed = false;
  /** Resources of rejected commits: later commits touching them reject too, until a load. */
  private readonly poisoned = new Set<string>();
  private rejections = 0;
  /** resource -> number of unsettled commits touching it */
  private readonly busy = new Map<string, number>();
  private stale = false;
  // following other replicas
  private watcher: Watcher | undefined;
  private watchDead = false;
  /** when the watch stream broke (0: it is up); etcd3 reconnects it and resumes */
  private watchDownSince = 0;
  private turnWatcher: Watcher | undefined;
  /** instance -> races this replica lost on it in a row */
  private readonly lostInRow = new Map<string, number>();
  /** instance -> when this replica last asked for a turn on it */
  private readonly askedAt = new Map<string, number>();
  /** instance -> the replica this one lets go first, until when */
  private readonly turns = new Map<string, { to: string; until: number }>();
  private turnTimer: NodeJS.Timeout | undefined;
  private onChange: ((records: Op[][]) => void) | undefined;
  private onResync: (() => void) | undefined;
  private buffer: Group[] = [];
  private loadedRev = 0;
  private loading = false;
  private resyncAsked = false;
  /** instance -> chunks of a commit still in progress (another replica's), oldest first */
  private readonly partial = new Map<string, Group[]>();
  private readonly counters: StoreStats = { commits: 0, records: 0, flushes: 0, bytes: 0, compactions: 0 };
  /** Latency of successful transactions (attempts and retries included), over FLUSH_BUCKETS. */
  private readonly txnSeconds = { counts: new Array<number>(FLUSH_BUCKETS.length + 1).fill(0), sum: 0 };
  /** Beyond StoreStats, for tests and the benchmark. */
  readonly extra = { overtaken: 0, conflicts: 0, rejected: 0, retries: 0, remoteRecords: 0, resyncs: 0, loads: 0, txnOps: 0, turnsAsked: 0, turnsGiven: 0 };

  constructor(private readonly opts: EtcdStoreOptions) {
    this.keys = new Keys(opts.prefix);
    this.mirror = new Mirror(this.keys);
    this.commitTimeoutMs = opts.commitTimeoutMs ?? 30_000;
    this.maxOps = opts.maxTxnOps ?? 120;
    this.maxBytes = opts.maxTxnBytes ?? 1024 * 1024;
    this.depth = opts.pipeline ?? 2;
    this.turnAfter = opts.turnAfter ?? 2;
    this.onNote = opts.onNote ?? (() => {});
    this.live = opts.live;
  }

  // ---------------- Store ----------------

  async open(): Promise<DurableState> {
    this.client = connect(this.opts);
    try {
      const state = await this.readAll();
      await this.startWatch();
      return state;
    } catch (e) {
      this.client.close();
      this.client = undefined;
      throw e instanceof StoreFailedError ? e : new StoreFailedError(`etcd: ${(e as Error).message}`, e);
    }
  }

  async load(): Promise<DurableState> {
    if (!this.client) throw new StoreFailedError('store is not open');
    this.loading = true;
    try {
      // Everything sent before is settled first: the state read then holds every commit that
      // succeeded, and the allocator rebuilt from it no longer holds the rejected ones.
      await this.settled();
      this.extra.loads++;
      const state = await this.readAll();
      if (this.watchDead) await this.startWatch();
      return state;
    } finally {
      this.loading = false;
      // after the server rebuilt its allocator from the state (same tick as load resolves)
      setImmediate(() => this.drain());
    }
  }

  watch(onChange: (records: Op[][]) => void, resync?: () => void): () => void {
    this.onChange = onChange;
    this.onResync = resync;
    setImmediate(() => this.drain());
    return () => {
      this.onChange = undefined;
      this.onResync = undefined;
    };
  }

  commit(ops: Op[]): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closed || !this.client) return Promise.reject(new StoreFailedError('store is closed'));
    this.counters.commits++;
    if (ops.length === 0) {
      if (this.stale) return Promise.reject(new StoreConflictError(['*']));
      if (this.queue.length === 0 && this.inflight.length === 0 && !this.scheduled) return Promise.resolve();
      return new Promise((resolve, reject) => this.barriers.push({ after: this.commitSeq, rejections: this.rejections, resolve, reject }));
    }
    const derived = this.mirror.derive(ops, this.live.get());
    return new Promise<void>((resolve, reject) => {
      const c = new Pending(this.commitSeq + 1, derived, JSON.stringify(ops), this.keys, resolve, reject);
      // Every chunk of a commit compares and rewrites each of its instances' keys; a commit
      // whose fixed part alone exceeds one transaction can never be written. Refuse it alone
      // instead of sending etcd a transaction it rejects (which would fail the whole store).
      const instances = derived.instances.size;
      if (2 * instances + c.guards.length >= this.maxOps || c.opsJson.length * instances >= this.maxBytes) {
        reject(new StoreRejectedError(`one request touches ${instances} network instances and ${c.guards.length} other owners: more than one etcd transaction can hold (at most ${this.maxOps} operations, ${this.maxBytes} bytes); split the request`));
        return;
      }
      if (this.stale || c.resources.some((r) => this.poisoned.has(r))) {
        reject(new StoreConflictError(this.stale ? ['*'] : names(c.resources.filter((r) => this.poisoned.has(r)))));
        return;
      }
      this.commitSeq++;
      this.counters.records++;
      for (const r of c.resources) this.busy.set(r, (this.busy.get(r) ?? 0) + 1);
      this.queue.push(c);
      this.schedule();
    });
  }

  stats(): StoreStats {
    return { ...this.counters, flushSeconds: { counts: [...this.txnSeconds.counts], sum: this.txnSeconds.sum }, turns: { asked: this.extra.turnsAsked, given: this.extra.turnsGiven } };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.settled();
    this.closed = true;
    this.onChange = undefined;
    const w = this.watcher;
    this.watcher = undefined;
    if (w) await w.cancel().catch(() => {});
    const tw = this.turnWatcher;
    this.turnWatcher = undefined;
    if (tw) await tw.cancel().catch(() => {});
    clearTimeout(this.turnTimer);
    this.client?.close();
    this.client = undefined;
  }

  // ---------------- loading ----------------

  /** Reads every key of the store at one revision; resets the mirror to it. */
  private async readAll(): Promise<DurableState> {
    const t0 = performance.now();
    const { kvs, revision } = await this.withRetry('load', () => this.rangeAll());
    this.mirror.clear();
    this.revSeq.clear();
    for (const kv of kvs) this.mirror.applyKv(kv.key, kv.value, kv.modRevision);
    this.loadedRev = revision;
    this.poisoned.clear();
    this.stale = false;
    this.resyncAsked = false;
    this.partial.clear();
    this.buffer = this.buffer.filter((g) => g.rev > revision);
    const snapshot = snapshotOf(kvs, this.keys);
    const bytes = kvs.reduce((n, kv) => n + kv.key.length + kv.value.length, 0);
    const note: RecoveryNote = {
      level: 'info',
      msg: `etcd: read ${kvs.length} keys (${bytes} bytes) under ${this.keys.base} at revision ${revision} in ${Math.round(performance.now() - t0)} ms: ${snapshot.networkInstances.length} network instances, ${snapshot.prefixes.length} prefixes, ${snapshot.allocations.length} allocations`,
      bytes,
    };
    if (this.extra.loads > 0) this.onNote(note); // the first one the server logs from the report
    return { snapshot, records: [], report: [note] };
  }

  private async rangeAll(): Promise<{ kvs: Kv[]; revision: number }> {
    const kv = this.client!.kv;
    const end = prefixEnd(this.keys.base);
    const out: Kv[] = [];
    let key = Buffer.from(this.keys.base);
    let revision = 0;
    for (;;) {
      const res = await kv.range({ key, range_end: end, limit: PAGE, ...(revision ? { revision } : {}) });
      if (!revision) revision = Number(res.header.revision);
      for (const x of res.kvs) out.push({ key: x.key.toString(), value: x.value, createRevision: Number(x.create_revision), modRevision: Number(x.mod_revision) });
      if (!res.more || res.kvs.length === 0) break;
      key = Buffer.concat([res.kvs[res.kvs.length - 1]!.key, Buffer.from([0])]);
    }
    return { kvs: out, revision };
  }

  private async startWatch(): Promise<void> {
    const old = this.watcher;
    this.watcher = undefined;
    if (old) await old.cancel().catch(() => {});
    this.watchDead = false;
    await this.startTurnWatch();
    // Only the journals: they carry everything a replica needs to follow the others.
    const w = await this.client!.watch().prefix(`${this.keys.base}jr/`).startRevision(String(this.loadedRev + 1)).create();
    this.watcher = w;
    w.on('data', (res: IWatchResponse) => this.onWatch(res));
    // etcd3 re-creates a broken stream from the last revision it delivered; said once per
    // outage, since until then this replica's commits lose their races
    w.on('disconnected', (e: Error) => {
      if (this.watcher !== w || this.closed || this.watchDownSince) return;
      this.watchDownSince = performance.now();
      this.onNote({ level: 'warn', msg: `etcd: watch stream lost (${e.message}); reconnecting` });
    });
    w.on('connected', () => {
      if (this.watcher !== w || !this.watchDownSince) return;
      this.onNote({ level: 'info', msg: `etcd: watch stream back after ${Math.round(performance.now() - this.watchDownSince)} ms` });
      this.watchDownSince = 0;
    });
    w.on('error', (e: Error) => {
      // cancelled by etcd (its history was compacted past us): start again from a fresh load
      if (this.watcher !== w) return;
      this.watchDead = true;
      this.requestResync(`watch cancelled: ${e.message}`);
    });
  }

  // ---------------- group commit ----------------

  private settled(): Promise<void> {
    if (!this.scheduled && this.queue.length === 0 && this.inflight.length === 0) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // let every request of this turn of the event loop join the transaction
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  /** Starts transactions while there is room in the pipeline and something to send. */
  private pump(): void {
    while (!this.failed && this.queue.length > 0 && this.inflight.length < this.depth) {
      // a commit in several transactions goes alone; after a transaction arrived before its
      // predecessor, wait for the predecessor
      if (this.inflight.some((r) => r.partial) || this.holdFor) break;
      const round = this.takeRound();
      if (!round) break;
      this.inflight.push(round);
      this.recent.set(round.id, round);
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
    const items: Item[] = [];
    const insts = new Set<string>();
    const owners = new Set<string>();
    let ops = 0;
    let bytes = 0;
    while (this.queue.length > 0) {
      const c = this.queue[0]!;
      if (c.owners.some((o) => this.ownersInFlight.has(o))) break;
      if (this.turns.size > 0 && this.heldBack(c)) break;
      if (c.sent > 0 && this.inflight.length > 0) break;
      const rest = c.entries.slice(c.sent);
      const newInsts = [...c.derived.instances].filter((i) => !insts.has(i));
      const newOwners = [...c.ownersOf(rest), ...(c.sent === 0 ? c.guards : [])].filter((o) => !owners.has(o));
      // per instance: the revision key and the journal
      const needOps = rest.length + 2 * newInsts.length;
      const needCmp = newInsts.length + newOwners.length;
      const needBytes = c.bytes(rest) + c.opsJson.length * c.derived.instances.size;
      if (ops + needOps <= this.maxOps && insts.size + owners.size + needCmp <= this.maxOps && bytes + needBytes <= this.maxBytes) {
        items.push({ c, entries: rest, last: true });
        this.queue.shift();
        for (const i of newInsts) insts.add(i);
        for (const o of newOwners) owners.add(o);
        ops += needOps;
        bytes += needBytes;
        continue;
      }
      if (items.length > 0 || this.inflight.length > 0) break;
      // Alone and too large: a chunk. Each chunk rewrites every revision key of the commit.
      const room = Math.max(1, this.maxOps - 2 * newInsts.length - (c.sent === 0 ? c.guards.length : 0));
      const budget = this.maxBytes - c.opsJson.length * c.derived.instances.size;
      let n = 0;
      let b = 0;
      while (n < rest.length && n < room) {
        const [k, v] = rest[n]!;
        const size = k.length + (v?.length ?? 0) + 8;
        if (n > 0 && b + size > budget) break;
        b += size;
        n++;
      }
      // out of the queue while in flight; back at its head when more remains
      items.push({ c, entries: rest.slice(0, n), last: n === rest.length });
      this.queue.shift();
      break;
    }
    if (items.length === 0) return undefined;
    const seq = ++this.txnSeq;
    const id = `${this.writer}:${seq}`;
    const basis = new Map<string, string>();
    const ownerBasis = new Map<string, number>();
    for (const it of items) {
      for (const i of it.c.derived.instances) if (!basis.has(i)) basis.set(i, this.predicted.get(i) ?? this.mirror.rev.get(i) ?? '');
      const owners = it.c.ownersOf(it.entries);
      if (it.c.sent === 0) owners.push(...it.c.guards);
      for (const o of owners) if (!ownerBasis.has(o)) ownerBasis.set(o, this.mirror.ownerMod.get(o) ?? 0);
    }
    return { id, seq, items, basis, ownerBasis, partial: items.some((i) => !i.last) };
  }

  private async run(round: Round): Promise<void> {
    let outcome: Outcome | undefined;
    try {
      outcome = await this.send(round);
    } catch (e) {
      this.fail(e);
    }
    this.inflight = this.inflight.filter((r) => r !== round);
    for (const [id] of round.basis) if (this.predicted.get(id) === round.id) this.predicted.delete(id);
    for (const o of round.ownerBasis.keys()) this.ownersInFlight.delete(o);
    if (this.holdFor === round) this.holdFor = undefined;
    if (outcome?.ok) {
      const R = outcome.revision;
      for (const id of round.basis.keys()) this.lostInRow.delete(id);
      // Answers can arrive out of order; a later transaction of ours that succeeded implies
      // this one did, and its id is the newer one.
      for (const id of round.basis.keys()) {
        if ((this.revSeq.get(id) ?? 0) > round.seq) continue;
        this.mirror.rev.set(id, round.id);
        this.revSeq.set(id, round.seq);
      }
      for (const it of round.items) {
        for (const [k, v] of it.entries) {
          const o = it.c.ownerKeys.get(k);
          if (o === undefined) continue;
          if (v) this.mirror.ownerMod.set(o, R);
          else this.mirror.ownerMod.delete(o);
        }
        it.c.sent += it.entries.length;
        if (it.last) this.settle(it.c);
        else this.requeue([it.c]);
      }
    } else if (outcome?.early) {
      // It reached etcd before the transaction it builds on: send it again after that one.
      this.extra.overtaken++;
      this.holdFor = this.inflight[0];
      this.requeue(this.unsettled(round));
    } else if (outcome) {
      this.extra.conflicts++;
      this.askForTurns(outcome.conflicts);
      this.reject(outcome.conflicts, round);
    }
    this.drain();
    this.pump();
  }

  private unsettled(round: Round): Pending[] {
    return [...new Set(round.items.map((i) => i.c))].filter((c) => !c.settled);
  }

  /** Puts commits back at the head of the queue, in commit order. */
  private requeue(cs: Pending[]): void {
    if (cs.length === 0) return;
    this.queue = [...cs, ...this.queue].sort((a, b) => a.seq - b.seq);
  }

  /** Sends one transaction, retrying what failed to reach etcd, and says what etcd decided. */
  private async send(round: Round): Promise<Outcome> {
    const { req, bytes, ops } = buildTxn(round, this.keys, this.writer);
    const t0 = performance.now();
    const outcome = await this.withRetry('commit', async () => {
      const res = await this.client!.kv.txn(req);
      return readAnswer(res, round, this.recent);
    });
    if (outcome.ok) {
      const secs = (performance.now() - t0) / 1000;
      let bucket = 0;
      while (bucket < FLUSH_BUCKETS.length && secs > FLUSH_BUCKETS[bucket]!) bucket++;
      this.txnSeconds.counts[bucket]!++;
      this.txnSeconds.sum += secs;
      this.counters.flushes++;
      this.counters.bytes += bytes;
      this.extra.txnOps += ops;
    }
    return outcome;
  }

  /** Rejects the commits that touch `conflicts`, and every later one that depends on them;
   *  the other unsettled commits of the failed transaction go back to the queue. */
  private reject(conflicts: Set<string>, round: Round): void {
    const tainted = new Set(conflicts);
    const failed = this.unsettled(round);
    const later = this.inflight.flatMap((r) => this.unsettled(r));
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
    for (const r of tainted) this.poisoned.add(r);
    this.rejections++;
    const err = new StoreConflictError(names([...conflicts]));
    for (const c of rejected) {
      this.extra.rejected++;
      this.settle(c, err);
    }
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

  private fail(e: unknown): void {
    if (!this.failed) this.failed = e instanceof StoreFailedError ? e : new StoreFailedError(`etcd: ${(e as Error).message}`, e);
    const all = [...new Set([...this.inflight.flatMap((r) => this.unsettled(r)), ...this.queue])];
    this.queue = [];
    for (const c of all) this.settle(c, this.failed);
    this.settleBarriers();
  }

  /** Runs `fn` until it answers, retrying what did not reach etcd (dead member, no leader,
   *  deadline) with jittered backoff, for at most commitTimeoutMs. */
  private async withRetry<T>(what: string, fn: (attempt: number) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.commitTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      if (this.failed) throw this.failed;
      try {
        return await fn(attempt);
      } catch (e) {
        if (isPermanent(e) || Date.now() + 50 > deadline || this.closed) {
          throw new StoreFailedError(`etcd ${what} failed${attempt ? ` after ${attempt + 1} attempts` : ''}: ${(e as Error).message}`, e);
        }
        this.extra.retries++;
        if (attempt === 0 || attempt % 10 === 0) this.onNote({ level: 'warn', msg: `etcd ${what}: ${(e as Error).message}; retrying` });
        await sleep(backoff(attempt + 1));
      }
    }
  }

  // ---------------- following other replicas ----------------

  private onWatch(res: IWatchResponse): void {
    for (const ev of res.events) {
      const kv = ev.kv;
      const rev = Number(kv.mod_revision);
      if (rev <= this.loadedRev || ev.type === 'Delete') continue;
      // our own transactions come back too: recognised by the first bytes, never parsed
      if (kv.value.subarray(0, this.ownMark.length).equals(this.ownMark)) continue;
      let g = this.buffer[this.buffer.length - 1];
      if (!g || g.rev !== rev) {
        g = { rev, journals: new Map() };
        this.buffer.push(g);
      }
      const k = this.keys.parse(kv.key.toString());
      if (k?.kind !== 'jr') continue;
      try {
        const j = JSON.parse(kv.value.toString()) as Journal;
        g.journals.set(k.id, j);
        if (this.turns.get(k.id)?.to === j.w) this.endTurn(k.id);
      } catch {
        this.requestResync(`revision ${rev}: ${kv.key.toString()} is not a journal`);
      }
    }
    this.drain();
  }

  /** Applies buffered revisions of other replicas, oldest first, while this replica's view of
   *  every instance they touch is the one they were made from and no own commit touching
   *  them (or their owners) is in flight: that commit will lose its race, and the reload
   *  reads them. */
  private drain(): void {
    if (this.loading || !this.onChange || !this.live.current) return;
    while (this.buffer.length > 0) {
      const g = this.buffer[0]!;
      if (g.rev <= this.loadedRev || g.journals.size === 0) {
        this.buffer.shift();
        continue;
      }
      const journals = [...g.journals.values()];
      // (a poisoned instance is about to be reloaded: wait for that)
      for (const id of g.journals.keys()) if (this.busy.has(`i:${id}`) || this.poisoned.has(`i:${id}`)) return;
      for (const j of journals) for (const [, ops] of j.c ?? []) for (const op of ops) if (this.busy.has(`o:${ownerOf(op)}`)) return;
      for (const [id, j] of g.journals) {
        const parts = this.partial.get(id);
        const expect = parts?.length ? parts[parts.length - 1]!.journals.get(id)!.t : (this.mirror.rev.get(id) ?? '');
        if (j.b !== expect) {
          this.requestResync(`network instance ${id}: transaction ${j.t} (revision ${g.rev}) was made from ${j.b || 'nothing'}, this replica has ${expect || 'nothing'}`);
          return;
        }
      }
      this.buffer.shift();
      if (journals.some((j) => j.m !== undefined)) {
        for (const id of g.journals.keys()) {
          const parts = this.partial.get(id) ?? [];
          parts.push(g);
          this.partial.set(id, parts);
        }
        continue;
      }
      // complete: earlier chunks of its commit, if any, end here
      const seqs = new Set(journals.flatMap((j) => (j.c ?? []).map(([seq]) => seq)));
      for (const id of g.journals.keys()) {
        for (const p of this.partial.get(id) ?? []) {
          const m = p.journals.get(id)?.m;
          if (m === undefined || !seqs.has(m)) {
            this.requestResync(`network instance ${id}: a transaction in several parts was abandoned`);
            return;
          }
        }
        this.partial.delete(id);
      }
      const records = new Map<number, Op[]>();
      for (const j of journals) for (const [seq, ops] of j.c ?? []) records.set(seq, ops);
      const ordered = [...records.entries()].sort((a, b) => a[0] - b[0]).map(([, ops]) => ops);
      this.extra.remoteRecords += ordered.length;
      // the server replays the records (its allocator then holds the writer's state), and
      // the mirror follows by deriving from them what the writer derived
      this.onChange(ordered);
      if (this.loading || this.stale) return; // the replay failed: a reload is under way
      const d = this.mirror.derive(ordered.flat(), this.live.get());
      for (const [k, v] of d.writes) {
        const p = this.keys.parse(k);
        if (p?.kind !== 'own') continue;
        if (v) this.mirror.ownerMod.set(p.id, g.rev);
        else this.mirror.ownerMod.delete(p.id);
      }
      for (const [id, j] of g.journals) {
        this.mirror.rev.set(id, j.t);
        this.revSeq.set(id, this.txnSeq);
      }
    }
  }

  // ---------------- turns ----------------

  /** Watches the turn keys from now on (an older ask has been served or has run out). */
  private async startTurnWatch(): Promise<void> {
    const old = this.turnWatcher;
    this.turnWatcher = undefined;
    if (old) await old.cancel().catch(() => {});
    const base = this.keys.turn('');
    const tw = await this.client!.watch().prefix(base).create();
    this.turnWatcher = tw;
    tw.on('put', (kv: { key: Buffer; value: Buffer }) => this.onTurn(kv.key.toString().slice(base.length), kv.value.toString()));
    // cancelled by etcd: without it this replica would give no more turns, so watch again
    tw.on('error', () => {
      if (this.turnWatcher !== tw || this.closed) return;
      this.turnWatcher = undefined;
      setTimeout(() => void this.startTurnWatch().catch(() => {}), backoff(3)).unref();
    });
  }

  /** After a lost race: on each instance lost `turnAfter` times in a row, ask the others to
   *  hold back (a put of this replica's id to the turn key; no answer is awaited). */
  private askForTurns(conflicts: Set<string>): void {
    const now = performance.now();
    for (const r of conflicts) {
      if (!r.startsWith('i:')) continue;
      const id = r.slice(2);
      const lost = (this.lostInRow.get(id) ?? 0) + 1;
      this.lostInRow.set(id, lost);
      if (this.turnAfter === 0 || lost < this.turnAfter || now - (this.askedAt.get(id) ?? -Infinity) < ASK_EVERY_MS) continue;
      this.askedAt.set(id, now);
      this.extra.turnsAsked++;
      this.client?.kv.put({ key: Buffer.from(this.keys.turn(id)), value: Buffer.from(this.writer) }).catch(() => {});
    }
  }

  /** Another replica asked for a turn on instance `id`. Two that are both losing there now
   *  would wait for each other: then the one with the smaller writer id goes on. */
  private onTurn(id: string, writer: string): void {
    if (writer === this.writer) return;
    const now = performance.now();
    if ((this.lostInRow.get(id) ?? 0) >= this.turnAfter && this.turnAfter > 0 && this.writer < writer) return;
    if (!this.turns.has(id)) this.extra.turnsGiven++;
    this.turns.set(id, { to: writer, until: now + TURN_MS });
    this.armTurnTimer();
  }

  private endTurn(id: string): void {
    this.turns.delete(id);
    this.armTurnTimer();
    this.schedule();
  }

  /** Whether commit `c` touches an instance given to another replica for now. */
  private heldBack(c: Pending): boolean {
    const now = performance.now();
    for (const id of c.derived.instances) {
      const t = this.turns.get(id);
      if (!t) continue;
      if (t.until > now) return true;
      this.turns.delete(id);
    }
    return false;
  }

  /** Wakes the queue when the earliest turn given away runs out. */
  private armTurnTimer(): void {
    clearTimeout(this.turnTimer);
    this.turnTimer = undefined;
    if (this.turns.size === 0 || this.closed) return;
    let first = Infinity;
    for (const t of this.turns.values()) first = Math.min(first, t.until);
    this.turnTimer = setTimeout(() => {
      const now = performance.now();
      for (const [id, t] of this.turns) if (t.until <= now) this.turns.delete(id);
      this.armTurnTimer();
      this.schedule();
    }, Math.max(1, first - performance.now()));
    this.turnTimer.unref();
  }

  private requestResync(why: string): void {
    if (this.resyncAsked) return;
    this.resyncAsked = true;
    this.stale = true;
    this.extra.resyncs++;
    this.onNote({ level: 'warn', msg: `etcd: reloading all state: ${why}` });
    const cb = this.onResync;
    if (cb) setImmediate(cb);
  }
}

/** The owner an op names (the resource a replica's own commits lock it by). */
function ownerOf(op: Op): string {
  switch (op.op) {
    case 'allocate':
      return op.req.owner;
    case 'release':
      return op.owner;
    case 'applyPrefix':
      return op.spec.owner;
    case 'applyNetworkInstance':
      return op.owner;
    default:
      return '';
  }
}

/** Conflict resources as the names StoreConflictError carries. */
function names(resources: string[]): string[] {
  return [...new Set(resources.map((r) => (r.startsWith('i:') ? r.slice(2) : `owner ${r.slice(2)}`)))];
}
