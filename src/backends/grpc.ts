// backend=grpc: the function as a client of an IPAM server. Four protocols:
// - admin (default, our own server): the whole package in one Batch call and one durable
//   commit on the server;
// - alloc: the original alloc.Allocation protocol, one call per item;
// - resource: Nephio's resource.Resource protocol, one call per item;
// - alloc2023: the 2023 alloc.Allocation (resource.Resource's objects, alloc's service), one
//   call per item.
// The package's NetworkInstance/IPPrefix resources are applied as space owned by the package,
// requests carry the package identity (owner scope), and owners the package no longer
// requests are released (DeAllocation / DeleteClaim / DeleteIndex).
// Calls have a deadline each and are retried on UNAVAILABLE only, by the connection (every call is
// idempotent per owner, so a retry after a lost answer gets the same answer).
import type { ServiceError } from '@grpc/grpc-js';
import { networkResource } from '../space/read.js';
import { SpaceError, type Backend, type BackendRun, type Outcome, type PackageSpace, type VlanOutcome, type VlanRun } from './backend.js';
import type { Allocation, AllocationRequest } from '../ipam/types.js';
import { canonicalPrefix } from '../ipam/addr.js';
import { IpamError } from '../ipam/errors.js';
import { AdminClient } from '../protocol/admin-client.js';
import { bool, GrpcConnection, type ConnectionOptions } from '../protocol/connection.js';
import { encodeAllocNetworkInstance, encodeAllocPrefix, encodeAllocRelease, encodeAllocRequest } from '../protocol/alloc.js';
import { fromWAllocation, fromWError, toWAllocationRequest, toWPrefixSpec, toWRef } from '../protocol/admin.js';
import type { AllocResponse, ClaimResponse, WBatchResponse, WError } from '../protocol/messages.js';
import {
  ALLOC2023_API,
  encodeAggregateClaims,
  encodeClaim,
  encodeIndex,
  encodePrefixClaim,
  encodeRelease,
  readClaimStatus,
  RESOURCE_API,
} from '../protocol/resource.js';
import { fromServiceError } from '../protocol/status.js';
import { BACKEND_SETTINGS } from './settings.js';
import { fromWVlanClaim, toWVlanClaimRequest, toWVlanRef, type WVlanBatchRequest, type WVlanBatchResponse } from '../protocol/vlan.js';
import { VLAN_ALLOC_API, VLAN_RESOURCE_API } from '../protocol/vlan-claims.js';
import { PerItemVlan, type CallFn } from './grpc-vlan.js';

export type GrpcProtocol = 'admin' | 'alloc' | 'alloc2023' | 'resource';
const PROTOCOLS: readonly GrpcProtocol[] = ['admin', 'alloc', 'alloc2023', 'resource'];

export interface GrpcBackendOptions extends ConnectionOptions {
  /** Default admin. Env IPAM_INJECTOR_PROTOCOL. */
  protocol?: GrpcProtocol | string;
  /** Package identity (required): the owner scope of everything this package holds on the
   *  server. Env IPAM_INJECTOR_PACKAGE. */
  package?: string;
  /** alloc/resource: calls in flight at once (default 1: requests answered in package order). */
  concurrency?: number | string;
  /** admin: also release whatever the package holds on the server and no longer requests or defines. */
  prune?: boolean | string;
}

// `env` is for programs that call the backend directly, not for configs.
const KNOWN_OPTIONS = new Set([...BACKEND_SETTINGS.grpc, 'env']);

export { SpaceError };

/** The function's config passes its backend settings here as they are (strings from a
 *  ConfigMap, typed values from IPAMInjector); an unknown key is an error naming it. */
