// The server's heart: one in-memory allocator in front of one Store.
//
// Every change runs as a transaction (mutate): the callback applies operations to the
// allocator synchronously through a Tx, which records them as Op records; in the same tick
// the records go to store.commit() and the caller is answered only when that resolves. No
// other request runs between apply and the start of commit, so an address can never be
// handed out twice, and nothing is acknowledged before it is durable. Reads (query) are
// answered from memory after a barrier commit, so they never show state that could still
// be lost.
//
// Failure handling:
// - StoreConflictError (replicated stores, see store.ts): roll back by reloading the named
//   network instances from the store, then run the transaction again (bounded retries).
// - any other commit failure (disk I/O): the store is unusable; the core turns fatal, every
//   later call fails with UNAVAILABLE, and the server exits non-zero so that a restart
//   recovers from what is durable. The failed transaction was not acknowledged.
import type {
  Allocation,
  AllocationRequest,
  InstancePrefix,
  Ipam,
  NetworkInstanceInfo,
  NetworkInstanceRef,
  PrefixInfo,
  PrefixSpec,
  ReleaseOptions,
} from '../ipam/types.js';
import { LiveIpam } from './live.js';
import type { DurableState, Op, RecoveryNote } from './store/ops.js';
import type {
  VlanAllocation,
  VlanDefinition,
  VlanIndexInfo,
  VlanIndexRef,
  VlanIndexSpec,
  VlanReleaseOptions,
  VlanRequest,
} from '../vlan/types.js';
import { IpamError } from '../ipam/errors.js';
import { StoreConflictError, StoreFailedError, StoreRejectedError, type Store } from './store/store.js';
import { rebuild, replayOp, vlanAnswer } from './replay.js';
import { PeerUnavailableError, type AllocationAnswer } from './peers.js';
import { packageOf, SCOPE_SEPARATOR } from '../protocol/owner.js';
import { backoffDelay, RACE_BACKOFF, sleep } from '../protocol/backoff.js';

export { ReplayError, replayOp } from './replay.js';

export type { IpamFactory } from './replay.js';
import type { IpamFactory } from './replay.js';

export type ChangeType =
  | 'ALLOCATED'
  | 'RELEASED'
  | 'PREFIX_APPLIED'
  | 'PREFIX_REMOVED'
  | 'NETWORK_INSTANCE_APPLIED'
  | 'NETWORK_INSTANCE_REMOVED'
  | 'VLAN_ALLOCATED'
  | 'VLAN_RELEASED'
  | 'VLAN_INDEX_APPLIED'
  | 'VLAN_INDEX_REMOVED';

export interface Change {
  seq: number;
  type: ChangeType;
  allocation?: Allocation;
  prefix?: PrefixInfo;
  networkInstance?: NetworkInstanceInfo;
  vlan?: VlanAllocation;
  vlanIndex?: VlanIndexInfo;
}

/** Thrown inside a transaction to refuse it whole: nothing it applied is committed (the
 *  allocator is put back to what is durable) and the caller gets `reason`. */
export class TxAbort extends Error {
  override readonly name = 'TxAbort';
  constructor(readonly reason: unknown) {
    super((reason as Error)?.message ?? String(reason));
  }
}

export class UnavailableError extends Error {
  override readonly name = 'UnavailableError';
}

/** One step that undoes part of a transaction: an allocation made for an owner that held
 *  nothing, or the one allocation a release freed. */
type UndoStep = { owner: string; prefix: string } | { allocation: Allocation };

/**
 * Records what a transaction changes, as it changes it, and holds a package-scoped caller to
 * its package (checked before anything changes: a refused step leaves no op behind).
 */
export class Tx {
  readonly ops: Op[] = [];
  readonly changes: Omit<Change, 'seq'>[] = [];
  /** How to undo this transaction (replicated stores lose races); null once an op it made
   *  cannot be undone exactly (prefix and instance changes, moves, cascades). */
  private undo: UndoStep[] | null = [];

  /**
   * `watched`: someone listens to changes, so compute the costlier ones too.
   * `scope`: the package a scoped token acts for; undefined is the operator (the seed or an
   * unscoped token). Space in a network instance the package does not own is the operator's,
   * and a scoped release never frees another package's allocations, forced or not.
   */
  constructor(
    readonly ipam: Ipam,
    private readonly watched = false,
    readonly scope?: string,
  ) {}

