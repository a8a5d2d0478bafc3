// Rebuilding the allocator from what a store holds: a snapshot, then every logged op in
// order. The server does it at start (and replicas after a lost race); the file store's
// compactor does it off the event loop to write a new snapshot without touching live state.
import type { Ipam, Snapshot } from '../ipam/types.js';
import type { VlanAllocation } from '../vlan/types.js';
import type { DurableState, Op } from './store/ops.js';

export type IpamFactory = (snapshot?: Snapshot) => Ipam;

export class ReplayError extends Error {
  override readonly name = 'ReplayError';
}

/** Applies one logged op during recovery; allocations must come out as they were given. */
export function replayOp(ipam: Ipam, op: Op): void {
  switch (op.op) {
    case 'applyNetworkInstance':
      ipam.applyNetworkInstance(op.ref, op.prefixes, op.owner);
      return;
    case 'removeNetworkInstance':
      ipam.removeNetworkInstance(op.ref, op.force ? { force: true } : {});
      return;
    case 'applyPrefix':
      ipam.applyPrefix(op.spec);
      return;
    case 'removePrefix':
      ipam.removePrefix(op.ni, op.prefix, op.force ? { force: true } : {});
      return;
    case 'release':
      ipam.release(op.owner, op.force ? { force: true } : {});
      return;
    case 'applyVlanIndex':
      ipam.vlan.applyIndex(op.spec);
      return;
    case 'removeVlanIndex':
      ipam.vlan.removeIndex(op.index, op.force ? { force: true } : {});
      return;
    case 'applyVlanDefinition':
      ipam.vlan.applyDefinition(op.def);
      return;
    case 'releaseVlan':
      ipam.vlan.release(op.owner, op.force ? { force: true } : {});
      return;
    case 'allocateVlan': {
      // as for addresses: exactly the logged answer, whatever the policy of this version
      const got = vlanAnswer(ipam.vlan.allocate({ ...op.req, hint: op.answer }));
      if (got !== op.answer) throw new ReplayError(`replay of ${op.req.owner} gave VLAN ${got}, the log says ${op.answer} was handed out`);
      return;
    }
    case 'allocate': {
      // Ask for exactly the logged answer (sticky hint): replay must not depend on the
      // allocation policy of the version that reads the log.
      const got = ipam.replayAllocation(op.req, op.prefix);
      if (got.prefix !== op.prefix) {
        throw new ReplayError(`replay of ${op.req.owner} gave ${got.prefix}, the log says ${op.prefix} was handed out`);
      }
      return;
    }
  }
}

/** A VLAN answer as logged: the id, or the block `start:end`. */
export const vlanAnswer = (a: VlanAllocation): string => a.vlanRange ?? String(a.vlanID);

/** The allocator a store's durable state describes. */
export function rebuild(state: DurableState, createIpam: IpamFactory): Ipam {
  const ipam = createIpam(state.snapshot);
  let n = 0;
  for (const record of state.records) {
    for (const op of record) {
      try {
        replayOp(ipam, op);
      } catch (e) {
        if (e instanceof ReplayError) throw e;
        throw new ReplayError(`replay of record ${n} (${op.op}) failed: ${(e as Error).message}`);
      }
    }
    n++;
  }
  return ipam;
}
