// The original clients' call sequences replayed against our server, through clients built
// from the original .proto text (./proto): the Nephio client proxy on resource (the
// NetworkInstance and IPPrefix controllers' flow, both index flows), the 2022 injector on
// alloc, and the 2023 alloc calls. Objects are built as the original's Go code marshals them
// (pkg/proxy/clientproxy/ipam/ipam.go NormalizeKRM, BuildResourcePb, AddOwnerLabelsToCR).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadSync } from '@grpc/proto-loader';
import {
  credentials,
  loadPackageDefinition,
  Metadata,
  status,
  type Client,
  type GrpcObject,
  type ServiceClientConstructor,
  type ServiceError,
} from '@grpc/grpc-js';
import { inProcess } from '../server/helpers.js';
import type { RunningServer } from '../../src/server/server.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- the other party's JSON, read as it comes
type Call = <T = Json>(method: string, req: unknown) => Promise<T>;

function client(file: string, pkg: string, service: string, address: string): { call: Call; close(): void } {
  const def = loadSync(new URL(`./proto/${file}`, import.meta.url).pathname, { keepCase: true, enums: String, defaults: true });
  const Ctor = (loadPackageDefinition(def)[pkg] as GrpcObject)[service] as ServiceClientConstructor;
  const c = new Ctor(address, credentials.createInsecure()) as Client & Record<string, (...a: unknown[]) => void>;
  return {
    call: (method, req) =>
      new Promise((res, rej) =>
        c[method]!.call(c, req, new Metadata(), (e: ServiceError | null, r: unknown) => (e ? rej(e) : res(r as never))),
      ),
    close: () => c.close(),
  };
}

async function codeOf(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (e) {
    return e as ServiceError;
  }
  throw new Error('expected an error');
}

const G = 'ipam.resource.nephio.org';
const gvkString = (kind: string, group = G) => `${kind}.v1alpha1.${group}`;

interface Obj {
  kind: string;
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
}

/** GetHierOwnerLabelsFromCR of a claim object. */
function ownerLabels(o: Obj, group = G): Record<string, string> {
  const l = o.labels ?? {};
  return {
    'nephio.org/owner-gvk': l['nephio.org/owner-gvk'] ?? gvkString(o.kind, group),
    'nephio.org/owner-nsn-name': l['nephio.org/owner-nsn-name'] ?? o.name,
    'nephio.org/owner-nsn-namespace': l['nephio.org/owner-nsn-namespace'] || o.namespace || 'default',
    'nephio.org/gvk': gvkString(o.kind, group),
    'nephio.org/nsn-name': o.name,
    'nephio.org/nsn-namespace': o.namespace || 'default',
  };
}

/** An IPClaim (or 2023 IPAllocation) as json.Marshal writes it, owner labels added to spec.labels. */
function claimJson(meta: Obj, spec: Json, group = G): string {
  const kind = group === G ? 'IPClaim' : 'IPAllocation';
  const claimMeta = { ...meta, kind };
  return JSON.stringify({
    apiVersion: `${group}/v1alpha1`,
    kind,
    metadata: { name: meta.name, namespace: meta.namespace, creationTimestamp: null, ...(meta.labels ? { labels: meta.labels } : {}) },
    spec: { ...spec, labels: { ...(spec.labels ?? {}), ...ownerLabels(claimMeta, group) } },
    status: {},
  });
}

/** BuildResourcePb: header of the object the client started from. */
function header(from: Obj, nsnName: string, group = G): Json {
  const ownerGvkText = from.labels?.['nephio.org/owner-gvk'];
  const [k, v, ...g] = (ownerGvkText ?? gvkString(from.kind, group)).split('.');
  return {
    gvk: { group, version: 'v1alpha1', kind: group === G ? 'IPClaim' : 'IPAllocation' },
    nsn: { namespace: from.namespace ?? '', name: nsnName },
    ownerGvk: { group: g.join('.'), version: v, kind: k },
    ownerNsn: { namespace: from.namespace ?? '', name: from.name },
  };
}

