// The replicated store: IPAM state in etcd, shared by several `ipam-injector serve` replicas.
// docs/etcd.md has the key layout, the consistency argument and the failure behaviour. This
// file is the facade: the Store contract, the connection and its lifecycle. The mechanisms are
// collaborators in etcd/, each with one job:
//
// - keys.ts, state.ts: the key layout, and how a request's records become key writes (Mirror);
//   a load reads every key at one etcd revision and restores the allocator from them.
// - pipeline.ts: group commit. Every transaction compares, per network instance it changes,
//   the instance's revision key with the id this replica's view was made from, and per owner
//   key it writes or relies on, that key's mod revision; so two replicas that allocated from
//   the same view cannot both succeed, and no address is handed out twice. A lost race undoes
//   the losing commits in the live allocator and waits for the winner's journal.
// - follower.ts: replays other replicas' journals (journal.ts) from an etcd watch.
// - turns.ts: a replica that keeps losing races on an instance asks the others to hold back.
// - txn.ts: one transaction's request and what its answer means (txn-codec.ts: their bytes);
//   resource.ts: what commits conflict on; retry.ts: calls retried across members until a
//   deadline.
//
// Durability: a commit resolves only after etcd answered its transaction (a quorum has it).
import { randomBytes } from 'node:crypto';
import type { LiveIpam } from '../live.js';
import type { DurableState, Op, RecoveryNote } from './ops.js';
import { StoreFailedError, type Revert, type Store, type StoreStats } from './store.js';
import { connect, type EtcdConnection, type StoreClient } from './etcd/client.js';
import { Follower } from './etcd/follower.js';
import { Keys, prefixEnd } from './etcd/keys.js';
import { CommitPipeline } from './etcd/pipeline.js';
import { withRetry, type RetryPolicy } from './etcd/retry.js';
import { Mirror, type Kv } from './etcd/state.js';
import { snapshotOf } from './etcd/snapshot-of.js';
import { Turns } from './etcd/turns.js';
import { Leases, type Holder, type Placement } from './etcd/leases.js';
import type { LeaseRouter } from '../forwarding.js';

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
  /** How long a lost race waits for the winner's journal before reloading everything (ms,
   *  default 1000). */
  catchUpMs?: number;
  /** This replica's peer address (forwarding.ts): with it, the replica takes part in write
   *  leases (one replica commits per network instance, the others forward to it). */
  peerAddress?: string;
  /** TTL of the write lease (s, default 2; etcd raises it to its minimum). */
  leaseTtlSeconds?: number;
  /** Which replica claims a free network instance (leases.ts; default pack). */
  leasePlacement?: Placement;
  onNote?: (note: RecoveryNote) => void;
}

const PAGE = 5000;

export class EtcdStore implements Store, LeaseRouter {
  readonly kind = 'etcd';
  readonly writer = randomBytes(6).toString('hex');
  /** Beyond StoreStats, for tests and the benchmark. */
  readonly extra = {
    overtaken: 0,
    conflicts: 0,
    rejected: 0,
    reverted: 0,
    retries: 0,
    remoteRecords: 0,
    resyncs: 0,
    loads: 0,
    txnOps: 0,
    records: 0,
    flushes: 0,
    bytes: 0,
  };
  readonly follower: Follower;
  private readonly keys: Keys;
  private readonly mirror: Mirror;
  private readonly turns: Turns;
  private readonly pipeline: CommitPipeline;
  private readonly retry: RetryPolicy;
  private readonly leases: Leases | undefined;
  private secret: string | undefined;
  private readonly onNote: (n: RecoveryNote) => void;
  private client: StoreClient | undefined;
  readonly live: LiveIpam;
  private commits = 0;
  private closed = false;
  private resyncAsked = false;
  private onResync: (() => void) | undefined;

  constructor(private readonly opts: EtcdStoreOptions) {
    this.keys = new Keys(opts.prefix);
    this.mirror = new Mirror(this.keys);
    this.onNote = opts.onNote ?? (() => {});
    this.live = opts.live;
    this.retry = {
      timeoutMs: opts.commitTimeoutMs ?? 30_000,
      onNote: this.onNote,
      stopped: () => ({ failed: this.pipeline.failure, closed: this.closed }),
      counted: () => this.extra.retries++,
    };
    this.turns = new Turns({ keys: this.keys, writer: this.writer, turnAfter: opts.turnAfter ?? 2, wake: () => this.pipeline.schedule() });
    this.pipeline = new CommitPipeline({
      keys: this.keys,
      mirror: this.mirror,
      writer: this.writer,
      turns: this.turns,
      maxOps: opts.maxTxnOps ?? 120,
      maxBytes: opts.maxTxnBytes ?? 1024 * 1024,
      depth: opts.pipeline ?? 2,
      catchUpMs: opts.catchUpMs ?? 1000,
      send: async (req) => {
        let attempts = 0;
        const answer = await withRetry(this.retry, 'commit', () => this.connected().txnEncoded(req, () => attempts++));
        return { answer, retried: attempts > 1 };
      },
      live: () => this.live.get(),
      answered: () => this.follower.drain(),
      counters: this.extra,
    });
    this.leases = opts.peerAddress
      ? new Leases({
          keys: this.keys,
          writer: this.writer,
          address: opts.peerAddress,
          ttlSeconds: opts.leaseTtlSeconds ?? 2,
          placement: opts.leasePlacement ?? 'pack',
          onNote: this.onNote,
        })
      : undefined;
    this.follower = new Follower({
      keys: this.keys,
      mirror: this.mirror,
      writer: this.writer,
      turns: this.turns,
      gate: this.pipeline,
      onNote: this.onNote,
      lostTrack: (why) => this.lostTrack(why),
      counters: this.extra,
    });
  }

