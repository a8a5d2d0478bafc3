// Turn-taking between replicas that write one network instance (docs/etcd.md, "Turns").
// Optimistic commits alone let a replica under steady load starve another one: its pipelined
// transactions always land first, and the loser's view is stale again by the time its retry
// arrives. A replica that lost `turnAfter` races in a row on an instance writes its id to the
// instance's turn key; the others, watching those keys, send nothing more on that instance
// until the loser's journal shows up or TURN_MS pass. Safety never depends on turns.
import type { Etcd3, Watcher } from 'etcd3';
import { backoffDelay, ETCD_BACKOFF } from '../../../protocol/backoff.js';
import type { Keys } from './keys.js';
import { instanceOf, type Resource } from './resource.js';

/** How long others hold back for a turn (a loser's catch-up and retry fit well inside). */
const TURN_MS = 1000;
/** A replica asks at most this often per instance while it keeps losing. */
const ASK_EVERY_MS = 50;

export interface TurnsOptions {
  keys: Keys;
  writer: string;
  /** Races lost in a row on one instance before asking (0: never ask). */
  turnAfter: number;
  /** A turn given away ended: commits held back may go. */
  wake: () => void;
}

export class Turns {
  asked = 0;
  given = 0;
  private client: Etcd3 | undefined;
  private watcher: Watcher | undefined;
  private closed = false;
  /** instance -> races this replica lost on it in a row */
  private readonly lostInRow = new Map<string, number>();
  /** instance -> when this replica last asked for a turn on it */
  private readonly askedAt = new Map<string, number>();
  /** instance -> the replica this one lets go first, until when */
  private readonly heldFor = new Map<string, { to: string; until: number }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: TurnsOptions) {}

  /** Watches the turn keys from now on (an older ask has been served or has run out). */
  async start(client: Etcd3): Promise<void> {
    this.client = client;
    const old = this.watcher;
    this.watcher = undefined;
    if (old) await old.cancel().catch(() => {});
    const base = this.o.keys.turn('');
    const w = await client.watch().prefix(base).create();
    this.watcher = w;
    w.on('put', (kv: { key: Buffer; value: Buffer }) => this.onAsk(kv.key.toString().slice(base.length), kv.value.toString()));
    // cancelled by etcd: without it this replica would give no more turns, so watch again
    w.on('error', () => {
      if (this.watcher !== w || this.closed) return;
      this.watcher = undefined;
      setTimeout(() => void this.start(client).catch(() => {}), backoffDelay(ETCD_BACKOFF, 2)).unref();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const w = this.watcher;
    this.watcher = undefined;
    if (w) await w.cancel().catch(() => {});
  }

  /** A transaction of ours landed on these instances: the losing streak ends. */
  won(instances: Iterable<string>): void {
    for (const id of instances) this.lostInRow.delete(id);
  }

  /** After a lost race: on each instance lost `turnAfter` times in a row, ask the others to
   *  hold back (a put of this replica's id to the turn key; no answer is awaited). */
  lost(conflicts: Iterable<Resource>): void {
    const now = performance.now();
    for (const r of conflicts) {
      const id = instanceOf(r);
      if (id === undefined) continue;
      const lost = (this.lostInRow.get(id) ?? 0) + 1;
      this.lostInRow.set(id, lost);
      if (this.o.turnAfter === 0 || lost < this.o.turnAfter || now - (this.askedAt.get(id) ?? -Infinity) < ASK_EVERY_MS) continue;
      this.askedAt.set(id, now);
      this.asked++;
      this.client?.kv.put({ key: Buffer.from(this.o.keys.turn(id)), value: Buffer.from(this.o.writer) }).catch(() => {});
    }
  }

  /** Another replica's journal on instance `id` arrived: a turn given to it is over. */
  journalFrom(id: string, writer: string): void {
    if (this.heldFor.get(id)?.to !== writer) return;
    this.heldFor.delete(id);
    this.arm();
    this.o.wake();
  }

  /** Whether a commit on these instances waits: one of them is given to another replica. */
  heldBack(instances: Iterable<string>): boolean {
    if (this.heldFor.size === 0) return false;
    const now = performance.now();
    for (const id of instances) {
      const t = this.heldFor.get(id);
      if (!t) continue;
      if (t.until > now) return true;
      this.heldFor.delete(id);
    }
    return false;
  }

  /** Another replica asked for a turn on instance `id`. Two that are both losing there now
   *  would wait for each other: then the one with the smaller writer id goes on. */
  private onAsk(id: string, writer: string): void {
    if (writer === this.o.writer) return;
    if (this.o.turnAfter > 0 && (this.lostInRow.get(id) ?? 0) >= this.o.turnAfter && this.o.writer < writer) return;
    if (!this.heldFor.has(id)) this.given++;
    this.heldFor.set(id, { to: writer, until: performance.now() + TURN_MS });
    this.arm();
  }

  /** Wakes the queue when the earliest turn given away runs out. */
  private arm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.heldFor.size === 0 || this.closed) return;
    let first = Infinity;
    for (const t of this.heldFor.values()) first = Math.min(first, t.until);
    this.timer = setTimeout(
      () => {
        const now = performance.now();
        for (const [id, t] of this.heldFor) if (t.until <= now) this.heldFor.delete(id);
        this.arm();
        this.o.wake();
      },
      Math.max(1, first - performance.now()),
    );
    this.timer.unref();
  }
}
