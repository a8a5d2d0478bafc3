// Requests that define a prefix (createPrefix with a prefix, docs/semantics.md "Requests that
// create prefixes"): the request becomes an IPPrefix owned by its owner, so address notation
// (10.0.0.1/24) creates the subnet and reserves that address (the gateway when its labels
// say so), exactly as an IPPrefix would. This is how the original's controllers send their
// IPPrefixes. Kind aggregate is not handled here: an aggregate request must lie inside an
// aggregate and goes through the static allocation path.

import { formatAddr, maskTo, parseCidr } from './addr.js';
import { IpamError } from './errors.js';
import { L_NETWORK_NAME } from './labels.js';
import { applyPrefix, parseField } from './prefixes.js';
import type { IpamState } from './state.js';
import type { Allocation, AllocationRequest } from './types.js';
import { KIND_CODE } from './state.js';

/** True when `req` defines a prefix rather than allocating from one. */
export const definesPrefix = (req: AllocationRequest): boolean =>
  req.createPrefix === true && typeof req.prefix === 'string' && req.prefix !== '' && req.kind !== 'aggregate';

/**
 * Applies (or, dry, answers without applying) the prefix `req` defines. `releaseOther`
 * frees what the owner held before when it is not this very prefix (a changed request).
 */
export function definePrefix(state: IpamState, req: AllocationRequest, dry: boolean, releaseOther: () => void): Allocation {
  const inst = state.instance(req.networkInstance);
  const c = parseField(req.prefix, 'spec.prefix', inst);
  const width = c.v6 ? 128 : 32;
  if (c.len === width) {
    throw new IpamError(
      'InvalidArgument',
      `createPrefix: ${req.prefix} is a single address, not a prefix to create (network instance ${inst.key})`,
      { networkInstance: inst.key, prefix: req.prefix, field: 'spec.prefix' },
    );
  }
  if (req.prefixLength !== undefined && req.prefixLength !== c.len) {
    throw new IpamError(
      'InvalidArgument',
      `prefixLength ${req.prefixLength} contradicts prefix ${req.prefix} (network instance ${inst.key})`,
      { networkInstance: inst.key, prefix: req.prefix, field: 'spec.prefixLength' },
    );
  }
  const canon = formatAddr(c.v6, c.w) + '/' + c.len;
  const kind = KIND_CODE[req.kind];
  const held = state.specsByOwner.get(req.owner);
  const same =
    state.owners.get(req.owner) === undefined &&
    held?.size === 1 &&
    [...held].every((s) => s.canon === canon && s.kind === kind && s.inst === inst.id);
  if (!same && (held || state.owners.get(req.owner) !== undefined)) {
    if (dry) return answer(state, req, canon, undefined);
    releaseOther();
  }
  if (dry && !same) return answer(state, req, canon, undefined);
  // the network a defined subnet belongs to travels as its nephio.org/network-name label
  const networkName = req.labels?.[L_NETWORK_NAME];
  const rec = applyPrefix(state, {
    networkInstance: req.networkInstance,
    prefix: req.prefix!,
    kind: req.kind,
    owner: req.owner,
    ...(req.labels ? { labels: req.labels } : {}),
    ...(networkName ? { networkName } : {}),
  });
  return answer(state, req, canon, state.meta.get(rec.row)?.gateway);
}

function answer(state: IpamState, req: AllocationRequest, canon: string, gateway: string | undefined): Allocation {
  const inst = state.instance(req.networkInstance);
  const c = parseCidr(canon);
  const net = new Uint32Array(c.w);
  maskTo(net, c.len, c.v6);
  const a: Allocation = {
    owner: req.owner,
    networkInstance: inst.ref,
    kind: req.kind,
    addressFamily: c.v6 ? 'ipv6' : 'ipv4',
    prefix: canon,
    parent: formatAddr(c.v6, net) + '/' + c.len,
    labels: req.labels ?? {},
  };
  if (gateway && req.kind === 'network') a.gateway = gateway;
  return a;
}
