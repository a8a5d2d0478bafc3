// The allocator the server answers from, shared by the core, which builds it at start and
// replaces it after a reload, and by a store that reads it: the file and memory stores take
// compaction snapshots from it (when they have no compactor), the etcd store derives per-key
// state from it in commit(). The store gets it at construction and the core takes it from
// the store, so the two can never hold different ones and no store runs without it.
import type { Ipam } from '../ipam/types.js';

export class LiveIpam {
  /** Undefined until the core has rebuilt the state the store opened with. */
  current: Ipam | undefined;

  get(): Ipam {
    if (!this.current) throw new Error('the live allocator is read before the server rebuilt it from the store');
    return this.current;
  }
}