export function createGrpcBackend(options: GrpcBackendOptions): Backend {
  for (const k of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(k))
      throw new Error(`unknown grpc backend setting "${k}" (known: ${[...KNOWN_OPTIONS].filter((x) => x !== 'env').join(', ')})`);
  }
  if (options.env !== undefined && (typeof options.env !== 'object' || options.env === null))
    throw new Error('grpc backend setting "env" is for programs, not configs');
  const env = options.env ?? process.env;
  const protocol = (options.protocol || env.IPAM_INJECTOR_PROTOCOL || 'admin') as GrpcProtocol;
  if (!PROTOCOLS.includes(protocol)) {
    throw new Error(`protocol "${protocol}" is not one of ${PROTOCOLS.join(', ')}`);
  }
  const conn = new GrpcConnection(options);
  const pkg = options.package || env.IPAM_INJECTOR_PACKAGE || undefined;
  // Without a package identity, two packages with a same-named claim would be one owner on
  // the server and share its address: refuse rather than hand an address out twice.
  if (!pkg) {
    throw new Error(
      'backend grpc needs package=<identity>: the owner scope of this package on the shared server (for example its namespace/name); set it in the function config or IPAM_INJECTOR_PACKAGE',
    );
  }
  const concurrency = Math.max(1, Number(options.concurrency ?? 1));
  const prune = bool(options.prune);
  const backend = protocol === 'admin' ? new AdminBatch(new AdminClient(conn), pkg, prune) : new PerItem(conn, pkg, protocol, concurrency);
  return {
    run: (input) => backend.run(input),
    runVlan:
      backend instanceof AdminBatch ? (input: VlanRun) => backend.runVlan(input) : vlanRunner(conn, pkg, protocol as PerItemProtocol),
    close: async () => conn.close(),
  };
}

/** VLAN claims over a per-item protocol: resource and alloc2023 carry them; the 2022 alloc has none. */
function vlanRunner(conn: GrpcConnection, pkg: string, protocol: PerItemProtocol): (input: VlanRun) => Promise<VlanOutcome[]> {
  const names = PER_ITEM[protocol];
  if (names.api === undefined) {
    return async (input) => {
      if (input.requests.length === 0 && input.release.length === 0) return [];
      throw new Error(
        'protocol alloc (the 2022 alloc.Allocation) has no VLAN claims: use protocol resource, alloc2023 or admin for a package with VLANClaim or VLANAllocation resources',
      );
    };
  }
  const call: CallFn = async <Res>(method: string, req: unknown, what: string) => {
    try {
      return await conn.call<Res>(names.service, method, req);
    } catch (e) {
      throw fromServiceError(e as ServiceError, `${protocol}.${method} ${what}`);
    }
  };
  const per = new PerItemVlan(
    call,
    { createIndex: names.createIndex, claim: names.claim, get: names.get, del: names.del },
    protocol === 'resource' ? VLAN_RESOURCE_API : VLAN_ALLOC_API,
    pkg,
    protocol,
  );
  return (input) => per.run(input);
}

class AdminBatch {
  constructor(
    private readonly admin: AdminClient,
    private readonly pkg: string | undefined,
    private readonly prune: boolean,
  ) {}

  async run(input: BackendRun): Promise<Outcome[]> {
    const req = {
      package: this.pkg ?? '',
      networkInstances: input.space.networkInstances.map((n) => ({
        ref: toWRef(n.ref),
        prefixes: n.prefixes.map((p) => ({ prefix: p.prefix, labels: { ...(p.labels ?? {}) } })),
        owner: n.owner,
      })),
      prefixes: input.space.prefixes.map((p) => toWPrefixSpec(p)),
      release: input.release,
      requests: input.requests.map((r, i) => toWAllocationRequest(r, r.owner, input.lookups?.[i] ?? false)),
      prune: this.prune && !input.dryRun,
      dryRun: input.dryRun ?? false,
      compact: true,
      // a run that will fail keeps nothing new on the server
      atomic: !input.keepOnFailure && !input.dryRun,
      // Nephio Networks and the clusters they are for: the server derives their space
      networks: (input.space.networks ?? []).map((n) => JSON.stringify(networkResource(n))),
      clusters: (input.space.clusters ?? []).map((c) => c.name),
    };
    let res: WBatchResponse;
    try {
      res = await this.admin.batch(req);
    } catch (e) {
      throw fromServiceError(e as ServiceError, `Batch on ${this.admin.conn.address}`);
    }
    if (res.spaceErrors?.length)
      throw new SpaceError(res.spaceErrors.map((w) => ({ owner: subjectOwner(w, input.space), error: fromWError(w) })));
    return input.requests.map((r, i): Outcome => {
      const o = res.outcomes?.[i];
      if (o?.allocation) {
        // compact answers: owner, network instance and kind are the request's
        const a = fromWAllocation(o.allocation, r.owner);
        return {
          ok: true,
          allocation: {
            ...a,
            networkInstance: { name: r.networkInstance.name, namespace: r.networkInstance.namespace || 'default' },
            kind: r.kind,
          },
        };
      }
      return { ok: false, error: o?.error ? fromWError(o.error) : new Error(`no answer for request ${i} (${r.owner})`) };
    });
  }

