// Public entry of the allocator: pure, synchronous, no I/O.

import { Allocator } from './ipam.js';
import { restore } from './snapshot.js';
import { restoreVlans } from '../vlan/index.js';
import type { Ipam, Snapshot } from './types.js';

export type * from './types.js';
export { IpamError, isIpamError } from './errors.js';
export type { IpamErrorCode, IpamErrorDetails } from './errors.js';
export { canonicalPrefix } from './addr.js';

/** A new, empty allocator. */
export function createIpam(): Ipam {
  return new Allocator();
}

/** An allocator holding exactly the state of `snapshot` (from `Ipam.snapshot()`). */
export function restoreIpam(snapshot: Snapshot): Ipam {
  return new Allocator(restore(snapshot), snapshot.vlan ? restoreVlans(snapshot.vlan) : undefined);
}
export { ownerLabels, gvkString, parseGvkString, OWNER_LABEL_KEYS } from './owner-labels.js';