const ni = (name: string, prefixes: { prefix: string; labels?: Record<string, string> }[], group = G) => ({
  header: {
    gvk: { group, version: 'v1alpha1', kind: 'NetworkInstance' },
    nsn: { namespace: 'default', name },
    ownerGvk: { group, version: 'v1alpha1', kind: 'NetworkInstance' },
    ownerNsn: { namespace: 'default', name },
  },
  spec: JSON.stringify({
    apiVersion: `${group}/v1alpha1`,
    kind: 'NetworkInstance',
    metadata: { name, namespace: 'default', creationTimestamp: null },
    spec: { prefixes },
    status: {},
  }),
  expiryTime: 'never',
});

/** The NetworkInstance controller's claim of one instance prefix. */
function aggregateClaim(instance: string, prefix: string, labels: Record<string, string> = {}, group = G) {
  const name = `${prefix.replaceAll('/', '-')}-${instance}`.replaceAll(':', '-') + '-aggregate';
  const meta = {
    kind: 'NetworkInstance',
    name,
    namespace: 'default',
    labels: { 'nephio.org/owner-gvk': gvkString('NetworkInstance', group) },
  };
  return {
    header: header({ kind: 'NetworkInstance', name: instance, namespace: 'default' }, name, group),
    spec: claimJson(
      meta,
      {
        kind: 'aggregate',
        networkInstance: { name: instance, namespace: 'default' },
        prefix,
        prefixLength: Number(prefix.split('/')[1]),
        createPrefix: true,
        labels,
      },
      group,
    ),
    expiryTime: 'never',
  };
}

/** The IPPrefix controller's claim of one IPPrefix. */
function prefixClaim(name: string, instance: string, kind: string, prefix: string, labels: Record<string, string>, group = G) {
  const from = { kind: 'IPPrefix', name, namespace: 'default' };
  const meta = { ...from, labels: { 'nephio.org/owner-gvk': gvkString('IPPrefix', group) } };
  return {
    header: header(from, name, group),
    spec: claimJson(
      meta,
      {
        kind,
        networkInstance: { name: instance, namespace: 'default' },
        prefix,
        prefixLength: Number(prefix.split('/')[1]),
        createPrefix: true,
        labels,
      },
      group,
    ),
    expiryTime: 'never',
  };
}

/** A workload's IPClaim as the client proxy sends it (a deep copy, owner labels added). */
function workloadClaim(o: Obj, spec: Json, group = G) {
  return {
    header: header(o, o.name, group),
    spec: claimJson({ ...o, kind: group === G ? 'IPClaim' : 'IPAllocation' }, spec, group),
    expiryTime: new Date(Date.now() + 3600_000).toISOString(),
  };
}

let srv: RunningServer;
test.before(async () => {
  srv = await inProcess({ seed: undefined });
});
test.after(async () => {
  await srv.shutdown();
});

/** ClaimResponse.status parsed as the client proxy does: json.Unmarshal into an IPClaim. */
function claimOf(res: Json): Json {
  assert.is(res.statusCode, 'Valid');
  const c = JSON.parse(res.status);
  assert.ok(c.apiVersion && c.kind && c.metadata && c.spec, `the whole object: ${res.status}`);
  for (const k of Object.keys(c.status))
    assert.ok(['conditions', 'prefix', 'gateway', 'expiryTime'].includes(k), `status.${k} is an IPClaimStatus field`);
  return c;
}

