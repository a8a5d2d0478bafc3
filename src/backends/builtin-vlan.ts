// backend=builtin for VLAN claims: a fresh VLAN allocator per run, the package is its database.
// Order, as for IP (builtin.ts): explicit indexes, then the ones WorkloadClusters imply (only
// where none is given), then the operator's VLAN definitions; then static claims (vlanID,
// range start:end), claims that carry a status (sticky), new claims in package order, and
// last the read-only lookups.
import { createVlans } from '../vlan/index.js';
import type { VlanRequest, Vlans } from '../vlan/types.js';
import { SpaceError, type VlanOutcome, type VlanRun } from './backend.js';

const isStatic = (r: VlanRequest): boolean => r.vlanID !== undefined || (typeof r.range === 'string' && r.range.includes(':'));

export function runVlanBuiltin(input: VlanRun, make: () => Vlans = createVlans): VlanOutcome[] {
  const v = make();
  const spaceErrors: { owner: string; error: Error }[] = [];
  const attempt = (owner: string, f: () => unknown) => {
    try {
      f();
    } catch (e) {
      spaceErrors.push({ owner, error: e as Error });
    }
  };
  const { indexes, definitions } = input.space;
  for (const x of indexes) if (!x.implied) attempt(x.owner, () => v.applyIndex(x));
  for (const x of indexes) if (x.implied) attempt(x.owner, () => v.applyIndex(x));
  for (const d of definitions) attempt(d.owner, () => v.applyDefinition(d));
  if (spaceErrors.length) throw new SpaceError(spaceErrors);

  const reqs = input.requests;
  const lookups = input.lookups ?? [];
  const out: VlanOutcome[] = new Array(reqs.length);
  const answer = (i: number, f: () => ReturnType<Vlans['allocate']>) => {
    try {
      out[i] = { ok: true, allocation: f() };
    } catch (e) {
      out[i] = { ok: false, error: e as Error };
    }
  };
  const passes: ((r: VlanRequest) => boolean)[] = [
    isStatic,
    (r) => !isStatic(r) && r.hint !== undefined,
    (r) => !isStatic(r) && r.hint === undefined,
  ];
  for (const take of passes) {
    reqs.forEach((r, i) => {
      if (!lookups[i] && take(r)) answer(i, () => v.allocate(r));
    });
  }
  reqs.forEach((r, i) => {
    if (lookups[i]) answer(i, () => v.lookup(r));
  });
  return out;
}
