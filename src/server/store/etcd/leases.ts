// Write leases: one replica commits for a network instance, the others forward its requests
// to that replica (src/server/peers.ts) instead of racing it for the instance's revision key.
// Each replica holds one etcd lease (TTL `ttlSeconds`, kept alive by the client) and attaches
// to it a peer key (`<root>/lease/peer/<writer>` = its peer address) and the instance keys it
// holds (`<root>/lease/ni/<ns>/<name>` = {"w": writer, "a": peer address}). When the replica
// dies or loses etcd, the lease expires and its keys go; another replica that writes the
// instance then claims it. Where free instances go is the placement: `pack` (the default)
// gives them to the replica that holds the most already, so one replica commits for all
// and its transactions are as full as etcd allows; `spread` gives them to the one that holds
// the fewest, so each replica commits for its share (docs/etcd.md, "Placement", says which
// to choose: on machines where CPU is shared, fewer, fuller transactions win).
//
// Leases only route requests: every commit still compares the instance's revision key, so a
// replica that believes it holds a lease it lost, or two that both think they hold one,
// cost lost races, never an address handed out twice.
import type { Etcd3, Lease, Watcher } from 'etcd3';
import type { RecoveryNote } from '../ops.js';
import { prefixEnd, type Keys } from './keys.js';

export interface Holder {
  writer: string;
  address: string;
}

/** Where free network instances go: to the replica holding the most (`pack`) or the
 *  fewest (`spread`). */
export type Placement = 'pack' | 'spread';
export const PLACEMENTS: readonly Placement[] = ['pack', 'spread'];

export interface LeasesOptions {
  keys: Keys;
  writer: string;
  /** this replica's peer address, as the others dial it */
  address: string;
  ttlSeconds: number;
  placement: Placement;
  onNote: (n: RecoveryNote) => void;
}

/** After a forward to a holder failed, commit here for this long before trying it again. */
const SUSPECT_MS = 3000;

export class Leases {
  private lease: Lease | undefined;
  private client: Etcd3 | undefined;
  private watcher: Watcher | undefined;
  /** instance -> holder, as etcd says */
  private readonly holders = new Map<string, Holder>();
  /** live replicas (peer keys): writer -> peer address */
  private readonly peers = new Map<string, string>();
  private readonly claiming = new Set<string>();
  /** writer -> until when forwards to it are not tried */
  private readonly suspects = new Map<string, number>();
  /** when etcd last confirmed our lease (performance.now) */
  private confirmedAt = 0;
  private closed = false;

  constructor(private readonly o: LeasesOptions) {}

  private get base(): string {
    return `${this.o.keys.base}lease/`;
  }

  async start(client: Etcd3): Promise<void> {
    this.client = client;
    await this.grant();
    // what is held now, then every change after it
    const res = await client.kv.range({ key: Buffer.from(this.base), range_end: prefixEnd(this.base) });
    for (const kv of res.kvs) this.onPut(kv.key.toString(), kv.value);
    const w = await client
      .watch()
      .prefix(this.base)
      .startRevision(String(Number(res.header.revision) + 1))
      .create();
    this.watcher = w;
    w.on('put', (kv: { key: Buffer; value: Buffer }) => this.onPut(kv.key.toString(), kv.value));
    w.on('delete', (kv: { key: Buffer }) => this.onDelete(kv.key.toString()));
  }

  /** Where commits on instance `id` go: another replica, or undefined to commit here (this
   *  replica holds it, or the replica it would go to just failed a forward). An instance nobody
   *  holds yet goes where the placement will put it: with pack, to the replica holding the
   *  most, which claims it on arrival; racing it meanwhile would only cost lost races. */
  route(id: string): Holder | undefined {
    const h = this.holders.get(id) ?? this.freeTarget(id);
    if (!h || h.writer === this.o.writer) return undefined;
    const until = this.suspects.get(h.writer);
    if (until !== undefined) {
      if (until > performance.now()) return undefined;
      this.suspects.delete(h.writer);
    }
    return h;
  }

  /** Whether a forward for instance `id` is committed here: this replica holds it, or nobody
   *  does and it claims it now. */
  accepts(id: string): boolean {
    if (this.closed || !this.alive()) return false;
    const h = this.holders.get(id);
    if (h) return h.writer === this.o.writer;
    this.claim(id);
    return true;
  }