  async runVlan(input: VlanRun): Promise<VlanOutcome[]> {
    const { indexes, definitions } = input.space;
    const req: WVlanBatchRequest = {
      package: this.pkg ?? '',
      indexes: indexes.map((x) => ({
        ref: toWVlanRef(x.index),
        kind: x.kind ?? 'esg',
        labels: { ...(x.labels ?? {}) },
        owner: x.owner,
        implied: x.implied === true,
      })),
      definitions: definitions.map((d) => ({
        index: toWVlanRef(d.index),
        ...(d.vlanID !== undefined ? { vlanID: d.vlanID } : {}),
        range: d.range ?? '',
        labels: { ...(d.labels ?? {}) },
        owner: d.owner,
      })),
      release: input.release,
      requests: input.requests.map((r, i) => toWVlanClaimRequest(r, r.owner, input.lookups?.[i] ?? false)),
      dryRun: input.dryRun ?? false,
    };
    let res: WVlanBatchResponse;
    try {
      res = await this.admin.vlanBatch(req);
    } catch (e) {
      throw fromServiceError(e as ServiceError, `VlanBatch on ${this.admin.conn.address}`);
    }
    if (res.spaceErrors?.length)
      throw new SpaceError(res.spaceErrors.map((w) => ({ owner: vlanSubjectOwner(w, input.space), error: fromWError(w) })));
    return input.requests.map((r, i): VlanOutcome => {
      const o = res.outcomes?.[i];
      if (o?.claim) return { ok: true, allocation: { ...fromWVlanClaim(o.claim), owner: r.owner } };
      return { ok: false, error: o?.error ? fromWError(o.error) : new Error(`no answer for VLAN claim ${i} (${r.owner})`) };
    });
  }
}

/** VlanBatch answers: errors about the index/definition inputs name their owners. */
function vlanSubjectOwner(w: WError, space: VlanRun['space']): string {
  const m = /^(indexes|definitions)\[(\d+)\]/.exec(w.subject ?? '');
  if (m) return (m[1] === 'indexes' ? space.indexes[Number(m[2])]?.owner : space.definitions[Number(m[2])]?.owner) ?? w.subject!;
  return w.subject || 'space';
}

function subjectOwner(w: WError, space: PackageSpace): string {
  const m = /^(networkInstances|prefixes|networks)\[(\d+)\]/.exec(w.subject ?? '');
  if (m) {
    const i = Number(m[2]);
    const list = m[1] === 'prefixes' ? space.prefixes : m[1] === 'networks' ? (space.networks ?? []) : space.networkInstances;
    return list[i]?.owner ?? w.subject!;
  }
  return w.subject || 'space';
}

/** What each per-item protocol calls its rpcs, and which API its objects belong to. */
const PER_ITEM = {
  alloc: { service: 'alloc', api: undefined },
  resource: {
    service: 'resource',
    api: RESOURCE_API,
    claim: 'Claim',
    get: 'GetClaim',
    del: 'DeleteClaim',
    createIndex: 'CreateIndex',
    deleteIndex: 'DeleteIndex',
  },
  alloc2023: {
    service: 'alloc',
    api: ALLOC2023_API,
    claim: 'Allocate',
    get: 'GetAllocation',
    del: 'DeAllocate',
    createIndex: 'CreateIndex',
    deleteIndex: 'DeleteIndex',
  },
} as const;

type PerItemProtocol = keyof typeof PER_ITEM;

class PerItem {
  constructor(
    private readonly conn: GrpcConnection,
    private readonly pkg: string | undefined,
    private readonly protocol: PerItemProtocol,
    private readonly concurrency: number,
  ) {}

  private async call<Res>(method: string, req: unknown, what: string): Promise<Res> {
    try {
      return await this.conn.call<Res>(PER_ITEM[this.protocol].service, method, req);
    } catch (e) {
      throw fromServiceError(e as ServiceError, `${this.protocol}.${method} ${what}`);
    }
  }

