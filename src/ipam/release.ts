// Releasing an owner: its allocation, the prefixes it defined and the network instances it
// owns, all at once, unless other owners still hold something inside them.

import { rowAllocation } from './output.js';
import { dependentsError, dropWholeInstance, instanceDependents, removeSpecNow, specDependents } from './prefixes.js';
import { RowType } from './rows.js';
import type { Instance, IpamState, SpecRec } from './state.js';
import type { Allocation, ReleaseOptions } from './types.js';

/** Frees everything `owner` holds; returns the allocations freed (its own and, when forced, others'). */
export function release(state: IpamState, owner: string, opts?: ReleaseOptions): Allocation[] {
  const held = state.owners.get(owner);
  const ownedSpecs = state.specsByOwner.get(owner);
  const ownedInsts = state.instancesByOwner.get(owner);
  if (held !== undefined && !ownedSpecs && !ownedInsts && state.rows.isHost(held) && state.rows.type(held) === RowType.Alloc) {
    // the common case: one address, nothing can depend on it
    const a = rowAllocation(state, held, owner);
    state.releaseHost(held, owner);
    return [a];
  }
  const specs = [...(ownedSpecs ?? [])];
  const insts = [...(ownedInsts ?? [])];
  if (!opts?.force || opts.forceOnly) refuseWhileDepended(state, owner, held, specs, insts, opts?.force ? opts.forceOnly : undefined);
  const freed: Allocation[] = [];
  const record = (r: number) => void freed.push(rowAllocation(state, r));
  if (held !== undefined) state.purge(held, true, record);
  for (const s of specs) removeSpecNow(state, s, record);
  for (const i of insts) if (state.instances[i.id] === i) dropWholeInstance(state, i, record);
  return freed;
}

/**
 * FailedPrecondition naming the other owners whose allocations or prefixes lie inside what
 * `owner` holds; with `forceOnly` (a forced release), only those it does not allow to be freed.
 */
function refuseWhileDepended(
  state: IpamState,
  owner: string,
  held: number | undefined,
  specs: SpecRec[],
  insts: Instance[],
  forceOnly: ((owner: string) => boolean) | undefined,
): void {
  const except = new Set([owner]);
  const deps = new Set<string>();
  if (held !== undefined) state.dependents(held, except, deps);
  for (const s of specs) specDependents(state, s, except, deps);
  for (const i of insts) instanceDependents(state, i, except, deps);
  if (forceOnly) for (const d of deps) if (forceOnly(d)) deps.delete(d);
  if (deps.size === 0) return;
  const inst = state.instances[held !== undefined ? state.rows.inst(held) : specs.length ? specs[0].inst : insts[0].id]!;
  throw dependentsError(`what ${owner} holds`, inst, deps);
}
