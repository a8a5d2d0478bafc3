// Public entry of the VLAN allocator: pure, synchronous, no I/O (like src/ipam).
import { IpamError } from '../ipam/errors.js';
import { VlanAllocator } from './allocator.js';
import type { VlanSnapshot, Vlans } from './types.js';

export type * from './types.js';
export { FIRST_USABLE, LAST_USABLE, RESERVED, isReserved } from './ids.js';

/** A new allocator with no index. */
export function createVlans(): Vlans {
  return new VlanAllocator();
}

/** An allocator holding exactly the state of `snap` (from `Vlans.snapshot()`). */
export function restoreVlans(snap: VlanSnapshot): Vlans {
  if (!snap || snap.version !== 1) {
    throw new IpamError('InvalidArgument', `unsupported VLAN snapshot version ${JSON.stringify(snap?.version)}: want 1`, {
      field: 'version',
    });
  }
  const v = new VlanAllocator();
  for (const x of snap.indexes ?? []) {
    v.applyIndex({
      index: { name: x.name, namespace: x.namespace },
      kind: x.kind,
      labels: x.labels,
      owner: x.owner,
      implied: x.implied === true,
    });
  }
  for (const a of snap.allocations ?? []) v.place(a);
  return v;
}