  async run(input: BackendRun): Promise<Outcome[]> {
    if (input.dryRun) return this.dryRun(input);
    const { space } = input;
    const errors: { owner: string; error: Error }[] = [];
    const note = (owner: string) => (e: unknown) => void errors.push({ owner, error: e as Error });
    const names = PER_ITEM[this.protocol];
    // Space first (instances before the prefixes inside them), then releases, then requests.
    if (names.api === undefined) {
      await pool(
        space.networkInstances.flatMap((n) => n.prefixes.map((p) => ({ n, p }))),
        this.concurrency,
        ({ n, p }) => this.call('Allocation', encodeAllocNetworkInstance(n.ref, p, n.owner, this.pkg), n.owner).catch(note(n.owner)),
      );
      await pool(space.prefixes, this.concurrency, (p) =>
        this.call('Allocation', encodeAllocPrefix(p, this.pkg), p.owner).catch(note(p.owner)),
      );
    } else {
      // as the original controllers send space: the NetworkInstance opens the index, then
      // each of its prefixes and each IPPrefix is claimed with createPrefix
      const api = names.api;
      await pool(space.networkInstances, this.concurrency, async (n) => {
        try {
          await this.call(names.createIndex, encodeIndex(n.ref, n.prefixes, this.pkg, api), n.owner);
          for (const c of encodeAggregateClaims(n.ref, n.prefixes, this.pkg, api)) await this.call(names.claim, c, n.owner);
        } catch (e) {
          note(n.owner)(e);
        }
      });
      await pool(space.prefixes, this.concurrency, (p) =>
        this.call(names.claim, encodePrefixClaim(p, this.pkg, api), p.owner).catch(note(p.owner)),
      );
    }
    // a released claim is named by its owner only; the original server also needs its
    // network instance, which is the package's when the package names exactly one
    const ni = soleInstance(input);
    await pool(input.release, this.concurrency, (owner) => {
      if (names.api === undefined) return this.call('DeAllocation', encodeAllocRelease(owner, this.pkg, ni), owner).catch(note(owner));
      const { rpc, req } = encodeRelease(owner, this.pkg, undefined, ni, names.api);
      return this.call(rpc === 'DeleteIndex' ? names.deleteIndex : names.del, req, owner).catch(note(owner));
    });
    if (errors.length) throw new SpaceError(errors);
    // The builtin backend's passes, so every backend answers a package alike: static
    // requests, then sticky ones (hint), then new ones, then read-only lookups.
    const outcomes: Outcome[] = new Array(input.requests.length);
    const lookup = (i: number) => input.lookups?.[i] ?? false;
    const pass = (r: AllocationRequest, i: number) => (lookup(i) ? 3 : r.prefix !== undefined ? 0 : r.hint !== undefined ? 1 : 2);
    for (let p = 0; p < 4; p++) {
      await pool(
        input.requests.flatMap((r, i) => (pass(r, i) === p ? [{ r, i }] : [])),
        this.concurrency,
        async ({ r, i }) => {
          try {
            outcomes[i] = { ok: true, allocation: await this.one(r, lookup(i)) };
          } catch (e) {
            outcomes[i] = { ok: false, error: e as Error };
          }
        },
      );
    }
    if (space.networks?.length) explainNetworks(outcomes, space.networks, this.protocol);
    if (outcomes.some((o) => !o.ok) && !input.keepOnFailure) await this.undo(input, outcomes);
    return outcomes;
  }

  /**
   * The run will fail: release what it newly took (requests that had no status.prefix and
   * were answered), with the same request that took it, and say so on the outcomes.
   */
  private async undo(input: BackendRun, outcomes: Outcome[]): Promise<void> {
    const fresh = input.requests.flatMap((r, i) =>
      outcomes[i]?.ok && !(input.lookups?.[i] ?? false) && r.hint === undefined ? [{ r, i }] : [],
    );
    const names = PER_ITEM[this.protocol];
    const released: string[] = [];
    await pool(fresh, this.concurrency, async ({ r, i }) => {
      try {
        if (names.api === undefined) await this.call('DeAllocation', encodeAllocRequest(r, this.pkg), r.owner);
        else await this.call(names.del, encodeRelease(r.owner, this.pkg, r, undefined, names.api).req, r.owner);
        released.push(r.owner);
        outcomes[i] = {
          ok: false,
          error: new Error(
            `released ${outcomes[i]!.ok ? (outcomes[i] as { allocation: Allocation }).allocation.prefix : ''} again: the run failed, and nothing it newly allocated stays held`,
          ),
        };
      } catch (e) {
        outcomes[i] = { ok: false, error: new Error(`the run failed and releasing what it allocated failed too: ${(e as Error).message}`) };
      }
    });
    input.released = released;
  }

