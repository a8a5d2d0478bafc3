// backend=builtin: the allocator runs inside the function and the package is its database.
// Each run starts from nothing: the package's space is applied, then every request in an
// order that makes a re-render identical:
//   1. static requests (spec.prefix), so no dynamic request takes their address;
//   2. requests that carry status.prefix (sticky hints), in package order: what the package
//      already records comes back unchanged;
//   3. new requests, in package order (lowest free first);
//   4. read-only lookups (nephio.org/action: get): the first thing the package holds (its
//      allocations, subnets, reserved addresses) whose labels match the selector; nothing
//      is reserved, and no match is an error.
// Releases need no work: what a package no longer requests is simply not replayed.
import { createIpam } from '../ipam/index.js';
import { lookupAllocation } from '../ipam/lookup-answer.js';
import type { Ipam, PrefixSpec } from '../ipam/types.js';
import { SpaceError, type Backend, type BackendRun, type Outcome, type VlanOutcome, type VlanRun } from './backend.js';
import { applyNetworks } from '../space/derive.js';
import { runVlanBuiltin } from './builtin-vlan.js';

function prefixLength(p: string): number {
  const i = p.indexOf('/');
  return i < 0 ? 128 : Number(p.slice(i + 1));
}

/**
 * Parents before children: aggregates, then every other prefix shortest first (package
 * order among equals). A prefix that breaks the nesting rules is then the one reported.
 */
export function spaceOrder(prefixes: PrefixSpec[]): PrefixSpec[] {
  const rank = (p: PrefixSpec): number => (p.kind === 'aggregate' ? 0 : 1);
  return prefixes
    .map((p, i) => ({ p, i }))
    .sort((a, b) => rank(a.p) - rank(b.p) || prefixLength(a.p.prefix) - prefixLength(b.p.prefix) || a.i - b.i)
    .map((x) => x.p);
}

export const BUILTIN_OPTIONS: readonly string[] = [];

export class BuiltinBackend implements Backend {
  constructor(private readonly make: () => Ipam = createIpam) {}

  async run(input: BackendRun): Promise<Outcome[]> {
    const ipam = this.make();
    const spaceErrors: { owner: string; error: Error }[] = [];
    for (const ni of input.space.networkInstances) {
      try {
        ipam.applyNetworkInstance(ni.ref, ni.prefixes, ni.owner);
      } catch (e) {
        spaceErrors.push({ owner: ni.owner, error: e as Error });
      }
    }
    for (const p of spaceOrder(input.space.prefixes)) {
      try {
        ipam.applyPrefix(p);
      } catch (e) {
        spaceErrors.push({ owner: p.owner, error: e as Error });
      }
    }
    const { networks = [], clusters = [] } = input.space;
    if (networks.length) spaceErrors.push(...applyNetworks(ipam, networks, clusters));
    if (spaceErrors.length) throw new SpaceError(spaceErrors);

    const reqs = input.requests;
    const lookups = input.lookups ?? [];
    const outcomes: Outcome[] = new Array(reqs.length);
    const passes: ((i: number) => boolean)[] = [
      (i) => !lookups[i] && reqs[i].prefix !== undefined,
      (i) => !lookups[i] && reqs[i].prefix === undefined && reqs[i].hint !== undefined,
      (i) => !lookups[i] && reqs[i].prefix === undefined && reqs[i].hint === undefined,
    ];
    for (const take of passes) {
      for (let i = 0; i < reqs.length; i++) {
        if (!take(i)) continue;
        try {
          outcomes[i] = { ok: true, allocation: ipam.allocate(reqs[i]) };
        } catch (e) {
          outcomes[i] = { ok: false, error: e as Error };
        }
      }
    }
    for (let i = 0; i < reqs.length; i++) {
      if (!lookups[i]) continue;
      try {
        outcomes[i] = { ok: true, allocation: lookupAllocation(ipam, reqs[i]) };
      } catch (e) {
        outcomes[i] = { ok: false, error: e as Error };
      }
    }
    return outcomes;
  }

  async runVlan(input: VlanRun): Promise<VlanOutcome[]> {
    return runVlanBuiltin(input);
  }

  async close(): Promise<void> {}
}

/** The builtin backend takes no settings; anything else in the config is a mistake worth naming. */
export function createBuiltinBackend(options: Record<string, unknown>): Backend {
  const unknown = Object.keys(options).filter((k) => !BUILTIN_OPTIONS.includes(k));
  if (unknown.length)
    throw new Error(
      `unknown setting${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (the builtin backend takes none: the function itself reads backend, dryRun, release, onError and injections; grpc settings need backend=grpc)`,
    );
  return new BuiltinBackend();
}
