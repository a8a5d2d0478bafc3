// Step 2 of a run: what the package held last time (its Kptfile conditions) against what it
// asks for now -> which requests to answer, which owners to release, and which conditions
// change. Plain data in, plain data out; nothing is asked of a backend here.
import { conditionType, heldOwners, parseConditionType } from './conditions.js';
import type { FnConfig } from './config.js';
import { markedForDeletion } from './nephio.js';
import type { PackageContents, Recorded } from './read-package.js';
import type { RequestResource } from './requests.js';
import { asObj, str } from './resource.js';
import type { VlanResource } from './vlan-requests.js';

export interface RunPlan {
  /** Every request the Kptfile records a condition for, IP requests first. */
  recorded: Recorded[];
  /** Each recorded request's condition type. */
  conditionTypes: Map<Recorded, string>;
  /** Condition type -> its index among the root Kptfile's conditions (the first, if repeated). */
  heldConditions: Map<string, number>;
  /** Indexes of the root Kptfile's conditions whose requests are gone. */
  vanished: number[];
  /** Owners to release. */
  release: Set<string>;
  /** Requests marked for deletion (specializer.nephio.org/delete): released, not answered. */
  deleting: Set<RequestResource>;
  /** Requests to answer. */
  active: RequestResource[];
  vlanActive: VlanResource[];
}

export function planRun(pkg: PackageContents, cfg: FnConfig): RunPlan {
  const { requests, vlanRequests, root } = pkg;
  const recorded: Recorded[] = [...requests, ...vlanRequests];
  const conditionTypes = new Map<Recorded, string>();
  for (const r of recorded) conditionTypes.set(r, conditionType(r.generation, r.meta));
  const liveTypes = new Set(conditionTypes.values());
  const namespaces = new Set(recorded.map((r) => r.meta.namespace ?? 'default'));
  const liveOwners = new Set(recorded.map((r) => r.owner));
  const vanished: number[] = [];
  const release = new Set<string>();
  const heldConditions = new Map<string, number>();
  root?.conditions.forEach((c, i) => {
    const type = str(asObj(c)?.type);
    const held = type ? parseConditionType(type) : undefined;
    if (!type || !held) return;
    if (!heldConditions.has(type)) heldConditions.set(type, i);
    if (cfg.releaseAll || !liveTypes.has(type)) {
      vanished.push(i);
      for (const o of heldOwners(held, namespaces)) if (cfg.releaseAll || !liveOwners.has(o)) release.add(o);
    }
  });
  if (cfg.releaseAll) for (const o of liveOwners) release.add(o);
  const deleting = new Set(requests.filter(markedForDeletion));
  for (const r of deleting) release.add(r.owner);
  const active = cfg.releaseAll ? [] : requests.filter((r) => !deleting.has(r));
  const vlanActive = cfg.releaseAll ? [] : vlanRequests;
  return { recorded, conditionTypes, heldConditions, vanished, release, deleting, active, vlanActive };
}

/** VLANClaim and VLANAllocation owners (`ns/Kind/name`) are released by the VLAN backend. */
export const isVlanOwner = (o: string): boolean => /\/(VLANClaim|VLANAllocation)\//.test(o);
