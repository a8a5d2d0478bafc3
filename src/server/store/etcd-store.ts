// The replicated store: IPAM state in etcd, shared by several `ipam-injector serve` replicas.
// docs/etcd.md has the key layout, the consistency argument and the failure behaviour; in
// short:
//
// - State: one key per owner (its allocation), per IPPrefix and per network instance, plus
//   one revision key per network instance (keys.ts, state.ts). A restart or a new replica
//   reads them all at one etcd revision and restores the allocator from that snapshot.
// - Commit: every transaction compares, for each network instance it changes, the mod
//   revision of the instance's revision key with the one this replica last saw (and, for each
//   owner key it writes or relies on being absent, that key's), then writes the keys and
//   rewrites the revision keys. Two replicas that allocated from the same view of an
//   instance cannot both succeed, so no address is handed out twice.
// - Group commit: one transaction is in flight at a time; commits arriving meanwhile form the
//   next one (bounded by etcd's 128 operations per transaction). A commit larger than one
//   transaction is sent in several, in order.
// - A lost race: the commits that touched the instances (or owners) that changed, and every
//   later commit that depends on them, reject with StoreConflictError; the others are sent
//   again at once. The server reloads (load() waits until nothing is in flight, then reads
//   everything at one revision) and retries the request.
// - Followers: a watch on the whole prefix. Each revision key holds the records of the
//   transaction that wrote it (the journal) and the revision it was compared against, so a
//   replica replays other replicas' records in revision order, instance by instance, exactly
//   when its own view is the one they were made from; otherwise it asks for a reload.
// - Durability: a commit resolves only after etcd answered its transaction (a quorum has it).
//   Calls have a deadline and are retried (with jitter) across members; a transaction whose
//   answer was lost is recognised by its id in the revision keys.
import { randomBytes } from 'node:crypto';
import type { Etcd3, IKeyValue, IRequestOp, ICompare, ITxnRequest, IWatchResponse, Watcher } from 'etcd3';
import type { Ipam, Snapshot } from '../../ipam/types.js';
import type { DurableState, Op, RecoveryNote } from './ops.js';
import { FLUSH_BUCKETS, StoreConflictError, StoreFailedError, type Store, type StoreStats } from './store.js';
import { backoff, connect, isPermanent, sleep, type EtcdConnection } from './etcd/client.js';
import { Keys, prefixEnd } from './etcd/keys.js';
import { Mirror, snapshotOf, type Derived, type Kv, type Write } from './etcd/state.js';

export interface EtcdStoreOptions extends EtcdConnection {
  /** Key prefix of this deployment's state (default /ipam). */
  prefix?: string;
  /** How long one transaction (or the load) may keep failing before the store gives up (ms). */
  commitTimeoutMs?: number;
  /** Operations per transaction; etcd refuses more than --max-txn-ops (default 128). */
  maxTxnOps?: number;
  /** Bytes per transaction; etcd refuses more than --max-request-bytes (default 1.5 MiB). */
  maxTxnBytes?: number;
  onNote?: (note: RecoveryNote) => void;
}

/** A revision key's value: who wrote it, the revision it was compared against, and what. */
interface Journal {
  /** writer (replica process) id */
  w: string;
  /** transaction id */
  t: string;
  /** mod revision of this key that the transaction compared (0: it did not exist) */
  b: number;
  /** complete commits: [commit seq, records] in commit order */
  c?: [number, Op[]][];
  /** a chunk of the commit with this seq, more to follow (no records yet) */
  m?: number;
}

interface Pending {
  seq: number;
  derived: Derived;
  entries: [string, Write][];
  /** entries already sent by earlier chunks */
  sent: number;
  opsJson: string;
  /** owners compared without a write of their key (their absence or state was relied on) */
  guards: string[];
  resources: string[];
  resolve: () => void;
  reject: (e: Error) => void;
}

