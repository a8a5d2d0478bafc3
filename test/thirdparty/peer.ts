// A third-party resource.Resource server, written only from the original's .proto text
// (./proto/resource.proto) and its documented behaviour (nokia/k8s-ipam pkg/proxy/serverproxy
// and pkg/backend/ipam, docs/semantics.md "Wire protocols"): it imports nothing of ours.
// - ClaimRequest.spec is json.Unmarshal'ed into the Go type (IPClaim or NetworkInstance):
//   empty text fails with Go's "unexpected end of JSON input", a wrong type fails, unknown
//   fields are ignored (and recorded here, so tests can hold the client to the Go tags);
// - the answer's status is the whole IPClaim with status.prefix/gateway filled;
// - CreateIndex only opens the index (spec.prefixes ignored); the NetworkInstance controller
//   claims each prefix with createPrefix; GetClaim matches selector.matchLabels against the
//   stored routes (no match: an empty status, no error); DeleteClaim deletes the routes whose
//   owner labels are the claim's.
// IPv4 only, first free address upward: enough to be a peer, not an IPAM.
// Calls whose header.gvk group is vlan.resource.nephio.org go to a VLAN backend, as the
// original's server proxy routes by GroupVersion (pkg/backend/vlan, pkg/db/vlandb): the index
// must be opened first; a claim finds its entries by the five owner labels of spec.labels;
// dynamic is the lowest free id (0, 1 and 4095 reserved), static takes the id, a start:end
// range is only checked, never reserved; GetClaim answers the owner's id (or the claim as it
// came); DeleteClaim deletes the owner's entries. vlanClaimName is the client's business
// (Nephio's vlan-fn renames the claim): this backend never reads annotations.
import { loadSync } from '@grpc/proto-loader';
import {
  loadPackageDefinition,
  Server,
  ServerCredentials,
  status,
  type GrpcObject,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServiceClientConstructor,
} from '@grpc/grpc-js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- the other party's JSON, read as it comes

/** The JSON field names of the original's Go types (json struct tags). */
const TAGS: Record<string, readonly string[]> = {
  object: ['apiVersion', 'kind', 'metadata', 'spec', 'status'],
  metadata: [
    'name',
    'generateName',
    'namespace',
    'selfLink',
    'uid',
    'resourceVersion',
    'generation',
    'creationTimestamp',
    'deletionTimestamp',
    'deletionGracePeriodSeconds',
    'labels',
    'annotations',
    'ownerReferences',
    'finalizers',
    'managedFields',
  ],
  claimSpec: ['kind', 'networkInstance', 'addressFamily', 'prefix', 'prefixLength', 'index', 'createPrefix', 'labels', 'selector'],
  objectReference: ['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath'],
  selector: ['matchLabels', 'matchExpressions'],
  claimStatus: ['conditions', 'prefix', 'gateway', 'expiryTime'],
  niSpec: ['prefixes'],
  niPrefix: ['prefix', 'labels'],
  niStatus: ['conditions', 'prefixes'],
  vlanClaimSpec: ['vlanIndex', 'vlanID', 'range', 'labels', 'selector'],
  vlanClaimStatus: ['conditions', 'vlanID', 'vlanRange', 'expiryTime'],
  vlanIndexSpec: ['labels'],
  vlanIndexStatus: ['conditions'],
};

const VLAN_GROUP = 'vlan.resource.nephio.org';
const VLAN_RESERVED = [0, 1, 4095];

interface Route {
  net: number;
  len: number;
  labels: Record<string, string>;
}

const OWNER_KEYS = [
  'nephio.org/nsn-name',
  'nephio.org/nsn-namespace',
  'nephio.org/owner-gvk',
  'nephio.org/owner-nsn-name',
  'nephio.org/owner-nsn-namespace',
];

const ip = (s: string) => s.split('.').reduce((a, o) => a * 256 + Number(o), 0);
const text = (n: number) => [24, 16, 8, 0].map((b) => Math.floor(n / 2 ** b) % 256).join('.');
const mask = (n: number, len: number) => n - (n % 2 ** (32 - len));

class GoError extends Error {}

export class Peer {
  readonly indexes = new Map<string, Route[]>();
  /** VLAN index -> id -> the entry's labels. */
  readonly vlanIndexes = new Map<string, Map<number, Record<string, string>>>();
  /** Fields the client sent that the Go types do not have: "<where>.<field>". */
  readonly unknownFields: string[] = [];
  readonly calls: { rpc: string; header: Json; spec: string }[] = [];
  private server?: Server;
  address = '';

