// backend=grpc: the function as a client of an IPAM server. Three protocols:
// - admin (default, our own server): the whole package in one Batch call and one durable
//   commit on the server;
// - alloc: the original alloc.Allocation protocol, one call per item;
// - resource: Nephio's resource.Resource protocol, one call per item.
// The package's NetworkInstance/IPPrefix resources are applied as space owned by the package,
// requests carry the package identity (owner scope), and owners the package no longer
// requests are released (DeAllocation / DeleteClaim / DeleteIndex).
// Calls have a deadline each and are retried with backoff on UNAVAILABLE only (every call is
// idempotent per owner, so a retry after a lost answer gets the same answer).
import type { ServiceError } from '@grpc/grpc-js';
import { SpaceError, type Backend, type BackendRun, type Outcome, type PackageSpace } from './backend.js';
import type { Allocation, AllocationRequest } from '../ipam/types.js';
import { IpamError } from '../ipam/errors.js';
import { AdminClient } from '../protocol/admin-client.js';
import { bool, GrpcConnection, type ConnectionOptions } from '../protocol/connection.js';
import { encodeAllocNetworkInstance, encodeAllocPrefix, encodeAllocRelease, encodeAllocRequest } from '../protocol/alloc.js';
import { fromWAllocation, fromWError, toWAllocationRequest, toWPrefixSpec, toWRef } from '../protocol/admin.js';
import type { AllocResponse, ClaimResponse, WBatchResponse, WError } from '../protocol/messages.js';
import { encodeClaim, encodeIndex, encodePrefixClaim, encodeRelease } from '../protocol/resource.js';
import { fromServiceError } from '../protocol/status.js';
import { BACKEND_SETTINGS } from './settings.js';

export type GrpcProtocol = 'admin' | 'alloc' | 'resource';

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
    if (!KNOWN_OPTIONS.has(k)) throw new Error(`unknown grpc backend setting "${k}" (known: ${[...KNOWN_OPTIONS].filter((x) => x !== 'env').join(', ')})`);
  }
  if (options.env !== undefined && (typeof options.env !== 'object' || options.env === null)) throw new Error('grpc backend setting "env" is for programs, not configs');
  const env = options.env ?? process.env;
  const protocol = (options.protocol || env.IPAM_INJECTOR_PROTOCOL || 'admin') as GrpcProtocol;
  if (!['admin', 'alloc', 'resource'].includes(protocol)) {
    throw new Error(`protocol "${protocol}" is not one of admin, alloc, resource`);
  }
  const conn = new GrpcConnection(options);
  const pkg = options.package || env.IPAM_INJECTOR_PACKAGE || undefined;
  // Without a package identity, two packages with a same-named claim would be one owner on
  // the server and share its address: refuse rather than hand an address out twice.
  if (!pkg) {
    throw new Error('backend grpc needs package=<identity>: the owner scope of this package on the shared server (for example its namespace/name); set it in the function config or IPAM_INJECTOR_PACKAGE');
  }
  const concurrency = Math.max(1, Number(options.concurrency ?? 1));
  const prune = bool(options.prune);
  const backend = protocol === 'admin' ? new AdminBatch(new AdminClient(conn), pkg, prune) : new PerItem(conn, pkg, protocol, concurrency);
  return {
    run: (input) => backend.run(input),
    close: async () => conn.close(),
  };
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
    };
    let res: WBatchResponse;
    try {
      res = await this.admin.batch(req);
    } catch (e) {
      throw fromServiceError(e as ServiceError, `Batch on ${this.admin.conn.address}`);
    }
    if (res.spaceErrors?.length) throw new SpaceError(res.spaceErrors.map((w) => ({ owner: subjectOwner(w, input.space), error: fromWError(w) })));
    return input.requests.map((r, i): Outcome => {
      const o = res.outcomes?.[i];
      if (o?.allocation) {
        // compact answers: owner, network instance and kind are the request's
        const a = fromWAllocation(o.allocation, r.owner);
        return { ok: true, allocation: { ...a, networkInstance: { name: r.networkInstance.name, namespace: r.networkInstance.namespace || 'default' }, kind: r.kind } };
      }
      return { ok: false, error: o?.error ? fromWError(o.error) : new Error(`no answer for request ${i} (${r.owner})`) };
    });
  }
}