  /** A free instance: claimed here when the placement says so, else (pack) the replica that
   *  will take it. */
  private freeTarget(id: string): Holder | undefined {
    this.claim(id);
    if (this.o.placement !== 'pack') return undefined;
    const most = this.mostHolding();
    if (!most || most === this.o.writer) return undefined;
    const address = this.peers.get(most);
    return address ? { writer: most, address } : undefined;
  }

  /** The live replica holding the most instances (undefined when none holds any). */
  private mostHolding(): string | undefined {
    let best: string | undefined;
    let most = 0;
    for (const [w, n] of this.heldCounts()) {
      if (!this.peers.has(w) || n === 0) continue;
      if (n > most || (n === most && w < best!)) [best, most] = [w, n];
    }
    return best;
  }

  /** Replica -> instances it holds: every live replica (0 for none) and every holder. */
  private heldCounts(): Map<string, number> {
    const count = new Map<string, number>([...this.peers.keys()].map((w) => [w, 0]));
    for (const h of this.holders.values()) count.set(h.writer, (count.get(h.writer) ?? 0) + 1);
    return count;
  }

  /** A forward to `writer` failed: commit here for a while. */
  suspect(writer: string): void {
    this.suspects.set(writer, performance.now() + SUSPECT_MS);
  }

  /** Gives the instances back at once (a clean shutdown: the others need not wait for the
   *  TTL). */
  async close(): Promise<void> {
    this.closed = true;
    const w = this.watcher;
    this.watcher = undefined;
    if (w) await w.cancel().catch(() => {});
    await this.lease?.revoke().catch(() => {});
  }

  private alive(): boolean {
    return this.lease !== undefined && performance.now() - this.confirmedAt < (this.o.ttlSeconds * 1000 * 2) / 3;
  }

  private async grant(): Promise<void> {
    const lease = this.client!.lease(this.o.ttlSeconds);
    this.lease = lease;
    await lease.grant();
    this.confirmedAt = performance.now();
    lease.on('keepaliveSucceeded', () => (this.confirmedAt = performance.now()));
    lease.on('lost', (e: Error) => {
      if (this.lease !== lease || this.closed) return;
      this.lease = undefined;
      this.o.onNote({ level: 'warn', msg: `etcd: write lease lost (${e.message}); committing optimistically until a new one is granted` });
      setTimeout(() => void this.grant().catch(() => {}), 1000).unref();
    });
    await lease.put(`${this.base}peer/${this.o.writer}`).value(this.o.address);
  }

  /** Claims a free instance when the placement gives it to this replica (ties: etcd's
   *  create-if-absent decides). */
  private claim(id: string): void {
    const lease = this.lease;
    // one claim at a time, so that counts are current when the next instance is claimed
    if (!lease || this.claiming.size > 0 || this.closed || !this.alive()) return;
    const count = this.heldCounts();
    const mine = count.get(this.o.writer) ?? 0;
    for (const [w, n] of count) if (w !== this.o.writer && (this.o.placement === 'pack' ? n > mine : n < mine)) return;
    this.claiming.add(id);
    const key = Buffer.from(`${this.base}ni/${id}`);
    const value = Buffer.from(JSON.stringify({ w: this.o.writer, a: this.o.address }));
    void lease
      .grant()
      .then((leaseId) =>
        this.client!.kv.txn({
          compare: [{ key, target: 'Create', result: 'Equal', create_revision: 0 }],
          success: [{ request_put: { key, value, lease: leaseId } }],
          failure: [],
        }),
      )
      .catch(() => {})
      .finally(() => this.claiming.delete(id));
  }

  private onPut(key: string, value: Buffer): void {
    const rest = key.slice(this.base.length);
    if (rest.startsWith('peer/')) this.peers.set(rest.slice(5), value.toString());
    else if (rest.startsWith('ni/')) {
      try {
        const v = JSON.parse(value.toString()) as { w: string; a: string };
        this.holders.set(rest.slice(3), { writer: v.w, address: v.a });
      } catch {
        this.holders.delete(rest.slice(3));
      }
    }
  }

  private onDelete(key: string): void {
    const rest = key.slice(this.base.length);
    if (rest.startsWith('peer/')) this.peers.delete(rest.slice(5));
    else if (rest.startsWith('ni/')) this.holders.delete(rest.slice(3));
  }
}
