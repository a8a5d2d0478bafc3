// backend=grpc, protocol=resource or alloc2023: a package's VLAN claims, one call per item, as
// the original's VLAN client proxy sends them (protocol/vlan-claims.ts has the objects). Space
// first (indexes, explicit before the ones WorkloadClusters imply; then the operator's VLANs),
// then releases, then claims in the builtin backend's passes, so every backend answers a
// package alike.
import type { VlanAllocation, VlanIndexRef, VlanRequest } from '../vlan/types.js';
import type { ClaimRequest, ClaimResponse } from '../protocol/messages.js';
import {
  encodeVlanClaim,
  encodeVlanDefinition,
  encodeVlanIndex,
  encodeVlanRelease,
  readVlanStatus,
  type VlanApi,
} from '../protocol/vlan-claims.js';
import { SpaceError, type VlanOutcome, type VlanRun } from './backend.js';

/** The rpcs of one generation, by role. */
export interface VlanRpcs {
  createIndex: string;
  claim: string;
  get: string;
  del: string;
}

export type CallFn = <Res>(method: string, req: ClaimRequest, what: string) => Promise<Res>;

export class PerItemVlan {
  constructor(
    private readonly call: CallFn,
    private readonly rpcs: VlanRpcs,
    private readonly api: VlanApi,
    private readonly pkg: string | undefined,
    private readonly protocol: string,
  ) {}

  async run(input: VlanRun): Promise<VlanOutcome[]> {
    if (input.dryRun) return this.dryRun(input);
    const errors: { owner: string; error: Error }[] = [];
    const indexes = [...input.space.indexes].sort((a, b) => Number(!!a.implied) - Number(!!b.implied));
    for (const x of indexes)
      await this.call(this.rpcs.createIndex, encodeVlanIndex(x, this.pkg, this.api), x.owner).catch((e: Error) =>
        errors.push({ owner: x.owner, error: e }),
      );
    for (const d of input.space.definitions)
      await this.call(this.rpcs.claim, encodeVlanDefinition(d, this.pkg, this.api), d.owner).catch((e: Error) =>
        errors.push({ owner: d.owner, error: e }),
      );
    // a released claim is named by its owner only; the server also needs its index, which
    // is the package's when the package names exactly one
    const sole = soleIndex(input);
    for (const o of input.release)
      await this.call(this.rpcs.del, encodeVlanRelease(o, this.pkg, this.api, sole), o).catch((e: Error) =>
        errors.push({ owner: o, error: e }),
      );
    if (errors.length) throw new SpaceError(errors);
    const lookup = (i: number) => input.lookups?.[i] ?? false;
    const pass = (r: VlanRequest, i: number) =>
      lookup(i) ? 3 : r.vlanID !== undefined || r.range?.includes(':') ? 0 : r.hint !== undefined ? 1 : 2;
    const outcomes: VlanOutcome[] = new Array(input.requests.length);
    for (let p = 0; p < 4; p++) {
      for (const [i, r] of input.requests.entries()) {
        if (pass(r, i) !== p) continue;
        try {
          outcomes[i] = { ok: true, allocation: await this.one(r, lookup(i)) };
        } catch (e) {
          outcomes[i] = { ok: false, error: e as Error };
        }
      }
    }
    return outcomes;
  }

  /** These protocols cannot evaluate a claim without taking it: answer lookups, show recorded ids. */
  private async dryRun(input: VlanRun): Promise<VlanOutcome[]> {
    const out: VlanOutcome[] = [];
    for (const [i, r] of input.requests.entries()) {
      if (input.lookups?.[i]) {
        try {
          out.push({ ok: true, allocation: await this.one(r, true) });
        } catch (e) {
          out.push({ ok: false, error: e as Error });
        }
        continue;
      }
      if (r.hint !== undefined) {
        out.push({ ok: true, allocation: answer(r, r.range !== undefined ? { vlanRange: r.hint } : { vlanID: Number(r.hint) }) });
        continue;
      }
      out.push({
        ok: false,
        error: new Error(
          `protocol ${this.protocol} cannot evaluate a dry run without claiming on the server; run without dryRun, or use protocol admin`,
        ),
      });
    }
    return out;
  }

  private async one(r: VlanRequest, lookup: boolean): Promise<VlanAllocation> {
    const res = await this.call<ClaimResponse>(
      lookup ? this.rpcs.get : this.rpcs.claim,
      encodeVlanClaim(r, this.pkg, this.api, lookup),
      r.owner,
    );
    let st: { vlanID?: number; vlanRange?: string };
    try {
      st = readVlanStatus(res.status);
    } catch (e) {
      throw new Error(`${r.owner}: ${(e as Error).message}`);
    }
    if (st.vlanID === undefined && st.vlanRange === undefined)
      throw new Error(`${r.owner}: the server answered no status.vlanID or status.vlanRange`);
    return answer(r, st);
  }
}

function answer(r: VlanRequest, st: { vlanID?: number; vlanRange?: string }): VlanAllocation {
  const a: VlanAllocation = {
    owner: r.owner,
    index: { name: r.index.name, namespace: r.index.namespace || 'default' },
    labels: { ...(r.labels ?? {}) },
  };
  if (st.vlanRange !== undefined) a.vlanRange = st.vlanRange;
  else a.vlanID = st.vlanID;
  if (r.claim !== undefined) a.claim = r.claim;
  return a;
}

/** The one VLAN index a package names (indexes or claims), if there is exactly one. */
function soleIndex(input: VlanRun): VlanIndexRef | undefined {
  const refs = new Map<string, VlanIndexRef>();
  const add = (r: VlanIndexRef) => refs.set(`${r.namespace || 'default'}/${r.name}`, { name: r.name, namespace: r.namespace || 'default' });
  for (const x of input.space.indexes) add(x.index);
  for (const r of input.requests) add(r.index);
  return refs.size === 1 ? [...refs.values()][0] : undefined;
}