  async start(): Promise<void> {
    const def = loadSync(new URL('./proto/resource.proto', import.meta.url).pathname, { keepCase: true, enums: String, defaults: true });
    const Svc = (loadPackageDefinition(def).resource as GrpcObject).Resource as ServiceClientConstructor;
    this.server = new Server();
    const unary = (rpc: string, fn: (req: Json) => Json) => (call: ServerUnaryCall<Json, Json>, cb: sendUnaryData<Json>) => {
      this.calls.push({ rpc, header: call.request.header, spec: call.request.spec });
      try {
        const group = call.request.header?.gvk?.group ?? '';
        if (group === VLAN_GROUP) return cb(null, this.vlan(rpc, call.request));
        if (group !== 'ipam.resource.nephio.org')
          throw new GoError(`backend not registered, got: ${JSON.stringify(call.request.header?.gvk)}`);
        cb(null, fn(call.request));
      } catch (e) {
        // the original returns the Go error as it is: gRPC UNKNOWN with the text
        cb({ code: status.UNKNOWN, details: (e as Error).message });
      }
    };
    this.server.addService(Svc.service, {
      CreateIndex: unary('CreateIndex', (r) => this.createIndex(r)),
      DeleteIndex: unary('DeleteIndex', (r) => this.deleteIndex(r)),
      Claim: unary('Claim', (r) => this.claim(r)),
      GetClaim: unary('GetClaim', (r) => this.getClaim(r)),
      DeleteClaim: unary('DeleteClaim', (r) => this.deleteClaim(r)),
      WatchClaim: (call: { end(): void }) => call.end(),
    });
    const port = await new Promise<number>((res, rej) =>
      this.server!.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
    );
    this.address = `127.0.0.1:${port}`;
  }

  stop(): Promise<void> {
    return new Promise((r) => (this.server ? this.server.tryShutdown(() => r()) : r()));
  }

  /** Every address/prefix held, as "<index> <prefix> <nsn-name>". */
  held(): string[] {
    const out: string[] = [];
    for (const [k, routes] of this.indexes)
      for (const r of routes) out.push(`${k} ${text(r.net)}/${r.len} ${r.labels['nephio.org/nsn-name'] ?? ''}`);
    return out.sort();
  }

  /** Every VLAN id held, as "<index> <id> <nsn-name>". */
  vlansHeld(): string[] {
    const out: string[] = [];
    for (const [k, ids] of this.vlanIndexes) for (const [id, l] of ids) out.push(`${k} ${id} ${l['nephio.org/nsn-name'] ?? ''}`);
    return out.sort();
  }

  // ---- json.Unmarshal into the Go types ----

  private unmarshal(s: string, kind: 'claim' | 'index' | 'vlanClaim' | 'vlanIndex'): Json {
    if (s === '') throw new GoError('unexpected end of JSON input');
    let o: unknown;
    try {
      o = JSON.parse(s);
    } catch (e) {
      throw new GoError(`invalid character: ${(e as Error).message}`);
    }
    if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new GoError('json: cannot unmarshal into Go value');
    const obj = o as Json;
    this.check('object', obj);
    this.check('metadata', obj.metadata ?? {});
    if (kind === 'claim') {
      const spec = obj.spec ?? {};
      this.check('claimSpec', spec);
      this.check('objectReference', spec.networkInstance ?? {});
      this.check('selector', spec.selector ?? {});
      this.check('claimStatus', obj.status ?? {});
      if (spec.kind !== undefined && typeof spec.kind !== 'string')
        throw new GoError('json: cannot unmarshal into Go struct field IPClaimSpec.spec.kind of type v1alpha1.PrefixKind');
      if (spec.prefixLength !== undefined && (typeof spec.prefixLength !== 'number' || spec.prefixLength > 255))
        throw new GoError('json: cannot unmarshal into Go struct field IPClaimSpec.spec.prefixLength of type uint8');
    } else if (kind === 'vlanClaim') {
      const spec = obj.spec ?? {};
      this.check('vlanClaimSpec', spec);
      this.check('objectReference', spec.vlanIndex ?? {});
      this.check('selector', spec.selector ?? {});
      this.check('vlanClaimStatus', obj.status ?? {});
      for (const [f, v] of [
        ['spec.vlanID', spec.vlanID],
        ['status.vlanID', obj.status?.vlanID],
      ] as const) {
        if (v !== undefined && v !== null && (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535))
          throw new GoError(`json: cannot unmarshal into Go struct field VLANClaim.${f} of type uint16`);
      }
      if (spec.range !== undefined && spec.range !== null && typeof spec.range !== 'string')
        throw new GoError('json: cannot unmarshal into Go struct field VLANClaimSpec.spec.range of type string');
    } else if (kind === 'vlanIndex') {
      this.check('vlanIndexSpec', obj.spec ?? {});
      this.check('vlanIndexStatus', obj.status ?? {});
    } else {
      this.check('niSpec', obj.spec ?? {});
      for (const p of obj.spec?.prefixes ?? []) this.check('niPrefix', p);
      this.check('niStatus', obj.status ?? {});
    }
    return obj;
  }