  /** Scoped callers: `ref` must be absent (when `mayCreate`) or owned by their package. */
  private checkInstance(ref: NetworkInstanceRef, what: string, mayCreate: boolean): void {
    if (this.scope === undefined) return;
    const ns = ref.namespace || 'default';
    const ni = this.ipam.listNetworkInstances().find((n) => n.name === ref.name && n.namespace === ns);
    if (ni ? packageOf(ni.owner) === this.scope : mayCreate) return;
    throw new IpamError(
      'PermissionDenied',
      `package "${this.scope}" may not ${what} network instance ${ns}/${ref.name}: ${ni ? 'it is shared' : 'it does not exist'}; ` +
        "space in a shared network instance is the operator's (seed or an unscoped token)",
      { networkInstance: `${ns}/${ref.name}` },
    );
  }

  applyNetworkInstance(ref: NetworkInstanceRef, prefixes: InstancePrefix[], owner: string): NetworkInstanceInfo {
    this.checkInstance(ref, 'change', true);
    const info = this.ipam.applyNetworkInstance(ref, prefixes, owner);
    this.undo = null;
    this.ops.push({ op: 'applyNetworkInstance', ref, prefixes, owner });
    this.changes.push({ type: 'NETWORK_INSTANCE_APPLIED', networkInstance: info });
    return info;
  }

  removeNetworkInstance(ref: NetworkInstanceRef, opts: ReleaseOptions = {}): void {
    this.checkInstance(ref, 'remove', false);
    if (this.scope !== undefined && opts.force) throw new IpamError('PermissionDenied', 'a scoped token cannot force a removal');
    const before = opts.force && this.watched ? this.ipam.listAllocations({ networkInstance: ref }) : [];
    this.ipam.removeNetworkInstance(ref, opts);
    this.undo = null;
    this.ops.push({ op: 'removeNetworkInstance', ref, ...(opts.force ? { force: true } : {}) });
    for (const a of before) this.changes.push({ type: 'RELEASED', allocation: a });
    this.changes.push({
      type: 'NETWORK_INSTANCE_REMOVED',
      networkInstance: { name: ref.name, namespace: ref.namespace || 'default', owner: '', prefixes: [] },
    });
  }

  applyPrefix(spec: PrefixSpec): PrefixInfo {
    this.checkInstance(spec.networkInstance, 'add prefixes to', false);
    const info = this.ipam.applyPrefix(spec);
    this.undo = null;
    this.ops.push({ op: 'applyPrefix', spec });
    this.changes.push({ type: 'PREFIX_APPLIED', prefix: info });
    return info;
  }

  /** Returns the allocations a forced removal freed. */
  removePrefix(ni: NetworkInstanceRef, prefix: string, opts: ReleaseOptions = {}): Allocation[] {
    this.checkInstance(ni, 'remove prefixes from', false);
    if (this.scope !== undefined && opts.force) throw new IpamError('PermissionDenied', 'a scoped token cannot force a removal');
    const info = this.ipam.listPrefixes(ni).find((p) => p.prefix === prefix);
    const before = opts.force ? this.ipam.listAllocations({ networkInstance: ni }) : [];
    this.ipam.removePrefix(ni, prefix, opts);
    this.undo = null;
    this.ops.push({ op: 'removePrefix', ni, prefix, ...(opts.force ? { force: true } : {}) });
    let freed: Allocation[] = [];
    if (opts.force) {
      const after = new Set(this.ipam.listAllocations({ networkInstance: ni }).map((a) => `${a.owner} ${a.prefix}`));
      freed = before.filter((a) => !after.has(`${a.owner} ${a.prefix}`));
      for (const a of freed) this.changes.push({ type: 'RELEASED', allocation: a });
    }
    if (info) this.changes.push({ type: 'PREFIX_REMOVED', prefix: info });
    return freed;
  }

  allocate(req: AllocationRequest): Allocation {
    const before = this.ipam.getAllocations(req.owner);
    const result = this.ipam.allocate(req);
    // An idempotent repeat changes nothing: no record (re-renders do not grow the log).
    if (!before.some((a) => sameAllocation(a, result))) {
      if (before.length === 0) this.undo?.push({ owner: req.owner, prefix: result.prefix });
      else this.undo = null;
      this.ops.push({ op: 'allocate', req, prefix: result.prefix });
      this.changes.push({ type: 'ALLOCATED', allocation: result });
    }
    return result;
  }