  /** These protocols cannot evaluate a request without allocating: say so, and answer only lookups. */
  private async dryRun(input: BackendRun): Promise<Outcome[]> {
    return Promise.all(
      input.requests.map(async (r, i): Promise<Outcome> => {
        if (input.lookups?.[i]) {
          try {
            return { ok: true, allocation: await this.one(r, true) };
          } catch (e) {
            return { ok: false, error: e as Error };
          }
        }
        const why = `protocol ${this.protocol} cannot evaluate a dry run without allocating on the server`;
        if (r.hint) return { ok: true, allocation: answer(r, r.hint, undefined), note: `${why}: shown as recorded, not checked` };
        return { ok: false, error: new Error(`${why}; run without dryRun, or use protocol admin`) };
      }),
    );
  }

  private async one(r: AllocationRequest, lookup: boolean): Promise<Allocation> {
    const names = PER_ITEM[this.protocol];
    if (names.api === undefined) {
      if (lookup)
        throw new IpamError('InvalidArgument', `${r.owner}: protocol alloc has no read-only lookup; use protocol resource or admin`);
      const res = await this.call<AllocResponse>('Allocation', encodeAllocRequest(r, this.pkg), r.owner);
      return answer(r, res.allocatedPrefix ?? '', res.gateway);
    }
    const res = await this.call<ClaimResponse>(lookup ? names.get : names.claim, encodeClaim(r, this.pkg, names.api), r.owner);
    let st: { prefix?: string; gateway?: string };
    try {
      st = readClaimStatus(res.status);
    } catch (e) {
      throw new Error(`${r.owner}: ${(e as Error).message}`);
    }
    return answer(r, st.prefix ?? '', st.gateway);
  }
}

/**
 * The per-item protocols have no message for a Network: the original's server gets a Network's
 * space from Nephio's network controller, which turns it into claims (docs/nephio.md). A
 * request that fails in a package that carries Networks says that they were not sent.
 */
function explainNetworks(outcomes: Outcome[], networks: { name: string }[], protocol: string): void {
  const names = [...new Set(networks.map((n) => n.name))].join(', ');
  const why =
    `the package's Networks (${names}) were not sent: protocol ${protocol} has no message for a Network ` +
    "(in Nephio the network controller turns a Network into claims on the server); use protocol admin, whose server derives a Network's space, or define the space on the server (serve --seed)";
  outcomes.forEach((o, i) => {
    if (o.ok) return;
    const e = o.error;
    outcomes[i] = {
      ok: false,
      error: e instanceof IpamError ? new IpamError(e.code, `${e.message}; ${why}`, e.details) : new Error(`${e.message}; ${why}`),
    };
  });
}

/** The one network instance a package names (space or requests), if there is exactly one. */
function soleInstance(input: BackendRun) {
  const refs = new Map<string, { name: string; namespace: string }>();
  const add = (r: { name: string; namespace?: string }) =>
    refs.set(`${r.namespace || 'default'}/${r.name}`, { name: r.name, namespace: r.namespace || 'default' });
  for (const n of input.space.networkInstances) add(n.ref);
  for (const p of input.space.prefixes) add(p.networkInstance);
  for (const r of input.requests) add(r.networkInstance);
  return refs.size === 1 ? [...refs.values()][0] : undefined;
}

/** The compatibility protocols answer only prefix and gateway; the rest comes from the request. */
function answer(r: AllocationRequest, prefix: string, gateway: string | undefined): Allocation {
  if (!prefix) throw new Error(`${r.owner}: server answered no prefix`);
  return {
    owner: r.owner,
    networkInstance: { name: r.networkInstance.name, namespace: r.networkInstance.namespace || 'default' },
    kind: r.kind,
    addressFamily: prefix.includes(':') ? 'ipv6' : 'ipv4',
    prefix,
    ...(gateway ? { gateway } : {}),
    parent: networkOf(prefix),
    labels: { ...(r.labels ?? {}) },
  };
}

/** `addr/len` -> `net/len` (the subnet a host address lies in); the input when unparsable. */
export function networkOf(prefix: string): string {
  try {
    return canonicalPrefix(prefix);
  } catch {
    return prefix;
  }
}

async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}