test('Nephio client proxy on resource: CreateIndex with prefixes, then the same aggregate claims, IPPrefix, claims, lookup, delete', async () => {
  const r = client('resource.proto', 'resource', 'Resource', srv.address);
  await r.call('CreateIndex', ni('vpc-a', [{ prefix: '10.0.0.0/8', labels: { 'nephio.org/purpose': 'ran' } }]));
  // the same aggregate, claimed by the instance's controller: no conflict
  const agg = claimOf(await r.call('Claim', aggregateClaim('vpc-a', '10.0.0.0/8', { 'nephio.org/purpose': 'ran' })));
  assert.is(agg.status.prefix, '10.0.0.0/8');
  assert.is(agg.metadata.name, '10.0.0.0-8-vpc-a-aggregate');
  // an IPPrefix in address notation: the subnet, its gateway reserved
  const gw = claimOf(
    await r.call(
      'Claim',
      prefixClaim('n3-gw', 'vpc-a', 'network', '10.0.1.1/24', { 'nephio.org/gateway': 'true', 'nephio.org/cluster-name': 'c1' }),
    ),
  );
  assert.is(gw.status.prefix, '10.0.1.1/24');
  // a workload claim, owned (by label) by a UPFDeployment
  const upf = {
    kind: 'IPClaim',
    name: 'upf-n3',
    namespace: 'default',
    labels: { 'nephio.org/owner-gvk': 'UPFDeployment.v1alpha1.workload.nephio.org', 'nephio.org/owner-nsn-name': 'upf' },
  };
  const spec = {
    kind: 'network',
    networkInstance: { name: 'vpc-a', namespace: 'default' },
    selector: { matchLabels: { 'nephio.org/cluster-name': 'c1' } },
  };
  const c = claimOf(await r.call('Claim', workloadClaim(upf, spec)));
  assert.equal(c.status, { prefix: '10.0.1.2/24', gateway: '10.0.1.1' });
  assert.equal(claimOf(await r.call('Claim', workloadClaim(upf, spec))).status, c.status, 'a repeated claim gets the same answer');
  // Nephio's network controller selects the aggregate by its claim name; a UERANSIM package
  // finds the UPF's address by its owner labels: lookups across packages, nothing reserved
  const find = (name: string, sel: Record<string, string>) =>
    r.call(
      'GetClaim',
      workloadClaim(
        { kind: 'IPClaim', name, namespace: 'default' },
        { kind: 'network', networkInstance: { name: 'vpc-a' }, selector: { matchLabels: sel } },
      ),
    );
  assert.is(claimOf(await find('net', { 'nephio.org/nsn-name': '10.0.0.0-8-vpc-a-aggregate' })).status.prefix, '10.0.0.0/8');
  assert.equal(
    claimOf(await find('ue', { 'nephio.org/nsn-name': 'upf-n3', 'nephio.org/owner-gvk': 'UPFDeployment.v1alpha1.workload.nephio.org' }))
      .status,
    { prefix: '10.0.1.2/24', gateway: '10.0.1.1' },
  );
  const none = await codeOf(find('ue', { 'nephio.org/nsn-name': 'nobody' }));
  assert.is(none.code, status.NOT_FOUND);
  // DeleteClaim with the whole object frees it: the next claim gets the address
  await r.call('DeleteClaim', workloadClaim(upf, spec));
  const next = claimOf(await r.call('Claim', workloadClaim({ kind: 'IPClaim', name: 'smf-n3', namespace: 'default' }, spec)));
  assert.is(next.status.prefix, '10.0.1.2/24');
  await r.call('DeleteClaim', workloadClaim({ kind: 'IPClaim', name: 'smf-n3', namespace: 'default' }, spec));
  await r.call('DeleteClaim', prefixClaim('n3-gw', 'vpc-a', 'network', '10.0.1.1/24', {}));
  await r.call('DeleteClaim', aggregateClaim('vpc-a', '10.0.0.0/8'));
  await r.call('DeleteIndex', ni('vpc-a', []));
  r.close();
});

test('the controllers flow after a bare CreateIndex: the aggregate claims define the space; re-opening keeps it', async () => {
  const r = client('resource.proto', 'resource', 'Resource', srv.address);
  await r.call('CreateIndex', ni('vpc-b', []));
  assert.is(claimOf(await r.call('Claim', aggregateClaim('vpc-b', '10.0.0.0/8'))).status.prefix, '10.0.0.0/8');
  assert.is(claimOf(await r.call('Claim', aggregateClaim('vpc-b', '2001:db8::/32'))).metadata.name, '2001-db8---32-vpc-b-aggregate');
  await r.call('CreateIndex', ni('vpc-b', []));
  assert.is(claimOf(await r.call('Claim', prefixClaim('pool1', 'vpc-b', 'pool', '10.1.0.0/16', {}))).status.prefix, '10.1.0.0/16');
  assert.is(
    claimOf(await r.call('Claim', prefixClaim('n6', 'vpc-b', 'network', '2001:db8:0:6::1/64', { 'nephio.org/gateway': 'true' }))).status
      .prefix,
    '2001:db8:0:6::1/64',
  );
  const pool = claimOf(
    await r.call(
      'Claim',
      workloadClaim(
        { kind: 'IPClaim', name: 'p', namespace: 'default' },
        { kind: 'pool', networkInstance: { name: 'vpc-b' }, prefixLength: 24 },
      ),
    ),
  );
  assert.is(pool.status.prefix, '10.1.0.0/24');
  const v6 = claimOf(
    await r.call(
      'Claim',
      workloadClaim(
        { kind: 'IPClaim', name: 'h6', namespace: 'default' },
        { kind: 'network', networkInstance: { name: 'vpc-b' }, addressFamily: 'ipv6' },
      ),
    ),
  );
  assert.equal(v6.status, { prefix: '2001:db8:0:6::2/64', gateway: '2001:db8:0:6::1' });
  // an aggregate from anyone else must lie inside an aggregate (docs/semantics.md)
  const rogue = await codeOf(
    r.call(
      'Claim',
      workloadClaim(
        { kind: 'IPClaim', name: 'rogue', namespace: 'default' },
        { kind: 'aggregate', networkInstance: { name: 'vpc-b' }, prefix: '192.168.0.0/16', createPrefix: true },
      ),
    ),
  );
  assert.is(rogue.code, status.FAILED_PRECONDITION, rogue.details);
  // createPrefix with a host-length prefix is refused
  const host = await codeOf(r.call('Claim', prefixClaim('h', 'vpc-b', 'network', '10.2.0.1/32', {})));
  assert.is(host.code, status.INVALID_ARGUMENT);
  r.close();
});