  dryRun(req: AllocationRequest): Allocation {
    return this.ipam.dryRun(req);
  }

  /** A scoped caller's force frees only its own package's dependents; others still block. */
  private releaseScoped(owner: string, opts: ReleaseOptions): Allocation[] {
    if (this.scope === undefined || !opts.force) return this.ipam.release(owner, opts);
    const mine = `${this.scope}${SCOPE_SEPARATOR}`;
    try {
      return this.ipam.release(owner, { ...opts, forceOnly: (o) => o.startsWith(mine) });
    } catch (e) {
      if (!(e instanceof IpamError) || !e.details.dependents) throw e;
      throw new IpamError('PermissionDenied', `a scoped token cannot force-release other packages' allocations: ${e.message}`, e.details);
    }
  }

  /** Frees everything `owner` holds, network instances included. Always logged: finding out
   *  whether it held a prefix would cost a scan of every prefix; a record is a few bytes. */
  release(owner: string, opts: ReleaseOptions = {}): Allocation[] {
    const prefixes = this.watched ? this.ipam.listPrefixes().filter((p) => p.owner === owner) : [];
    const defined = this.undo !== null && this.ipam.defines(owner);
    const freed = this.releaseScoped(owner, opts);
    if (defined || opts.force || freed.length > 1) this.undo = null;
    else if (freed.length === 1) this.undo?.push({ allocation: freed[0]! });
    this.ops.push({ op: 'release', owner, ...(opts.force ? { force: true } : {}) });
    // A network instance belongs to its owner too: releasing the owner removes it.
    for (const ni of this.ipam.listNetworkInstances()) {
      if (ni.owner === owner) this.removeNetworkInstance({ name: ni.name, namespace: ni.namespace }, opts);
    }
    for (const a of freed) {
      this.changes.push({ type: 'RELEASED', allocation: a });
    }
    for (const p of prefixes) {
      this.changes.push({ type: 'PREFIX_REMOVED', prefix: p });
    }
    return freed;
  }

  /** Undoes the transaction in the allocator, newest op first (the store calls it when the
   *  commit lost a race); returns the ops that did so, or null when it cannot be undone
   *  exactly (the server then reloads everything). */
  readonly revert = (): Op[] | null => {
    if (!this.undo) return null;
    const ipam = this.ipam;
    const inverse: Op[] = [];
    try {
      for (let i = this.undo.length - 1; i >= 0; i--) {
        const u = this.undo[i]!;
        if ('owner' in u) {
          const held = ipam.getAllocations(u.owner);
          if (held.length !== 1 || held[0]!.prefix !== u.prefix || ipam.defines(u.owner)) return null;
          ipam.release(u.owner);
          inverse.push({ op: 'release', owner: u.owner });
          continue;
        }
        const a = u.allocation;
        if (ipam.getAllocations(a.owner).length > 0 || ipam.defines(a.owner)) return null;
        const req: AllocationRequest = {
          owner: a.owner,
          networkInstance: a.networkInstance,
          kind: a.kind,
          prefix: a.prefix,
          addressFamily: a.addressFamily,
          labels: a.labels,
        };
        const got = ipam.allocate(req);
        if (!sameAllocation(got, a) || got.parent !== a.parent) return null;
        inverse.push({ op: 'allocate', req, prefix: got.prefix });
      }
    } catch {
      return null;
    }
    return inverse;
  };

  applyVlanIndex(spec: VlanIndexSpec): VlanIndexInfo {
    const before = this.ipam.vlan
      .listIndexes()
      .find((x) => x.name === spec.index.name && x.namespace === (spec.index.namespace || 'default'));
    const info = this.ipam.vlan.applyIndex(spec);
    if (!before || JSON.stringify(before) !== JSON.stringify(info)) {
      this.undo = null;
      this.ops.push({ op: 'applyVlanIndex', spec });
      this.changes.push({ type: 'VLAN_INDEX_APPLIED', vlanIndex: info });
    }
    return info;
  }

