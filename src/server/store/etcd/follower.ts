// Following the other replicas: a watch on the journal keys. Each transaction writes, per
// instance, the records it made (journal.ts) and the id it compared, so a replica replays other
// replicas' records in revision order, instance by instance, exactly when its own view is the
// one they were made from; otherwise it asks for a full reload. Its cache is therefore always a
// state that etcd held.
import type { Etcd3, IWatchResponse, Watcher } from 'etcd3';
import type { Ipam } from '../../../ipam/types.js';
import type { Op, RecoveryNote } from '../ops.js';
import { decodeJournal, isMarked, journalMark, recordsOf, type Journal } from './journal.js';
import type { Keys } from './keys.js';
import type { Mirror } from './state.js';
import type { Turns } from './turns.js';

/** One revision's journals (another replica's transaction), as the watch delivers them. */
interface Group {
  rev: number;
  journals: Map<string, Journal>;
}

/** What the follower asks of the commit pipeline. */
export interface FollowerGate {
  /** a journal on this instance must wait (own commits on it unsettled, or a reload coming) */
  blocks(id: string): boolean;
  blocksOwner(owner: string): boolean;
  /** another replica's transaction `txId` on instance `id` has been replayed */
  followed(id: string, txId: string): void;
}

export interface FollowerOptions {
  keys: Keys;
  mirror: Mirror;
  writer: string;
  turns: Turns;
  gate: FollowerGate;
  onNote: (n: RecoveryNote) => void;
  /** The follower lost track: everything must be read again. */
  lostTrack: (why: string) => void;
  counters: { remoteRecords: number };
}

export class Follower {
  /** the revision the state was last read at: the watch starts after it */
  loadedRev = 0;
  /** a reload is under way: hold everything */
  paused = false;
  private watcher: Watcher | undefined;
  private watchDead = false;
  /** when the watch stream broke (0: it is up); etcd3 reconnects it and resumes */
  private watchDownSince = 0;
  private closed = false;
  private sink: { live: () => Ipam; apply: (records: Op[][]) => void; failed: () => boolean } | undefined;
  private buffer: Group[] = [];
  /** instance -> chunks of a commit still in progress (another replica's), oldest first */
  private readonly partial = new Map<string, Group[]>();
  /** how this replica's own journals start: they come back through the watch too */
  private readonly ownMark: Buffer;

  constructor(private readonly o: FollowerOptions) {
    this.ownMark = journalMark(o.writer);
  }

  /** Where replayed records go: the server's allocator. `failed`: the replay did not work
   *  out and a reload is under way. */
  attach(sink: { live: () => Ipam; apply: (records: Op[][]) => void; failed: () => boolean } | undefined): void {
    this.sink = sink;
    if (sink) setImmediate(() => this.drain());
  }

  /** The state was read at `revision`: forget what it already holds. */
  reset(revision: number): void {
    this.loadedRev = revision;
    this.partial.clear();
    this.buffer = this.buffer.filter((g) => g.rev > revision);
  }

  get needsRestart(): boolean {
    return this.watchDead;
  }