test('the 2022 injector on alloc: kind ipam, metadata labels stored with the owner labels', async () => {
  const r = client('resource.proto', 'resource', 'Resource', srv.address);
  await r.call('CreateIndex', ni('vpc-c', [{ prefix: '10.0.0.0/8' }]));
  await r.call(
    'Claim',
    prefixClaim('c1-gw', 'vpc-c', 'network', '10.3.0.1/24', { 'nephio.org/gateway': 'true', 'nephio.org/cluster-name': 'c1' }),
  );
  await r.call('Claim', prefixClaim('c1-pool', 'vpc-c', 'pool', '10.4.0.0/16', { 'nephio.org/cluster-name': 'c1' }));
  r.close();
  const a = client('alloc2022.proto', 'alloc', 'Allocation', srv.address);
  const req = (name: string, prefixkind: string, extra: Json = {}) => ({
    namespace: 'upf',
    name,
    kind: 'ipam',
    labels: { 'app.kubernetes.io/part-of': 'upf' },
    spec: { prefixkind, selector: { 'nephio.org/network-instance': 'vpc-c', 'nephio.org/cluster-name': 'c1' }, ...extra },
  });
  const n3 = await a.call('Allocation', req('n3', 'network'));
  assert.equal(n3, { allocatedPrefix: '10.3.0.2/24', gateway: '10.3.0.1' });
  assert.equal(await a.call('Allocation', req('pool', 'pool', { prefixLength: 24 })), { allocatedPrefix: '10.4.0.0/24', gateway: '' });
  // what the server stored: the Request's labels and the owner labels of the IPAllocation
  const r2 = client('resource.proto', 'resource', 'Resource', srv.address);
  const found = claimOf(
    await r2.call(
      'GetClaim',
      workloadClaim(
        { kind: 'IPClaim', name: 'q', namespace: 'default' },
        {
          kind: 'network',
          networkInstance: { name: 'vpc-c' },
          selector: {
            matchLabels: {
              'nephio.org/nsn-name': 'n3',
              'nephio.org/nsn-namespace': 'upf',
              'nephio.org/gvk': 'IPAllocation.v1alpha1.ipam.nephio.org',
              'app.kubernetes.io/part-of': 'upf',
            },
          },
        },
      ),
    ),
  );
  assert.equal(found.status, { prefix: '10.3.0.2/24', gateway: '10.3.0.1' });
  r2.close();
  // DeAllocation takes the same Request
  await a.call('DeAllocation', req('n3', 'network'));
  assert.equal(await a.call('Allocation', req('n3b', 'network')), n3);
  a.close();
});