  removeVlanIndex(index: VlanIndexRef, opts: VlanReleaseOptions = {}): VlanAllocation[] {
    const info = this.ipam.vlan.listIndexes().find((x) => x.name === index.name && x.namespace === (index.namespace || 'default'));
    const freed = this.ipam.vlan.removeIndex(index, opts);
    this.undo = null;
    this.ops.push({ op: 'removeVlanIndex', index, ...(opts.force ? { force: true } : {}) });
    for (const a of freed) this.changes.push({ type: 'VLAN_RELEASED', vlan: a });
    if (info) this.changes.push({ type: 'VLAN_INDEX_REMOVED', vlanIndex: info });
    return freed;
  }

  applyVlanDefinition(def: VlanDefinition): VlanAllocation {
    const before = this.ipam.vlan.get(def.owner);
    const a = this.ipam.vlan.applyDefinition(def);
    if (!before || JSON.stringify(before) !== JSON.stringify(a)) {
      this.undo = null;
      this.ops.push({ op: 'applyVlanDefinition', def });
      this.changes.push({ type: 'VLAN_ALLOCATED', vlan: a });
    }
    return a;
  }

  allocateVlan(req: VlanRequest): VlanAllocation {
    const before = this.ipam.vlan.get(req.owner);
    const a = this.ipam.vlan.allocate(req);
    // an idempotent repeat changes nothing and is not logged
    if (!before || JSON.stringify(before) !== JSON.stringify(a)) {
      this.undo = null;
      this.ops.push({ op: 'allocateVlan', req, answer: vlanAnswer(a) });
      this.changes.push({ type: 'VLAN_ALLOCATED', vlan: a });
    }
    return a;
  }

  /** Frees the VLAN `owner` holds and the indexes it defined; logged only when there was any. */
  releaseVlan(owner: string, opts: VlanReleaseOptions = {}): VlanAllocation[] {
    const v = this.ipam.vlan;
    if (v.get(owner) === undefined && !v.listIndexes().some((x) => x.owner === owner)) return [];
    const freed = v.release(owner, opts);
    this.undo = null;
    this.ops.push({ op: 'releaseVlan', owner, ...(opts.force ? { force: true } : {}) });
    for (const a of freed) this.changes.push({ type: 'VLAN_RELEASED', vlan: a });
    return freed;
  }
}

function sameAllocation(a: Allocation, b: Allocation): boolean {
  return (
    a.prefix === b.prefix &&
    a.kind === b.kind &&
    a.networkInstance.name === b.networkInstance.name &&
    a.networkInstance.namespace === b.networkInstance.namespace &&
    a.gateway === b.gateway &&
    sameLabels(a.labels, b.labels)
  );
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (a[k] !== b[k]) return false;
  return true;
}

export interface CoreOptions {
  store: Store;
  createIpam: IpamFactory;
  /** Conflict retries before giving up with UNAVAILABLE (replicated stores)... */
  maxRetries?: number;
  /** ...and how long a call keeps retrying at least, whatever the count: while the write
   *  lease moves, replicas race for a while, and a client should see a stall, not an error. */
  retryForMs?: number;
  onFatal?: (e: Error) => void;
  onNote?: (n: RecoveryNote) => void;
  /** Replicated stores with write leases: sends an allocation to the replica holding its
   *  network instance, or undefined to commit it here (forwarding.ts). */
  forward?: (req: AllocationRequest) => Promise<AllocationAnswer> | undefined;
}

export class IpamCore {
  private readonly store: Store;
  /** The store's (it reads what the core builds, see live.ts), or the core's own. */
  private readonly live: LiveIpam;
  private readonly createIpam: IpamFactory;
  private readonly maxRetries: number;
  private readonly retryForMs: number;
  private fatal: Error | undefined;
  private seq = 0;
  private readonly listeners = new Set<(c: Change) => void>();
  private gate: Promise<void> | undefined;
  private unwatch: (() => void) | undefined;
  private readonly onFatal: (e: Error) => void;
  private readonly forward: CoreOptions['forward'];
  readonly counters = { mutations: 0, conflicts: 0, allocated: 0, released: 0, forwarded: 0 };