  /** Watches the journals from the revision after the last load. */
  async start(client: Etcd3): Promise<void> {
    const old = this.watcher;
    this.watcher = undefined;
    if (old) await old.cancel().catch(() => {});
    this.watchDead = false;
    // Only the journals: they carry everything a replica needs to follow the others.
    const w = await client
      .watch()
      .prefix(`${this.o.keys.base}jr/`)
      .startRevision(String(this.loadedRev + 1))
      .create();
    this.watcher = w;
    w.on('data', (res: IWatchResponse) => this.onWatch(res));
    // etcd3 re-creates a broken stream from the last revision it delivered; said once per
    // outage, since until then this replica's commits lose their races
    w.on('disconnected', (e: Error) => {
      if (this.watcher !== w || this.closed || this.watchDownSince) return;
      this.watchDownSince = performance.now();
      this.o.onNote({ level: 'warn', msg: `etcd: watch stream lost (${e.message}); reconnecting` });
    });
    w.on('connected', () => {
      if (this.watcher !== w || !this.watchDownSince) return;
      this.o.onNote({ level: 'info', msg: `etcd: watch stream back after ${Math.round(performance.now() - this.watchDownSince)} ms` });
      this.watchDownSince = 0;
    });
    w.on('error', (e: Error) => {
      // cancelled by etcd (its history was compacted past us): start again from a fresh load
      if (this.watcher !== w) return;
      this.watchDead = true;
      this.o.lostTrack(`watch cancelled: ${e.message}`);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.sink = undefined;
    const w = this.watcher;
    this.watcher = undefined;
    if (w) await w.cancel().catch(() => {});
  }

  onWatch(res: IWatchResponse): void {
    for (const ev of res.events) {
      const kv = ev.kv;
      const rev = Number(kv.mod_revision);
      if (rev <= this.loadedRev || ev.type === 'Delete') continue;
      if (isMarked(kv.value, this.ownMark)) continue;
      let g = this.buffer[this.buffer.length - 1];
      if (!g || g.rev !== rev) {
        g = { rev, journals: new Map() };
        this.buffer.push(g);
      }
      const k = this.o.keys.parse(kv.key.toString());
      if (k?.kind !== 'jr') continue;
      try {
        const j = decodeJournal(kv.value);
        g.journals.set(k.id, j);
        this.o.turns.journalFrom(k.id, j.writer);
      } catch (e) {
        this.o.lostTrack(`revision ${rev}: ${kv.key.toString()}: ${(e as Error).message}`);
      }
    }
    this.drain();
  }

  /** Applies buffered revisions of other replicas, oldest first, while this replica's view of
   *  every instance they touch is the one they were made from and no own commit touching
   *  them (or their owners) is in flight: that commit will lose its race first. */
  drain(): void {
    const sink = this.sink;
    if (this.paused || !sink) return;
    while (this.buffer.length > 0) {
      const g = this.buffer[0]!;
      if (g.rev <= this.loadedRev || g.journals.size === 0) {
        this.buffer.shift();
        continue;
      }
      if (this.waits(g) || !this.chains(g)) return;
      this.buffer.shift();
      const journals = [...g.journals.values()];
      if (journals.some((j) => j.chunkOf !== undefined)) {
        for (const id of g.journals.keys()) this.partial.set(id, [...(this.partial.get(id) ?? []), g]);
        continue;
      }
      if (!this.completes(g)) return;
      const ordered = recordsOf(journals);
      this.o.counters.remoteRecords += ordered.length;
      // the server replays the records (its allocator then holds the writer's state), and
      // the mirror follows by deriving from them what the writer derived
      sink.apply(ordered);
      if (this.paused || sink.failed()) return; // the replay failed: a reload is under way
      this.follow(ordered, g.rev, sink.live());
      for (const [id, j] of g.journals) this.o.gate.followed(id, j.txn);
    }
  }

  /** The mirror derives what the writer derived; the owner keys it wrote now have `rev`. */
  private follow(ordered: Op[][], rev: number, live: Ipam): void {
    const mirror = this.o.mirror;
    const d = mirror.follow(ordered.length === 1 ? ordered[0]! : ordered.flat(), live);
    // every owner key a derivation writes or deletes is one of its owners
    for (const owner of d.owners) {
      const v = d.writes.get(this.o.keys.own(owner));
      if (v) mirror.ownerMod.set(owner, rev);
      else if (v === null) mirror.ownerMod.delete(owner);
    }
  }

  /** An own commit on one of the group's instances or owners is unsettled. */
  private waits(g: Group): boolean {
    for (const id of g.journals.keys()) if (this.o.gate.blocks(id)) return true;
    for (const j of g.journals.values())
      for (const [, ops] of j.commits ?? []) for (const op of ops) if (this.o.gate.blocksOwner(ownerOf(op))) return true;
    return false;
  }

  /** Whether every journal of the group was made from this replica's view of its instance. */
  private chains(g: Group): boolean {
    for (const [id, j] of g.journals) {
      const parts = this.partial.get(id);
      const expect = parts?.length ? parts[parts.length - 1]!.journals.get(id)!.txn : (this.o.mirror.rev.get(id) ?? '');
      if (j.basis !== expect) {
        this.o.lostTrack(
          `network instance ${id}: transaction ${j.txn} (revision ${g.rev}) was made from ${j.basis || 'nothing'}, this replica has ${expect || 'nothing'}`,
        );
        return false;
      }
    }
    return true;
  }

  /** A complete group ends the earlier chunks of its commit, if any. */
  private completes(g: Group): boolean {
    if (this.partial.size === 0) return true;
    const seqs = new Set([...g.journals.values()].flatMap((j) => (j.commits ?? []).map(([seq]) => seq)));
    for (const id of g.journals.keys()) {
      for (const p of this.partial.get(id) ?? []) {
        const m = p.journals.get(id)?.chunkOf;
        if (m === undefined || !seqs.has(m)) {
          this.o.lostTrack(`network instance ${id}: a transaction in several parts was abandoned`);
          return false;
        }
      }
      this.partial.delete(id);
    }
    return true;
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