  // ---------------- Store ----------------

  async open(): Promise<DurableState> {
    this.client = connect(this.opts);
    try {
      const state = await this.readAll();
      await this.startWatches();
      if (this.leases) {
        this.secret = await withRetry(this.retry, 'peer secret', () => this.sharedSecret());
        await withRetry(this.retry, 'write lease', () => this.leases!.start(this.connected()));
      }
      return state;
    } catch (e) {
      this.client.close();
      this.client = undefined;
      throw e instanceof StoreFailedError ? e : new StoreFailedError(`etcd: ${(e as Error).message}`, e);
    }
  }

  async load(): Promise<DurableState> {
    if (!this.client) throw new StoreFailedError('store is not open');
    this.follower.paused = true;
    try {
      // Everything sent before is settled first: the state read then holds every commit that
      // succeeded, and the allocator rebuilt from it no longer holds the rejected ones.
      await this.pipeline.settled();
      this.extra.loads++;
      const state = await this.readAll();
      if (this.follower.needsRestart) await this.startWatches();
      return state;
    } finally {
      this.follower.paused = false;
      // after the server rebuilt its allocator from the state (same tick as load resolves)
      setImmediate(() => this.follower.drain());
    }
  }

  catchUp(networkInstances: string[]): Promise<boolean> {
    return this.pipeline.catchUp(networkInstances);
  }

  // ---------------- write leases (LeaseRouter) ----------------

  route(instanceId: string): Holder | undefined {
    return this.leases?.route(instanceId);
  }

  accepts(instanceId: string): boolean {
    return this.leases?.accepts(instanceId) ?? false;
  }

  suspect(writer: string): void {
    this.leases?.suspect(writer);
  }

  peerSecret(): string | undefined {
    return this.secret;
  }

  watch(onChange: (records: Op[][]) => void, resync?: () => void): () => void {
    this.onResync = resync;
    this.follower.attach({ live: () => this.live.get(), apply: onChange, failed: () => this.pipeline.isStale });
    return () => {
      this.follower.attach(undefined);
      this.onResync = undefined;
    };
  }

  commit(ops: Op[], revert?: Revert): Promise<void> {
    if (this.closed || !this.client) return Promise.reject(new StoreFailedError('store is closed'));
    this.commits++;
    return this.pipeline.add(ops, revert);
  }

  stats(): StoreStats {
    const x = this.extra;
    const t = this.pipeline.txnSeconds;
    return {
      commits: this.commits,
      records: x.records,
      flushes: x.flushes,
      bytes: x.bytes,
      compactions: 0,
      flushSeconds: { counts: [...t.counts], sum: t.sum },
      turns: { asked: this.turns.asked, given: this.turns.given },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // refuse forwards from now on and give the instances back (the others commit meanwhile)
    const leases = this.leases?.close();
    await this.pipeline.settled();
    this.closed = true;
    await leases;
    await this.follower.close();
    await this.turns.close();
    this.client?.close();
    this.client = undefined;
  }

  // ---------------- loading ----------------

  private connected(): StoreClient {
    if (!this.client) throw new StoreFailedError('store is closed');
    return this.client;
  }

  private async startWatches(): Promise<void> {
    await this.turns.start(this.connected());
    await this.follower.start(this.connected());
  }

  /** Reads every key of the store at one revision; resets the mirror to it. */
  private async readAll(): Promise<DurableState> {
    const t0 = performance.now();
    const { kvs, revision } = await withRetry(this.retry, 'load', () => this.rangeAll());
    this.mirror.clear();
    for (const kv of kvs) this.mirror.applyKv(kv.key, kv.value, kv.modRevision);
    this.pipeline.reset();
    this.follower.reset(revision);
    this.resyncAsked = false;
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
    const kv = this.connected().kv;
    const end = prefixEnd(this.keys.base);
    const out: Kv[] = [];
    let key = Buffer.from(this.keys.base);
    let revision = 0;
    for (;;) {
      const res = await kv.range({ key, range_end: end, limit: PAGE, ...(revision ? { revision } : {}) });
      if (!revision) revision = Number(res.header.revision);
      for (const x of res.kvs)
        out.push({ key: x.key.toString(), value: x.value, createRevision: Number(x.create_revision), modRevision: Number(x.mod_revision) });
      if (!res.more || res.kvs.length === 0) break;
      key = Buffer.concat([res.kvs[res.kvs.length - 1]!.key, Buffer.from([0])]);
    }
    return { kvs: out, revision };
  }

  /** The secret replicas prove themselves to each other with: made by the first replica that
   *  needs it, read by the others. */
  private async sharedSecret(): Promise<string> {
    const key = Buffer.from(`${this.keys.base}lease/secret`);
    const res = await this.connected().kv.txn({
      compare: [{ key, target: 'Create', result: 'Equal', create_revision: 0 }],
      success: [{ request_put: { key, value: Buffer.from(randomBytes(24).toString('base64url')) } }],
      failure: [],
    });
    if (res.succeeded) this.onNote({ level: 'info', msg: 'etcd: peer secret created' });
    const got = await this.connected().kv.range({ key });
    const v = got.kvs[0]?.value.toString();
    if (!v) throw new Error('peer secret missing');
    return v;
  }

  /** The follower lost track of the other replicas: the server must read everything again. */
  private lostTrack(why: string): void {
    if (this.resyncAsked) return;
    this.resyncAsked = true;
    this.pipeline.markStale();
    this.extra.resyncs++;
    this.onNote({ level: 'warn', msg: `etcd: reloading all state: ${why}` });
    const cb = this.onResync;
    if (cb) setImmediate(cb);
  }
}