test('the 2023 alloc calls: CreateIndex, Allocate, GetAllocation, DeAllocate, DeleteIndex over whole objects', async () => {
  const AG = 'ipam.alloc.nephio.org';
  const a = client('alloc2023.proto', 'alloc', 'Allocation', srv.address);
  await a.call('CreateIndex', ni('vpc-d', [], AG));
  assert.is(JSON.parse((await a.call('Allocate', aggregateClaim('vpc-d', '10.0.0.0/8', {}, AG))).status).status.prefix, '10.0.0.0/8');
  await a.call(
    'Allocate',
    prefixClaim('gw', 'vpc-d', 'network', '10.5.0.1/24', { 'nephio.org/gateway': 'true', 'nephio.org/cluster-name': 'c1' }, AG),
  );
  const o = { kind: 'IPAllocation', name: 'amf-n2', namespace: 'default' };
  const spec = { kind: 'network', networkInstance: { name: 'vpc-d' }, selector: { matchLabels: { 'nephio.org/cluster-name': 'c1' } } };
  const res = await a.call('Allocate', workloadClaim(o, spec, AG));
  const obj = JSON.parse(res.status);
  assert.is(obj.kind, 'IPAllocation');
  assert.equal(obj.status, { prefix: '10.5.0.2/24', gateway: '10.5.0.1' });
  const got = await a.call(
    'GetAllocation',
    workloadClaim({ ...o, name: 'ue' }, { ...spec, selector: { matchLabels: { 'nephio.org/nsn-name': 'amf-n2' } } }, AG),
  );
  assert.is(JSON.parse(got.status).status.prefix, '10.5.0.2/24');
  await a.call('DeAllocate', workloadClaim(o, spec, AG));
  assert.is(JSON.parse((await a.call('Allocate', workloadClaim({ ...o, name: 'other' }, spec, AG))).status).status.prefix, '10.5.0.2/24');
  const dep = await codeOf(a.call('DeleteIndex', ni('vpc-d', [], AG)));
  assert.is(dep.code, status.FAILED_PRECONDITION, 'an index still in use is not deleted');
  a.close();
});

// ---- VLAN: the original's VLAN client proxy (pkg/proxy/clientproxy/vlan NormalizeKRMToResourcePb)
// and Nephio's vlan-fn (krm-functions/vlan-fn: a claim is renamed to its vlanClaimName before
// Claim; a lookup is GetClaim of the claim as it is)

const VG = 'vlan.resource.nephio.org';
const VAG = 'vlan.alloc.nephio.org';

function vlanIndexReq(name: string, group = VG, spec: Json = {}) {
  const kind = group === VG ? 'VLANIndex' : 'VLANDatabase';
  return {
    header: {
      gvk: { group, version: 'v1alpha1', kind },
      nsn: { namespace: 'default', name },
      ownerGvk: { group, version: 'v1alpha1', kind },
      ownerNsn: { namespace: 'default', name },
    },
    spec: JSON.stringify({
      apiVersion: `${group}/v1alpha1`,
      kind,
      metadata: { name, namespace: 'default', creationTimestamp: null },
      spec,
      status: {},
    }),
    expiryTime: 'never',
  };
}

/** A VLANClaim (VLANAllocation) as the client proxy sends it; `from` is the object it started from. */
function vlanClaimReq(from: Obj & { annotations?: Record<string, string> }, spec: Json, group = VG, status: Json = {}) {
  const kind = group === VG ? 'VLANClaim' : 'VLANAllocation';
  const meta = {
    name: from.name,
    namespace: from.namespace,
    creationTimestamp: null,
    ...(from.labels ? { labels: from.labels } : {}),
    ...(from.annotations ? { annotations: from.annotations } : {}),
  };
  const obj = {
    apiVersion: `${group}/v1alpha1`,
    kind,
    metadata: meta,
    spec: { ...spec, labels: { ...(spec.labels ?? {}), ...ownerLabels({ ...from, kind }, group) } },
    status,
  };
  const h = header(from, from.name, group);
  return { header: { ...h, gvk: { group, version: 'v1alpha1', kind } }, spec: JSON.stringify(obj), expiryTime: 'never' };
}

/** ClaimResponse.status as json.Unmarshal reads it into a VLANClaim. */
function vlanOf(res: Json): Json {
  assert.is(res.statusCode, 'Valid');
  const c = JSON.parse(res.status);
  assert.ok(c.apiVersion && c.kind && c.metadata && c.spec, `the whole object: ${res.status}`);
  for (const k of Object.keys(c.status))
    assert.ok(['conditions', 'vlanID', 'vlanRange', 'expiryTime'].includes(k), `status.${k} is a VLANClaimStatus field`);
  return c.status;
}