  constructor(opts: CoreOptions) {
    this.store = opts.store;
    this.live = opts.store.live ?? new LiveIpam();
    this.createIpam = opts.createIpam;
    this.maxRetries = opts.maxRetries ?? 5;
    this.retryForMs = opts.retryForMs ?? 5000;
    this.onFatal = opts.onFatal ?? (() => {});
    this.forward = opts.forward;
  }

  /** The allocator requests are served from (undefined before start()). */
  get ipam(): Ipam {
    return this.live.current!;
  }

  get storeKind(): string {
    return this.store.kind;
  }

  /** Opens the store and rebuilds the allocator from it. With `hold`, the store changes no
   *  file until begin() (a server that fails to start leaves its data as it was). */
  async start(opts: { hold?: boolean } = {}): Promise<RecoveryNote[]> {
    const state = await this.store.open(opts);
    this.live.current = this.rebuild(state);
    // Replicated stores: follow other replicas.
    this.unwatch = this.store.watch?.(
      (records) => this.applyRemote(records),
      () => void this.resync(),
    );
    return state.report;
  }

  /** The start succeeded: the store may write (commits made meanwhile were waiting). */
  async begin(): Promise<void> {
    await this.store.begin?.();
  }

  private rebuild(state: DurableState): Ipam {
    return rebuild(state, this.createIpam);
  }

  /** An independent copy of the live state (dry runs); costs a snapshot + restore. */
  scratch(): Ipam {
    return this.createIpam(this.ipam.snapshot());
  }

  get healthy(): boolean {
    return this.fatal === undefined;
  }

  stats() {
    return this.store.stats();
  }

  /** Runs `fn` as one transaction; answers after its ops are durable. `scope`: the package a
   *  scoped token acts for (see Tx); undefined for the operator. */
  async mutate<T>(fn: (tx: Tx) => T, scope?: string): Promise<T> {
    const started = performance.now();
    for (let attempt = 0; ; attempt++) {
      this.check();
      if (this.gate) {
        await this.gate;
        continue;
      }
      const tx = new Tx(this.ipam, this.listeners.size > 0, scope);
      let result: T | undefined;
      let failure: { error: unknown } | undefined;
      try {
        result = fn(tx);
      } catch (e) {
        if (e instanceof TxAbort) {
          // undone in place when it can be (plain allocations), else rebuilt from the store
          if (tx.ops.length > 0 && tx.revert() === null) await this.rollBack();
          throw e.reason;
        }
        failure = { error: e };
      }
      // Commit whatever was applied, even when fn threw after some ops (part of a batch).
      const commit = this.store.commit(tx.ops, tx.revert);
      this.counters.mutations++;
      try {
        await commit;
      } catch (e) {
        if (e instanceof StoreConflictError) {
          await this.afterConflict(e, attempt, started);
          continue;
        }
        if (e instanceof StoreRejectedError) {
          // nothing was written: put the allocator back to what is durable, answer the client
          await this.rollBack();
          throw new IpamError('InvalidArgument', e.message);
        }
        this.die(e as Error);
        throw new UnavailableError(`not durable: ${(e as Error).message}`);
      }
      this.publish(tx.changes);
      if (failure) throw failure.error;
      return result as T;
    }
  }

  /** One allocation: through the replica holding the instance's write lease when another one
   *  does, else (or when that replica cannot answer) here. Answers what alloc.proto returns. */
  async allocate(req: AllocationRequest): Promise<AllocationAnswer> {
    const forwarded = this.forward?.(req);
    if (forwarded) {
      try {
        const a = await forwarded;
        this.counters.forwarded++;
        return a;
      } catch (e) {
        if (!(e instanceof PeerUnavailableError)) throw e;
      }
    }
    return this.mutate((tx) => tx.allocate(req));
  }

  /** Read-only: answered from memory once everything it could have seen is durable. */
  async query<T>(fn: (ipam: Ipam) => T): Promise<T> {
    const started = performance.now();
    for (let attempt = 0; ; attempt++) {
      this.check();
      if (this.gate) await this.gate;
      const result = fn(this.ipam);
      try {
        await this.store.commit([]);
      } catch (e) {
        if (e instanceof StoreConflictError) {
          // what it read may hold a commit that lost its race: read again after the reload
          await this.afterConflict(e, attempt, started);
          continue;
        }
        this.die(e as Error);
        throw new UnavailableError(`not durable: ${(e as Error).message}`);
      }
      return result;
    }
  }