  private check(where: string, o: Json): void {
    for (const k of Object.keys(o)) if (!TAGS[where]!.includes(k)) this.unknownFields.push(`${where}.${k}`);
  }

  private index(claim: Json): Route[] {
    const ni = claim.spec?.networkInstance ?? {};
    const key = `${ni.namespace || 'default'}/${ni.name ?? ''}`;
    const routes = this.indexes.get(key);
    if (!routes) throw new GoError(`cache index not initialized: ${key}`);
    return routes;
  }

  // ---- the rpcs ----

  private createIndex(r: Json): Json {
    const ni = this.unmarshal(r.spec, 'index');
    const key = `${ni.metadata?.namespace || 'default'}/${ni.metadata?.name ?? ''}`;
    if (!this.indexes.has(key)) this.indexes.set(key, []);
    return {};
  }

  private deleteIndex(r: Json): Json {
    const ni = this.unmarshal(r.spec, 'index');
    this.indexes.delete(`${ni.metadata?.namespace || 'default'}/${ni.metadata?.name ?? ''}`);
    return {};
  }

  private answer(r: Json, claim: Json, st: Json): Json {
    return {
      header: r.header,
      spec: r.spec,
      status: JSON.stringify({ ...claim, status: { ...(claim.status ?? {}), ...st } }),
      statusCode: 'Valid',
      expiryTime: r.expiryTime,
    };
  }

  private claim(r: Json): Json {
    const claim = this.unmarshal(r.spec, 'claim');
    const routes = this.index(claim);
    const spec = claim.spec ?? {};
    const labels: Record<string, string> = { ...(spec.labels ?? {}), 'nephio.org/prefix-kind': spec.kind };
    const mine = (x: Route) => OWNER_KEYS.every((k) => x.labels[k] === labels[k]);
    if (spec.prefix) {
      const [a, l] = String(spec.prefix).split('/');
      const len = Number(l);
      const addr = ip(a!);
      const add = (net: number, n: number, lab: Record<string, string>) => {
        const have = routes.find((x) => x.net === net && x.len === n);
        if (have && !mine(have) && n === 32)
          throw new GoError(`prefix ${text(net)}/${n} already claimed by ${have.labels['nephio.org/nsn-name']}`);
        if (!have) routes.push({ net, len: n, labels: lab });
      };
      if (spec.createPrefix && spec.kind === 'network' && addr !== mask(addr, len)) {
        const { 'nephio.org/gateway': _gw, ...subnetLabels } = labels;
        add(mask(addr, len), len, subnetLabels);
        add(addr, 32, labels);
      } else add(mask(addr, len), spec.createPrefix ? len : 32, labels);
      return this.answer(r, claim, { prefix: spec.prefix });
    }
    const held = routes.find(mine);
    if (held) return this.answer(r, claim, this.hostStatus(routes, held));
    const want = spec.selector?.matchLabels ?? {};
    const match = (x: Route) => Object.entries(want).every(([k, v]) => x.labels[k] === v);
    if (spec.kind === 'network') {
      for (const s of routes.filter((x) => x.len < 32 && x.labels['nephio.org/prefix-kind'] === 'network' && match(x))) {
        for (let h = s.net + 1; h < s.net + 2 ** (32 - s.len) - 1; h++) {
          if (routes.some((x) => x.len === 32 && x.net === h)) continue;
          const route = { net: h, len: 32, labels };
          routes.push(route);
          return this.answer(r, claim, this.hostStatus(routes, route));
        }
      }
      throw new GoError('no free prefix found');
    }
    const pl = Number(spec.prefixLength);
    for (const s of routes.filter((x) => x.len < pl && ['pool', 'aggregate'].includes(x.labels['nephio.org/prefix-kind']!) && match(x))) {
      for (let n = s.net; n < s.net + 2 ** (32 - s.len); n += 2 ** (32 - pl)) {
        if (routes.some((x) => x.len >= s.len && x !== s && x.net < n + 2 ** (32 - pl) && n < x.net + 2 ** (32 - x.len))) continue;
        routes.push({ net: n, len: pl, labels });
        return this.answer(r, claim, { prefix: `${text(n)}/${pl}` });
      }
    }
    throw new GoError('no free prefix found');
  }