interface Barrier {
  after: number;
  rejections: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

interface Item {
  c: Pending;
  entries: [string, Write][];
  last: boolean;
}

/** One revision's changes, as the watch delivers them. */
interface Group {
  rev: number;
  journals: Map<string, Journal>;
  facts: { key: string; value: Buffer | null; mod: number }[];
  owners: string[];
}

const PAGE = 5000;

export class EtcdStore implements Store {
  readonly kind = 'etcd';
  readonly writer = randomBytes(6).toString('hex');
  private client: Etcd3 | undefined;
  private readonly keys: Keys;
  private readonly mirror: Mirror;
  private readonly commitTimeoutMs: number;
  private readonly maxOps: number;
  private readonly maxBytes: number;
  private readonly onNote: (n: RecoveryNote) => void;
  private live: (() => Ipam) | undefined;
  private txnSeq = 0;
  private commitSeq = 0;
  private queue: Pending[] = [];
  private inflight: Pending[] = [];
  private barriers: Barrier[] = [];
  private flushing = false;
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
  readonly extra = { conflicts: 0, rejected: 0, retries: 0, remoteRecords: 0, resyncs: 0, loads: 0, txnOps: 0 };

  constructor(private readonly opts: EtcdStoreOptions) {
    this.keys = new Keys(opts.prefix);
    this.mirror = new Mirror(this.keys);
    this.commitTimeoutMs = opts.commitTimeoutMs ?? 30_000;
    this.maxOps = opts.maxTxnOps ?? 120;
    this.maxBytes = opts.maxTxnBytes ?? 1024 * 1024;
    this.onNote = opts.onNote ?? (() => {});
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

  setSnapshotSource(_source: () => Snapshot): void {
    // Nothing to compact: etcd keeps current state, not a log.
  }

  setLiveSource(live: () => Ipam): void {
    this.live = live;
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
      if (this.queue.length === 0 && this.inflight.length === 0) return Promise.resolve();
      return new Promise((resolve, reject) => this.barriers.push({ after: this.commitSeq, rejections: this.rejections, resolve, reject }));
    }
    if (!this.live) return Promise.reject(new StoreFailedError('etcd store: no live allocator attached (setLiveSource)'));
    const derived = this.mirror.derive(ops, this.live());
    const resources = [...[...derived.instances].map((i) => `i:${i}`), ...[...derived.owners].map((o) => `o:${o}`)];
    if (this.stale || resources.some((r) => this.poisoned.has(r))) {
      return Promise.reject(new StoreConflictError(this.stale ? ['*'] : names(resources.filter((r) => this.poisoned.has(r)))));
    }
    this.counters.records++;
    const entries = [...derived.writes];
    const written = new Set(entries.map(([k]) => k));
    const guards = [...derived.owners].filter((o) => !written.has(this.keys.own(o)));
    return new Promise<void>((resolve, reject) => {
      const c: Pending = { seq: ++this.commitSeq, derived, entries, sent: 0, opsJson: JSON.stringify(ops), guards, resources, resolve, reject };
      for (const r of resources) this.busy.set(r, (this.busy.get(r) ?? 0) + 1);
      this.queue.push(c);
      if (!this.flushing) {
        this.flushing = true;
        // let every request of this turn of the event loop join the transaction
        setImmediate(() => void this.flushLoop());
      }
    });
  }

  stats(): StoreStats {
    return { ...this.counters, flushSeconds: { counts: [...this.txnSeconds.counts], sum: this.txnSeconds.sum } };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.settled();
    this.closed = true;
    this.onChange = undefined;
    const w = this.watcher;
    this.watcher = undefined;
    if (w) await w.cancel().catch(() => {});
    this.client?.close();
    this.client = undefined;
  }

  // ---------------- loading ----------------

  /** Reads every key of the store at one revision; resets the mirror to it. */
  private async readAll(): Promise<DurableState> {
    const t0 = performance.now();
    const { kvs, revision } = await this.withRetry('load', () => this.rangeAll());
    this.mirror.clear();
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
    const w = await this.client!.watch().prefix(this.keys.base).startRevision(String(this.loadedRev + 1)).create();
    this.watcher = w;
    w.on('data', (res: IWatchResponse) => this.onWatch(res));
    w.on('error', (e: Error) => {
      // cancelled by etcd (its history was compacted past us): start again from a fresh load
      if (this.watcher !== w) return;
      this.watchDead = true;
      this.requestResync(`watch cancelled: ${e.message}`);
    });
  }

  // ---------------- group commit ----------------