function subjectOwner(w: WError, space: PackageSpace): string {
  const m = /^(networkInstances|prefixes)\[(\d+)\]/.exec(w.subject ?? '');
  if (m) {
    const i = Number(m[2]);
    return (m[1] === 'prefixes' ? space.prefixes[i]?.owner : space.networkInstances[i]?.owner) ?? w.subject!;
  }
  return w.subject || 'space';
}

class PerItem {
  constructor(
    private readonly conn: GrpcConnection,
    private readonly pkg: string | undefined,
    private readonly protocol: 'alloc' | 'resource',
    private readonly concurrency: number,
  ) {}

  private async call<Res>(method: string, req: unknown, what: string): Promise<Res> {
    try {
      return await this.conn.call<Res>(this.protocol, method, req);
    } catch (e) {
      throw fromServiceError(e as ServiceError, `${this.protocol}.${method} ${what}`);
    }
  }

  async run(input: BackendRun): Promise<Outcome[]> {
    if (input.dryRun) {
      // These protocols cannot evaluate without side effects: look every request up, apply
      // and release nothing.
      input = { space: { networkInstances: [], prefixes: [] }, requests: input.requests, lookups: input.requests.map(() => true), release: [] };
    }
    const { space } = input;
    const errors: { owner: string; error: Error }[] = [];
    const note = (owner: string) => (e: unknown) => void errors.push({ owner, error: e as Error });
    // Space first (instances before the prefixes inside them), then releases, then requests.
    if (this.protocol === 'alloc') {
      await pool(
        space.networkInstances.flatMap((n) => n.prefixes.map((p) => ({ n, p }))),
        this.concurrency,
        ({ n, p }) => this.call('Allocation', encodeAllocNetworkInstance(n.ref, p, n.owner, this.pkg), n.owner).catch(note(n.owner)),
      );
    } else {
      await pool(space.networkInstances, this.concurrency, (n) =>
        this.call('CreateIndex', encodeIndex(n.ref, n.prefixes, this.pkg), n.owner).catch(note(n.owner)),
      );
    }
    await pool(space.prefixes, this.concurrency, (p) =>
      (this.protocol === 'alloc'
        ? this.call('Allocation', encodeAllocPrefix(p, this.pkg), p.owner)
        : this.call('Claim', encodePrefixClaim(p, this.pkg), p.owner)
      ).catch(note(p.owner)),
    );
    await pool(input.release, this.concurrency, (owner) => {
      if (this.protocol === 'alloc') return this.call('DeAllocation', encodeAllocRelease(owner, this.pkg), owner).catch(note(owner));
      const { rpc, req } = encodeRelease(owner, this.pkg);
      return this.call(rpc, req, owner).catch(note(owner));
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
    return outcomes;
  }

  private async one(r: AllocationRequest, lookup: boolean): Promise<Allocation> {
    if (this.protocol === 'alloc') {
      if (lookup) throw new IpamError('InvalidArgument', `${r.owner}: protocol alloc has no read-only lookup; use protocol resource or admin`);
      const res = await this.call<AllocResponse>('Allocation', encodeAllocRequest(r, this.pkg), r.owner);
      return answer(r, res.allocatedPrefix ?? '', res.gateway);
    }
    const res = await this.call<ClaimResponse>(lookup ? 'GetClaim' : 'Claim', encodeClaim(r, this.pkg), r.owner);
    let st: { prefix?: string; gateway?: string };
    try {
      st = JSON.parse(res.status || '{}') as typeof st;
    } catch {
      throw new Error(`${r.owner}: server answered a status that is not JSON: ${res.status}`);
    }
    return answer(r, st.prefix ?? '', st.gateway);
  }
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
  const [addr, lenText] = prefix.split('/');
  const len = Number(lenText);
  if (!addr || !Number.isInteger(len)) return prefix;
  if (!addr.includes(':')) {
    const parts = addr.split('.').map(Number);
    if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) return prefix;
    const v = ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
    const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    const n = (v & mask) >>> 0;
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}/${len}`;
  }
  // IPv6: BigInt only (never Number for 128-bit values).
  const [head, tail] = addr.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) return prefix;
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(parseInt(g || '0', 16));
  const mask = len === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - len)) - 1n);
  v &= mask;
  const out: string[] = [];
  for (let i = 7; i >= 0; i--) out.push(((v >> BigInt(i * 16)) & 0xffffn).toString(16));
  // RFC 5952: compress the longest run (>1) of zero groups
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (out[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && out[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const text = best < 0 ? out.join(':') : `${out.slice(0, best).join(':')}::${out.slice(best + bestLen).join(':')}`;
  return `${text}/${len}`;
}

async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}