  /** A host route as the answer: addr/<subnet length> and the subnet's gateway. */
  private hostStatus(routes: Route[], h: Route): Json {
    if (h.len !== 32) return { prefix: `${text(h.net)}/${h.len}` };
    const s = routes.filter((x) => x.len < 32 && x.net === mask(h.net, x.len)).sort((a, b) => b.len - a.len)[0];
    if (!s) return { prefix: `${text(h.net)}/32` };
    const gw = routes.find((x) => x.len === 32 && mask(x.net, s.len) === s.net && x.labels['nephio.org/gateway'] === 'true');
    return { prefix: `${text(h.net)}/${s.len}`, ...(gw ? { gateway: text(gw.net) } : {}) };
  }

  private getClaim(r: Json): Json {
    const claim = this.unmarshal(r.spec, 'claim');
    const routes = this.index(claim);
    const want = claim.spec?.selector?.matchLabels ?? {};
    const hit = routes.find((x) => Object.entries(want).every(([k, v]) => x.labels[k] === v));
    // the original: the stored route as it is (an address as /32), no error when nothing matches
    return this.answer(r, claim, hit ? { prefix: `${text(hit.net)}/${hit.len}` } : {});
  }

  // ---- the VLAN backend ----

  private vlan(rpc: string, r: Json): Json {
    if (rpc === 'CreateIndex' || rpc === 'DeleteIndex') {
      const ix = this.unmarshal(r.spec, 'vlanIndex');
      const key = `${ix.metadata?.namespace || 'default'}/${ix.metadata?.name ?? ''}`;
      if (rpc === 'DeleteIndex') this.vlanIndexes.delete(key);
      else if (!this.vlanIndexes.has(key)) this.vlanIndexes.set(key, new Map());
      return {};
    }
    const claim = this.unmarshal(r.spec, 'vlanClaim');
    const spec = claim.spec ?? {};
    const key = `${spec.vlanIndex?.namespace || 'default'}/${spec.vlanIndex?.name ?? ''}`;
    const ids = this.vlanIndexes.get(key);
    if (!ids) throw new GoError(`cache index not initialized: ${key}`);
    const labels: Record<string, string> = spec.labels ?? {};
    const mine = [...ids].filter(([, l]) => OWNER_KEYS.every((k) => (l[k] ?? '') === (labels[k] ?? ''))).map(([id]) => id);
    const answer = (st: Json) => ({
      header: r.header,
      spec: r.spec,
      status: JSON.stringify({ ...claim, status: { ...(claim.status ?? {}), ...st } }),
      statusCode: 'Valid',
      expiryTime: r.expiryTime,
    });
    if (rpc === 'DeleteClaim') {
      for (const id of mine) ids.delete(id);
      return {};
    }
    if (rpc === 'GetClaim') return answer(mine.length === 1 && spec.range === undefined ? { vlanID: mine[0] } : {});
    if (spec.range !== undefined) {
      const [a, b] = String(spec.range).split(':').map(Number);
      if (b === undefined) return answer({ vlanRange: 'TBD update status ' });
      for (let id = a!; id <= b; id++)
        if (ids.has(id) || VLAN_RESERVED.includes(id)) throw new GoError(`entry ${id} in use in range: start: ${a}, end ${b}`);
      return answer({ vlanRange: `${a}:${b}` });
    }
    if (mine.length > 1) throw new GoError(`claim for single entry returned multiple: ${mine.join(', ')}`);
    if (mine.length === 1) {
      if (spec.vlanID !== undefined && claim.status?.vlanID !== undefined && claim.status.vlanID !== mine[0])
        throw new GoError('vlan claim with a different vlan ID');
      return answer({ vlanID: mine[0] });
    }
    let id = spec.vlanID as number | undefined;
    if (id === undefined) {
      for (let i = 2; i < 4095 && id === undefined; i++) if (!ids.has(i)) id = i;
      if (id === undefined) throw new GoError('no free entry found');
    }
    if (VLAN_RESERVED.includes(id)) throw new GoError(`VLAN ${id} is reserved, cannot be added to the database`);
    ids.set(id, labels);
    return answer({ vlanID: id });
  }

  private deleteClaim(r: Json): Json {
    const claim = this.unmarshal(r.spec, 'claim');
    const routes = this.index(claim);
    const labels = claim.spec?.labels ?? {};
    const keep = routes.filter((x) => !OWNER_KEYS.every((k) => x.labels[k] === labels[k]));
    routes.splice(0, routes.length, ...keep);
    return {};
  }
}