  subscribe(listener: (c: Change) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.unwatch?.();
    await this.store.close();
  }

  private publish(changes: Omit<Change, 'seq'>[]): void {
    for (const c of changes) {
      if (c.type === 'ALLOCATED') this.counters.allocated++;
      else if (c.type === 'RELEASED') this.counters.released++;
      if (this.listeners.size === 0) continue;
      const change = { ...c, seq: ++this.seq };
      for (const l of this.listeners) l(change);
    }
  }

  /** Puts the allocator back to what is durable (a transaction that is not committed). */
  private async rollBack(): Promise<void> {
    try {
      await this.reload([]);
    } catch (re) {
      this.die(re as Error);
      throw new UnavailableError(`not durable: ${(re as Error).message}`);
    }
  }

  /** Replicated stores: after a lost race, wait until the store replayed the winner's changes
   *  (it undid the losing commit), or reload everything when it cannot; then let the caller
   *  retry after a jittered pause, or give up with UNAVAILABLE (not fatal). */
  private async afterConflict(e: StoreConflictError, attempt: number, started: number): Promise<void> {
    this.counters.conflicts++;
    try {
      if (!(await this.store.catchUp?.(e.networkInstances))) await this.reload(e.networkInstances);
    } catch (re) {
      this.die(re as Error);
      throw new UnavailableError(`not durable: ${(re as Error).message}`);
    }
    if (attempt >= this.maxRetries && performance.now() - started >= this.retryForMs) {
      throw new UnavailableError(`lost ${attempt + 1} races with other replicas on ${e.networkInstances.join(', ')}; try again`);
    }
    await sleep(backoffDelay(RACE_BACKOFF, attempt));
  }

  /** Replicated stores: another replica's committed records, replayed in commit order. */
  private applyRemote(records: Op[][]): void {
    if (this.fatal) return;
    // the changes are built only for watchers: a follower replays every other replica's commit
    const changes: Omit<Change, 'seq'>[] | undefined = this.listeners.size > 0 ? [] : undefined;
    try {
      for (const record of records) for (const op of record) this.replayRemote(op, changes);
    } catch {
      // this replica's view differs from the writer's: read everything again
      void this.resync();
      return;
    }
    // to this replica's watchers, but not in its counters (the writer counted them)
    for (const c of changes ?? []) {
      if (this.listeners.size === 0) break;
      const change = { ...c, seq: ++this.seq };
      for (const l of this.listeners) l(change);
    }
  }

  /** One op of another replica's, noting what it changed in `changes` when there is a list. */
  private replayRemote(op: Op, changes: Omit<Change, 'seq'>[] | undefined): void {
    if (op.op === 'release' && changes) {
      for (const a of this.ipam.release(op.owner, op.force ? { force: true } : {})) changes.push({ type: 'RELEASED', allocation: a });
      return;
    }
    replayOp(this.ipam, op);
    if (op.op === 'allocate' && changes) {
      const a = this.ipam.getAllocations(op.req.owner)[0];
      if (a) changes.push({ type: 'ALLOCATED', allocation: a });
    }
  }

  /** Replicated stores: reload everything (the store lost track of other replicas). */
  private async resync(): Promise<void> {
    try {
      await this.reload([]);
    } catch (e) {
      this.die(e as Error);
    }
  }

  /** Replicated stores: reload after a lost race. Blocks new transactions meanwhile. */
  private async reload(networkInstances: string[]): Promise<void> {
    if (this.gate) return this.gate;
    this.gate = (async () => {
      try {
        // The allocator has no per-instance restore yet, so this rebuilds everything from
        // the store's durable state; a replicated store may narrow `load` to the instances.
        const state = await this.store.load(networkInstances);
        this.live.current = this.rebuild(state);
      } finally {
        this.gate = undefined;
      }
    })();
    return this.gate;
  }

  private check(): void {
    if (this.fatal) throw new UnavailableError(`server unavailable: ${this.fatal.message}`);
  }

  private die(e: Error): void {
    if (this.fatal) return;
    this.fatal = e instanceof StoreFailedError ? e : new StoreFailedError(e.message, e);
    this.onFatal(this.fatal);
  }
}