test('the VLAN client proxy and vlan-fn on resource: CreateIndex, an operator VLAN, claims renamed to their vlanClaimName, lookup, delete', async () => {
  const r = client('resource.proto', 'resource', 'Resource', srv.address);
  await r.call('CreateIndex', vlanIndexReq('cluster01'));
  await r.call('CreateIndex', vlanIndexReq('cluster01')); // reopening is harmless
  // the operator's VLAN 100: a VLANClaim built from the VLAN's metadata, owner-gvk VLAN
  const vlan100 = {
    kind: 'VLAN',
    name: 'vlan100',
    namespace: 'default',
    labels: { 'nephio.org/owner-gvk': 'VLAN.v1alpha1.vlan.resource.nephio.org' },
  };
  assert.equal(
    vlanOf(await r.call('Claim', vlanClaimReq(vlan100, { vlanIndex: { name: 'cluster01', namespace: 'default' }, vlanID: 100 }))),
    { vlanID: 100 },
  );
  // vlan-fn: the UPF's n3 claim renamed to vpc-ran-cluster01-bd; n4 of the same network the same
  const ann = { 'specializer.nephio.org/vlanClaimName': 'vpc-ran-cluster01-bd' };
  const bd = { kind: 'VLANClaim', name: 'vpc-ran-cluster01-bd', namespace: 'default', annotations: ann };
  const spec = { vlanIndex: { name: 'cluster01' } };
  assert.equal(vlanOf(await r.call('Claim', vlanClaimReq(bd, spec))), { vlanID: 2 });
  assert.equal(vlanOf(await r.call('Claim', vlanClaimReq(bd, spec))), { vlanID: 2 }, 'a repeated claim gets the same id');
  // a dynamic claim skips the operator's 100 and the shared 2; a range is a reserved block
  assert.equal(vlanOf(await r.call('Claim', vlanClaimReq({ kind: 'VLANClaim', name: 'n6', namespace: 'default' }, spec))), { vlanID: 3 });
  assert.equal(
    vlanOf(await r.call('Claim', vlanClaimReq({ kind: 'VLANClaim', name: 'trunk', namespace: 'default' }, { ...spec, range: '200:209' }))),
    { vlanRange: '200:209' },
  );
  const taken = await codeOf(
    r.call('Claim', vlanClaimReq({ kind: 'VLANClaim', name: 'overlap', namespace: 'default' }, { ...spec, vlanID: 205 })),
  );
  assert.is(taken.code, status.ALREADY_EXISTS, taken.details);
  // vlan-fn's lookup: GetClaim of the UERANSIM claim as it is (not renamed): its vlanClaimName's id
  const gnb = { kind: 'VLANClaim', name: 'ueransimgnb-n3', namespace: 'default', annotations: { ...ann, 'nephio.org/action': 'get' } };
  assert.equal(vlanOf(await r.call('GetClaim', vlanClaimReq(gnb, spec))), { vlanID: 2 });
  const none = await codeOf(r.call('GetClaim', vlanClaimReq({ kind: 'VLANClaim', name: 'nobody', namespace: 'default' }, spec)));
  assert.is(none.code, status.NOT_FOUND, none.details);
  // a claim answered with its stored status keeps it (sticky); a reserved id is refused naming the field
  assert.equal(
    vlanOf(await r.call('Claim', vlanClaimReq({ kind: 'VLANClaim', name: 'sticky', namespace: 'default' }, spec, VG, { vlanID: 7 }))),
    { vlanID: 7 },
  );
  const reserved = await codeOf(
    r.call('Claim', vlanClaimReq({ kind: 'VLANClaim', name: 'r', namespace: 'default' }, { ...spec, vlanID: 4095 })),
  );
  assert.is(reserved.code, status.INVALID_ARGUMENT);
  assert.match(reserved.details, /spec\.vlanID 4095 is reserved/);
  const noIndex = await codeOf(
    r.call('Claim', vlanClaimReq({ kind: 'VLANClaim', name: 'x', namespace: 'default' }, { vlanIndex: { name: 'cluster99' } })),
  );
  assert.is(noIndex.code, status.NOT_FOUND);
  assert.match(noIndex.details, /VLAN index default\/cluster99 not found/);
  // the index is in use: not deleted; DeleteClaim frees (by the same object), the lowest id comes back
  const inUse = await codeOf(r.call('DeleteIndex', vlanIndexReq('cluster01')));
  assert.is(inUse.code, status.FAILED_PRECONDITION, inUse.details);
  await r.call('DeleteClaim', vlanClaimReq(bd, spec));
  assert.equal(vlanOf(await r.call('Claim', vlanClaimReq({ kind: 'VLANClaim', name: 'later', namespace: 'default' }, spec))), {
    vlanID: 2,
  });
  for (const n of ['n6', 'trunk', 'sticky', 'later'])
    await r.call('DeleteClaim', vlanClaimReq({ kind: 'VLANClaim', name: n, namespace: 'default' }, spec));
  await r.call('DeleteClaim', vlanClaimReq(vlan100, { vlanIndex: { name: 'cluster01', namespace: 'default' }, vlanID: 100 }));
  await r.call('DeleteIndex', vlanIndexReq('cluster01'));
  const gone = await codeOf(r.call('Claim', vlanClaimReq({ kind: 'VLANClaim', name: 'late', namespace: 'default' }, spec)));
  assert.is(gone.code, status.NOT_FOUND, 'the index is gone');
  r.close();
});