  private settled(): Promise<void> {
    if (!this.flushing && this.queue.length === 0 && this.inflight.length === 0) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.failed) {
        const items = this.takeRound();
        this.inflight = [...new Set(items.map((i) => i.c))];
        try {
          await this.send(items);
        } catch (e) {
          this.fail(e);
        }
        this.inflight = [];
        this.settleBarriers();
        this.drain();
      }
    } finally {
      this.flushing = false;
      this.settleBarriers();
      const idle = this.idle;
      this.idle = [];
      for (const r of idle) r();
    }
  }

  /** The next transaction: whole commits from the head of the queue while they fit, or, when
   *  the head alone does not fit, as much of it as fits. */
  private takeRound(): Item[] {
    const items: Item[] = [];
    const insts = new Set<string>();
    const owners = new Set<string>();
    let ops = 0;
    let bytes = 0;
    while (this.queue.length > 0) {
      const c = this.queue[0]!;
      const rest = c.entries.slice(c.sent);
      const newInsts = [...c.derived.instances].filter((i) => !insts.has(i));
      const ownersOf = (es: [string, Write][]) => {
        const set = new Set<string>();
        for (const [k] of es) {
          const p = this.keys.parse(k);
          if (p?.kind === 'own' && !owners.has(p.id)) set.add(p.id);
        }
        if (c.sent === 0) for (const g of c.guards) if (!owners.has(g)) set.add(g);
        return set;
      };
      const journalBytes = c.opsJson.length * c.derived.instances.size;
      const entryBytes = (es: [string, Write][]) => es.reduce((n, [k, v]) => n + k.length + (v?.length ?? 0) + 8, 0);
      const newOwners = ownersOf(rest);
      const needOps = rest.length + newInsts.length;
      const needCmp = newInsts.length + newOwners.size;
      const needBytes = entryBytes(rest) + journalBytes;
      if (ops + needOps <= this.maxOps && insts.size + owners.size + needCmp <= this.maxOps && bytes + needBytes <= this.maxBytes) {
        items.push({ c, entries: rest, last: true });
        this.queue.shift();
        for (const i of newInsts) insts.add(i);
        for (const o of newOwners) owners.add(o);
        ops += needOps;
        bytes += needBytes;
        continue;
      }
      if (items.length > 0) break;
      // Alone and too large: a chunk. Each chunk rewrites every revision key of the commit.
      const room = Math.max(1, Math.min(this.maxOps - newInsts.length, this.maxOps - newInsts.length - (c.sent === 0 ? c.guards.length : 0)));
      let n = 0;
      let b = 0;
      const budget = this.maxBytes - (rest.length <= room ? journalBytes : 0);
      while (n < rest.length && n < room) {
        const [k, v] = rest[n]!;
        const size = k.length + (v?.length ?? 0) + 8;
        if (n > 0 && b + size > budget) break;
        b += size;
        n++;
      }
      // out of the queue while in flight; put back at its head when more remains
      items.push({ c, entries: rest.slice(0, n), last: n === rest.length });
      this.queue.shift();
      break;
    }
    return items;
  }

  /** Sends one transaction (retrying what failed to reach etcd) and settles what it decides. */
  private async send(items: Item[]): Promise<void> {
    const txnId = `${this.writer}:${++this.txnSeq}`;
    const writes = new Map<string, Write>();
    const owners = new Set<string>();
    const journals = new Map<string, { complete: Pending[]; partial: Pending[] }>();
    for (const it of items) {
      for (const [k, v] of it.entries) {
        writes.set(k, v);
        const p = this.keys.parse(k);
        if (p?.kind === 'own') owners.add(p.id);
      }
      if (it.c.sent === 0) for (const g of it.c.guards) owners.add(g);
      for (const id of it.c.derived.instances) {
        let j = journals.get(id);
        if (!j) journals.set(id, (j = { complete: [], partial: [] }));
        (it.last ? j.complete : j.partial).push(it.c);
      }
    }
    const compare: ICompare[] = [];
    const success: IRequestOp[] = [];
    const failure: IRequestOp[] = [];
    const insts = [...journals.keys()];
    const basis = new Map<string, number>();
    for (const id of insts) {
      const b = this.mirror.rev.get(id) ?? 0;
      basis.set(id, b);
      const key = Buffer.from(this.keys.rev(id));
      compare.push({ key, target: 'Mod', result: 'Equal', mod_revision: b });
      failure.push({ request_range: { key } });
    }
    const ownerBasis = new Map<string, number>();
    for (const o of owners) {
      const b = this.mirror.ownerMod.get(o) ?? 0;
      ownerBasis.set(o, b);
      const key = Buffer.from(this.keys.own(o));
      compare.push({ key, target: 'Mod', result: 'Equal', mod_revision: b });
      failure.push({ request_range: { key, keys_only: true } });
    }
    let bytes = 0;
    for (const [k, v] of writes) {
      const key = Buffer.from(k);
      bytes += key.length + (v?.length ?? 0);
      success.push(v ? { request_put: { key, value: v } } : { request_delete_range: { key } });
    }
    for (const [id, j] of journals) {
      // built as text: the records are already JSON
      let text = `{"w":"${this.writer}","t":"${txnId}","b":${basis.get(id)}`;
      if (j.complete.length) text += `,"c":[${j.complete.map((c) => `[${c.seq},${c.opsJson}]`).join(',')}]`;
      if (j.partial.length) text += `,"m":${j.partial[0]!.seq}`;
      const value = Buffer.from(text + '}');
      bytes += value.length;
      success.push({ request_put: { key: Buffer.from(this.keys.rev(id)), value } });
    }
    const req: ITxnRequest = { compare, success, failure };

    const t0 = performance.now();
    const outcome = await this.withRetry('commit', async () => {
      const res = await this.client!.kv.txn(req);
      if (res.succeeded) return { ok: true as const, revision: Number(res.header.revision) };
      // Which compare failed? And did an earlier attempt of this very transaction succeed
      // (its answer lost on the way)? Its id is then in the revision keys.
      const conflicts = new Set<string>();
      let mine = 0;
      res.responses.forEach((r, i) => {
        const kv: IKeyValue | undefined = r.response_range?.kvs?.[0];
        const mod = kv ? Number(kv.mod_revision) : 0;
        if (i < insts.length) {
          const id = insts[i]!;
          if (kv?.value?.includes(`"t":"${txnId}"`)) mine = mod;
          if (mod !== basis.get(id)) conflicts.add(`i:${id}`);
        } else {
          const o = [...owners][i - insts.length]!;
          if (mod !== ownerBasis.get(o)) conflicts.add(`o:${o}`);
        }
      });
      if (mine) return { ok: true as const, revision: mine };
      if (conflicts.size === 0) for (const id of insts) conflicts.add(`i:${id}`);
      return { ok: false as const, conflicts };
    });

    if (outcome.ok) {
      const secs = (performance.now() - t0) / 1000;
      let bucket = 0;
      while (bucket < FLUSH_BUCKETS.length && secs > FLUSH_BUCKETS[bucket]!) bucket++;
      this.txnSeconds.counts[bucket]!++;
      this.txnSeconds.sum += secs;
      const R = outcome.revision;
      for (const id of insts) this.mirror.rev.set(id, R);
      for (const [k, v] of writes) {
        const p = this.keys.parse(k);
        if (p?.kind !== 'own') continue;
        if (v) this.mirror.ownerMod.set(p.id, R);
        else this.mirror.ownerMod.delete(p.id);
      }
      this.counters.flushes++;
      this.counters.bytes += bytes;
      this.extra.txnOps += success.length;
      for (const it of items) {
        it.c.sent += it.entries.length;
        if (it.last) this.settle(it.c);
        else this.queue.unshift(it.c);
      }
      return;
    }
    this.extra.conflicts++;
    this.reject(outcome.conflicts, items);
  }

  /** Rejects the commits that touch `conflicts`, and every later one that depends on them;
   *  the other commits of the failed transaction go back to the head of the queue. */
  private reject(conflicts: Set<string>, items: Item[]): void {
    const tainted = new Set(conflicts);
    const failedRound = [...new Set(items.map((i) => i.c))];
    const keep: Pending[] = [];
    const rejected: Pending[] = [];
    for (const c of new Set([...failedRound, ...this.queue])) {
      if (c.resources.some((r) => tainted.has(r))) {
        for (const r of c.resources) tainted.add(r);
        rejected.push(c);
      } else keep.push(c);
    }
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
    for (const c of this.inflight) lowest = Math.min(lowest, c.seq);
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
    this.failed = e instanceof StoreFailedError ? e : new StoreFailedError(`etcd: ${(e as Error).message}`, e);
    const all = [...new Set([...this.inflight, ...this.queue])];
    this.queue = [];
    for (const c of all) this.settle(c, this.failed);
    this.settleBarriers();
  }

  /** Runs `fn` until it answers, retrying what did not reach etcd (dead member, no leader,
   *  deadline) with jittered backoff, for at most commitTimeoutMs. */
  private async withRetry<T>(what: string, fn: (attempt: number) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.commitTimeoutMs;
    for (let attempt = 0; ; attempt++) {
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
      let g = this.buffer[this.buffer.length - 1];
      if (!g || g.rev !== rev) {
        if (rev <= this.loadedRev) continue;
        g = { rev, journals: new Map(), facts: [], owners: [] };
        this.buffer.push(g);
      }
      const key = kv.key.toString();
      const k = this.keys.parse(key);
      if (!k) continue;
      const value = ev.type === 'Delete' ? null : kv.value;
      if (k.kind === 'rev') {
        if (value) {
          try {
            g.journals.set(k.id, JSON.parse(value.toString()) as Journal);
          } catch {
            g.facts.push({ key, value, mod: rev });
          }
        }
        continue;
      }
      if (k.kind === 'own') g.owners.push(k.id);
      g.facts.push({ key, value, mod: rev });
    }
    this.drain();
  }

  /** Applies buffered revisions of other replicas, oldest first, while this replica's view of
   *  every instance they touch is the one they were made from and no own commit touching
   *  them is in flight (that commit will lose its race, and the reload reads them). */
  private drain(): void {
    if (this.loading || !this.onChange) return;
    while (this.buffer.length > 0) {
      const g = this.buffer[0]!;
      if (g.rev <= this.loadedRev) {
        this.buffer.shift();
        continue;
      }
      const journals = [...g.journals.values()];
      if (journals.length === 0) {
        this.buffer.shift();
        this.requestResync(`revision ${g.rev} changed ${g.facts[0]?.key ?? 'keys'} without a revision key`);
        return;
      }
      if (journals[0]!.w === this.writer) {
        this.buffer.shift(); // our own transaction: its answer updates the mirror
        continue;
      }
      // (a poisoned instance is about to be reloaded: wait for that)
      for (const id of g.journals.keys()) if (this.busy.has(`i:${id}`) || this.poisoned.has(`i:${id}`)) return;
      for (const o of g.owners) if (this.busy.has(`o:${o}`)) return;
      for (const [id, j] of g.journals) {
        const parts = this.partial.get(id);
        const expect = parts?.length ? parts[parts.length - 1]!.rev : (this.mirror.rev.get(id) ?? 0);
        if (j.b !== expect) {
          this.requestResync(`network instance ${id}: revision ${g.rev} was made from revision ${j.b}, this replica has ${expect}`);
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
      // complete: earlier chunks of its commits first (their keys), then its own
      const chunks = new Set<Group>();
      const seqs = new Set(journals.flatMap((j) => (j.c ?? []).map(([s]) => s)));
      for (const id of g.journals.keys()) {
        for (const p of this.partial.get(id) ?? []) {
          const m = p.journals.get(id)?.m;
          if (m === undefined || !seqs.has(m)) {
            this.requestResync(`network instance ${id}: a transaction in several parts was abandoned`);
            return;
          }
          chunks.add(p);
        }
        this.partial.delete(id);
      }
      for (const p of [...chunks].sort((a, b) => a.rev - b.rev)) for (const f of p.facts) this.mirror.applyKv(f.key, f.value, f.mod);
      for (const f of g.facts) this.mirror.applyKv(f.key, f.value, f.mod);
      for (const id of g.journals.keys()) this.mirror.rev.set(id, g.rev);
      const records = new Map<number, Op[]>();
      for (const j of journals) for (const [s, ops] of j.c ?? []) records.set(s, ops);
      const ordered = [...records.entries()].sort((a, b) => a[0] - b[0]).map(([, ops]) => ops);
      this.extra.remoteRecords += ordered.length;
      this.onChange(ordered);
    }
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

/** Conflict resources as the names StoreConflictError carries. */
function names(resources: string[]): string[] {
  return [...new Set(resources.map((r) => (r.startsWith('i:') ? r.slice(2) : `owner ${r.slice(2)}`)))];
}
