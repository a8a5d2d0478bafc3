// The VLAN claim backend of the resource protocol and the 2023 alloc rpcs (claims.ts routes
// vlan.resource.nephio.org and vlan.alloc.nephio.org here), as the original's
// pkg/backend/vlan serves them: CreateIndex opens a VLANIndex (VLANDatabase), Claim takes a
// VLANClaim (VLANAllocation) or an operator's VLAN, GetClaim finds what the claim holds (by
// vlanClaimName, else by owner), DeleteClaim frees it. Owners come from the header, as for IP.
import { authorizePackage } from '../auth.js';
import type { Tx } from '../core.js';
import { decodeClaimHeader, parseObject } from '../../protocol/resource.js';
import { asPackage, StatusError } from '../../protocol/status.js';
import { invalid } from '../../protocol/validate.js';
import { decodeVlanClaim, decodeVlanIndex, vlanApiOf, vlanClaimResponse, type VlanApi } from '../../protocol/vlan-claims.js';
import type { ClaimRequest } from '../../protocol/messages.js';
import type { VlanIndexRef } from '../../vlan/types.js';
import { status } from '@grpc/grpc-js';
import type { ClaimBackend } from './claim-backend.js';
import type { ServiceContext } from './context.js';

function apiOf(r: ClaimRequest): VlanApi {
  const api = vlanApiOf(r.header?.gvk?.group);
  if (!api) throw invalid('header.gvk.group', `${JSON.stringify(r.header?.gvk?.group ?? '')} is not a VLAN group`);
  return api;
}

const findIndex = (tx: Tx, ref: VlanIndexRef) =>
  tx.ipam.vlan.listIndexes().find((x) => x.name === ref.name && x.namespace === (ref.namespace || 'default'));

export function vlanBackend(ctx: ServiceContext): ClaimBackend {
  const L = ctx.limits;
  return {
    async createIndex(r, p) {
      const { id, spec, ownClient } = decodeVlanIndex(r, L, apiOf(r));
      authorizePackage(p, id.package);
      await asPackage(id.package, () =>
        ctx.core.mutate((tx) => {
          // The original's CreateIndex only opens the index: one that exists stays as it is
          // unless this call defines something (labels, a device index) or comes from our client.
          const plain = !spec.labels && spec.kind === 'esg';
          if (findIndex(tx, spec.index) && !ownClient && plain) return;
          tx.applyVlanIndex({ ...spec, owner: id.owner });
        }, p.scope),
      );
    },
    async deleteIndex(r, p) {
      const { id, spec } = decodeVlanIndex(r, L, apiOf(r));
      authorizePackage(p, id.package);
      await asPackage(id.package, () =>
        ctx.core.mutate((tx) => {
          // identical definitions from several owners are one index: only its owner removes it
          // (refused while claims hold ids in it); anyone else's definition simply goes
          if (findIndex(tx, spec.index)?.owner === id.owner) tx.removeVlanIndex(spec.index);
        }, p.scope),
      );
    },
    async claim(r, p) {
      const d = decodeVlanClaim(r, L, apiOf(r));
      authorizePackage(p, d.id.package);
      const a = await asPackage(d.id.package, () =>
        ctx.core.mutate((tx) => (d.definition ? tx.applyVlanDefinition(d.definition) : tx.allocateVlan(d.req)), p.scope),
      );
      return vlanClaimResponse(r, d.parsed, a);
    },
    async getClaim(r, p) {
      const d = decodeVlanClaim(r, L, apiOf(r));
      authorizePackage(p, d.id.package);
      const a = await asPackage(d.id.package, () =>
        ctx.core.query((ipam) => {
          if (d.definition) {
            const held = ipam.vlan.get(d.id.owner);
            if (!held) throw new StatusError(status.NOT_FOUND, `VLAN ${d.id.nsn.namespace}/${d.id.nsn.name} is not defined`);
            return held;
          }
          return ipam.vlan.lookup(d.req);
        }),
      );
      return vlanClaimResponse(r, d.parsed, a);
    },
    async deleteClaim(r, p) {
      const api = apiOf(r);
      const id = decodeClaimHeader(r.header, L, api.claimKind);
      // the object is checked (bad JSON is an error) but only the header names the owner
      parseObject(r.spec, L, [api.claimKind]);
      authorizePackage(p, id.package);
      await asPackage(id.package, () => ctx.core.mutate((tx) => void tx.releaseVlan(id.owner), p.scope));
    },
  };
}
