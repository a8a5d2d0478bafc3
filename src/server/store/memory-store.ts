// A store that keeps records in memory only: nothing survives the process. For tests, for
// comparing against the file store in benchmarks (what durability costs), and for servers
// whose state is rebuilt from packages anyway. Commits resolve on the next microtask; the
// record list is compacted into a snapshot now and then so it does not grow without bound.
import type { Snapshot } from '../../ipam/types.js';
import { LiveIpam } from '../live.js';
import type { DurableState, Op } from './ops.js';
import type { Store, StoreStats } from './store.js';

export class MemoryStore implements Store {
  readonly kind = 'memory';
  private snapshot: Snapshot | undefined;
  private records: Op[][] = [];
  readonly live: LiveIpam;
  private readonly compactRecords: number;
  private readonly counters: StoreStats = { commits: 0, records: 0, flushes: 0, bytes: 0, compactions: 0 };

  constructor(opts: { live?: LiveIpam; compactRecords?: number } = {}) {
    this.live = opts.live ?? new LiveIpam();
    this.compactRecords = opts.compactRecords ?? 100_000;
  }

  async open(): Promise<DurableState> {
    return this.state();
  }

  async load(): Promise<DurableState> {
    return this.state();
  }

  commit(ops: Op[]): Promise<void> {
    this.counters.commits++;
    if (ops.length > 0) {
      this.records.push(ops);
      this.counters.records++;
      if (this.records.length >= this.compactRecords && this.live.current) {
        // The live state equals every committed record right now (same tick as apply).
        this.snapshot = this.live.current.snapshot();
        this.records = [];
        this.counters.compactions++;
      }
    }
    return Promise.resolve();
  }

  stats(): StoreStats {
    return { ...this.counters };
  }

  async close(): Promise<void> {}

  private state(): DurableState {
    return { ...(this.snapshot ? { snapshot: this.snapshot } : {}), records: [...this.records], report: [] };
  }
}