test('the 2023 VLAN calls on alloc: a VLANDatabase of kind device, Allocate, GetAllocation, DeAllocate', async () => {
  const a = client('alloc2023.proto', 'alloc', 'Allocation', srv.address);
  await a.call('CreateIndex', vlanIndexReq('edge1', VAG, { kind: 'device', labels: { site: 'edge1' } }));
  const o = { kind: 'VLANAllocation', name: 'upf-n3', namespace: 'default' };
  const spec = { vlanDatabase: { name: 'edge1', namespace: 'default' }, selector: { matchLabels: { site: 'edge1' } } };
  const res = await a.call('Allocate', vlanClaimReq(o, spec, VAG));
  assert.is(JSON.parse(res.status).kind, 'VLANAllocation');
  assert.equal(vlanOf(res), { vlanID: 2 });
  assert.equal(vlanOf(await a.call('GetAllocation', vlanClaimReq(o, spec, VAG))), { vlanID: 2 });
  await a.call('DeAllocate', vlanClaimReq(o, spec, VAG));
  const none = await codeOf(a.call('GetAllocation', vlanClaimReq(o, spec, VAG)));
  assert.is(none.code, status.NOT_FOUND);
  await a.call('DeleteIndex', vlanIndexReq('edge1', VAG));
  a.close();
});

test('bad input is INVALID_ARGUMENT naming the field: spec not JSON, wrong GVK, missing metadata.name', async () => {
  const r = client('resource.proto', 'resource', 'Resource', srv.address);
  const base = workloadClaim({ kind: 'IPClaim', name: 'x', namespace: 'default' }, { kind: 'network', networkInstance: { name: 'vpc-a' } });
  const cases: [string, Json, RegExp][] = [
    ['Claim', { ...base, spec: '{"apiVersion":' }, /spec: not JSON/],
    ['Claim', { ...base, spec: '[1]' }, /spec: must be a JSON object/],
    ['Claim', { ...base, spec: ni('v', []).spec }, /spec\.kind: object kind "NetworkInstance"/],
    ['CreateIndex', { ...ni('v', []), spec: base.spec }, /spec\.kind: object kind "IPClaim"/],
    [
      'Claim',
      { ...base, header: { ...base.header, gvk: { group: 'example.com', version: 'v1', kind: 'IPClaim' } } },
      /header\.gvk\.group: no backend for API group "example\.com"/,
    ],
    ['Claim', { ...base, spec: base.spec.replace('"name":"x",', '') }, /spec\.metadata\.name/],
    ['DeleteClaim', { ...base, spec: 'nope' }, /spec: not JSON/],
    ['GetClaim', { ...base, spec: JSON.stringify({ ...JSON.parse(base.spec), status: 'done' }) }, /spec\.status: must be an object/],
  ];
  for (const [rpc, req, msg] of cases) {
    const e = await codeOf(r.call(rpc, req));
    assert.is(e.code, status.INVALID_ARGUMENT, `${rpc}: ${e.details}`);
    assert.match(e.details, msg);
  }
  r.close();
});

test.run();
