// The operations the server logs: one record per request, holding every state change that
// request made, in order. Replaying the records on top of the snapshot they follow rebuilds
// the allocator's state. Allocations are logged with their result, and replay asks for
// exactly that result (as a sticky hint) and checks it, so a changed allocation policy in a
// newer version can never move an address that a client was already given.
import type { AllocationRequest, InstancePrefix, NetworkInstanceRef, PrefixSpec, Snapshot } from '../../ipam/types.js';
import type { VlanDefinition, VlanIndexRef, VlanIndexSpec, VlanRequest } from '../../vlan/types.js';

export type Op =
  | { op: 'applyNetworkInstance'; ref: NetworkInstanceRef; prefixes: InstancePrefix[]; owner: string }
  | { op: 'removeNetworkInstance'; ref: NetworkInstanceRef; force?: boolean }
  | { op: 'applyPrefix'; spec: PrefixSpec }
  | { op: 'removePrefix'; ni: NetworkInstanceRef; prefix: string; force?: boolean }
  /** `prefix`: the answer given (all replay needs to reproduce and check it). */
  | { op: 'allocate'; req: AllocationRequest; prefix: string }
  | { op: 'release'; owner: string; force?: boolean }
  // VLAN (src/vlan): `answer` is the id given (`100`) or the block (`100:199`).
  | { op: 'applyVlanIndex'; spec: VlanIndexSpec }
  | { op: 'removeVlanIndex'; index: VlanIndexRef; force?: boolean }
  | { op: 'applyVlanDefinition'; def: VlanDefinition }
  | { op: 'allocateVlan'; req: VlanRequest; answer: string }
  | { op: 'releaseVlan'; owner: string; force?: boolean };

export type OpName = Op['op'];

const VLAN_OPS: ReadonlySet<OpName> = new Set(['applyVlanIndex', 'removeVlanIndex', 'applyVlanDefinition', 'allocateVlan', 'releaseVlan']);
export const isVlanOp = (op: Op): boolean => VLAN_OPS.has(op.op);

/** What a store hands the server at start: a snapshot (or none) and the records after it. */
export interface DurableState {
  snapshot?: Snapshot;
  /** One entry per committed record, oldest first; each is one request's ops. */
  records: Op[][];
  /** Human-readable notes about what recovery found (torn tail truncated, ...). */
  report: RecoveryNote[];
}

export interface RecoveryNote {
  level: 'info' | 'warn' | 'error';
  msg: string;
  file?: string;
  offset?: number;
  bytes?: number;
}
