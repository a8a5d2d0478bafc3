// The Store seam between the server and durability.
//
// Protocol (server side, see src/server/core.ts):
//   1. apply a request's operations to the in-memory allocator synchronously (nothing else
//      runs meanwhile, so no address can be handed out twice), collecting them as Op[];
//   2. in the same tick, call store.commit(ops) and await it; commits are durable in call
//      order, and a commit resolves only when it and every earlier commit are durable;
//   3. answer the client only after commit resolved. An empty commit is a barrier: a read or
//      an idempotent repeat waits until what it saw is durable.
// If commit rejects, the server rolls the allocator back to the store's durable state and
// the client gets an error.
//
// Replicated stores (etcd, several server replicas) plug in here too: their commit is a
// transaction that compares each touched network instance's revision. When another replica
// changed one first, commit rejects with StoreConflictError naming those network instances,
// after undoing the losing commit in the live allocator (the revert the server passed with
// it); the server waits until the store replayed the winner's changes (catchUp), or reloads
// everything (load()) when that is not possible, and retries the request from step 1.
// Changes made by other replicas arrive through watch(), which the server applies to its
// cache. The file and memory stores are the only writer of their state and never conflict.
import type { LiveIpam } from '../live.js';
import type { DurableState, Op } from './ops.js';

export interface Store {
  readonly kind: string;
  /**
   * Opens (recovers) the store and returns its durable state. Called once, first. With
   * `hold`, a store that changes its files to write on (the file store: cutting a torn tail,
   * a repair, sealing a segment, starting a new one) does so only at begin(); commits made
   * before wait for it, and a close() before it leaves everything as open() found it.
   */
  open(opts?: { hold?: boolean }): Promise<DurableState>;
  /** Ends a `hold` (see open). Optional: a store without one never holds. */
  begin?(): Promise<void>;
  /** Makes ops durable after all earlier commits; see the protocol above. `revert`
   *  (replicated stores) undoes the commit in the live allocator if it loses a race. */
  commit(ops: Op[], revert?: Revert): Promise<void>;
  /**
   * The current durable state again, for a rollback or after a conflict. `networkInstances`
   * (namespace/name) limits it to those instances when the store can; the file store
   * always reloads everything.
   */
  load(networkInstances?: string[]): Promise<DurableState>;
  /**
   * Replicated stores, after a StoreConflictError on these network instances: resolves true
   * once the live allocator holds what etcd holds there (the losing commits were undone and
   * the winner's changes replayed), false when only a full load() can bring it there.
   * Optional: without it the server reloads.
   */
  catchUp?(networkInstances: string[]): Promise<boolean>;
  /**
   * The live allocator this store reads, given at construction (see live.ts): the core
   * serves from this one. Read synchronously in commit(), where the live state equals every
   * op committed so far (the server applies and commits in one tick). A store that never
   * reads it has none and the core makes its own.
   */
  readonly live?: LiveIpam;
  /**
   * Replicated stores: changes written by other replicas, in order; `resync` when the store
   * lost track of them and the server must reload everything (load()). Optional.
   */
  watch?(onChange: (records: Op[][]) => void, resync?: () => void): () => void;
  /** Flushes what is pending and releases files. */
  close(): Promise<void>;
  /** Figures for metrics. */
  stats(): StoreStats;
}

/** Undoes one commit's changes in the live allocator, newest first, in the tick the store
 *  calls it; returns the ops it applied to do so, or null when it could not (the store then
 *  has the server reload everything). */
export type Revert = () => Op[] | null;

export interface StoreStats {
  commits: number;
  records: number;
  flushes: number;
  bytes: number;
  compactions: number;
  /** Time of each write + sync (seconds), as histogram counts over FLUSH_BUCKETS. */
  flushSeconds?: { counts: number[]; sum: number };
  /** Replicated stores: turns this replica asked for after losing races in a row, and turns
   *  it gave to others (held its transactions back). */
  turns?: { asked: number; given: number };
}

/** Upper bounds (seconds) of the flush latency histogram; the last count is above them all. */
export const FLUSH_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1];

/** A replicated store lost a race on these network instances: reload them and retry. */
export class StoreConflictError extends Error {
  override readonly name = 'StoreConflictError';
  constructor(readonly networkInstances: string[]) {
    super(`store conflict on ${networkInstances.join(', ')}`);
  }
}

/** The store refuses this one commit (it can never fit, e.g. more network instances than one
 *  etcd transaction may compare); nothing was written and the store goes on. The server rolls
 *  its allocator back and answers the client with INVALID_ARGUMENT. */
export class StoreRejectedError extends Error {
  override readonly name = 'StoreRejectedError';
}

/** The store can no longer make anything durable (I/O error, closed). */
export class StoreFailedError extends Error {
  override readonly name = 'StoreFailedError';
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

/** Recovery found damage it will not repair by itself. */
export class StoreCorruptError extends Error {
  override readonly name = 'StoreCorruptError';
  constructor(
    message: string,
    readonly file: string,
    readonly offset: number,
  ) {
    super(message);
  }
}
