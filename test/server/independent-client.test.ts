// A client that knows nothing of our code: it loads proto/alloc.proto and
// proto/resource.proto as text with @grpc/proto-loader (as a third party would) and talks to
// the real `ipam-injector serve` process, allocating and releasing through both protocols.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { credentials, loadPackageDefinition, type GrpcObject, type ServiceClientConstructor, type ServiceError } from '@grpc/grpc-js';

type ServiceClient = InstanceType<ServiceClientConstructor>;
import { loadSync } from '@grpc/proto-loader';
import { cleanup, root, spawnServer, tmp, writeSeed, type Spawned } from './helpers.js';

// Third-party style options: original field names, enums as strings, defaults filled in.
const def = loadSync(['alloc.proto', 'resource.proto'], { includeDirs: [`${root}proto`], keepCase: true, enums: String, defaults: true });
const pkg = loadPackageDefinition(def);
const service = (ns: string, name: string) => (pkg[ns] as GrpcObject)[name] as ServiceClientConstructor;

let server: Spawned;
let alloc: ServiceClient;
let res: ServiceClient;

const call = <T>(client: ServiceClient, method: string, req: unknown): Promise<T> =>
  new Promise((ok, ko) => client[method]!.call(client, req, (e: ServiceError | null, r: T) => (e ? ko(e) : ok(r))));

test.before(async () => {
  const dir = tmp();
  server = await spawnServer(['--data', `${dir}/data`, '--seed', writeSeed(dir)]);
  alloc = new (service('alloc', 'Allocation'))(server.address, credentials.createInsecure());
  res = new (service('resource', 'Resource'))(server.address, credentials.createInsecure());
});

test.after(async () => {
  alloc.close();
  res.close();
  server.proc.kill('SIGTERM');
  assert.is(await server.exited, 0, 'graceful SIGTERM exits 0');
  cleanup();
});

test('alloc.Allocation: allocate, repeat, deallocate, reallocate (original field names)', async () => {
  const req = {
    namespace: 'default',
    name: 'upf-n3',
    kind: 'ipam',
    labels: {},
    spec: {
      prefixkind: 'network',
      prefix: '',
      prefixLength: 0,
      network: '',
      addressFamily: '',
      selector: { 'nephio.org/network-instance': 'vpc', 'nephio.org/cluster-name': 'c1' },
    },
  };
  const r1 = await call<{ allocatedPrefix: string; gateway: string }>(alloc, 'Allocation', req);
  assert.equal(r1, { allocatedPrefix: '10.0.1.2/24', gateway: '10.0.1.1' });
  const again = await call<{ allocatedPrefix: string }>(alloc, 'Allocation', req);
  assert.is(again.allocatedPrefix, '10.0.1.2/24');
  const other = await call<{ allocatedPrefix: string }>(alloc, 'Allocation', { ...req, name: 'smf-n3' });
  assert.is(other.allocatedPrefix, '10.0.1.3/24');
  await call(alloc, 'DeAllocation', req);
  const third = await call<{ allocatedPrefix: string }>(alloc, 'Allocation', { ...req, name: 'amf-n3' });
  assert.is(third.allocatedPrefix, '10.0.1.2/24', 'the released address is the lowest free again');
  // pool by prefix length and family
  const pool = await call<{ allocatedPrefix: string; gateway: string }>(alloc, 'Allocation', {
    ...req,
    name: 'pool-a',
    spec: { ...req.spec, prefixkind: 'pool', prefixLength: 24, selector: { 'nephio.org/network-instance': 'vpc' } },
  });
  assert.is(pool.allocatedPrefix, '10.128.0.0/24');
  assert.is(pool.gateway, '');
  const v6 = await call<{ allocatedPrefix: string }>(alloc, 'Allocation', {
    ...req,
    name: 'v6-a',
    spec: { ...req.spec, prefixkind: 'pool', prefixLength: 64, addressFamily: 'ipv6', selector: { 'nephio.org/network-instance': 'vpc' } },
  });
  assert.is(v6.allocatedPrefix, '2001:db8::/64');
  for (const name of ['smf-n3', 'amf-n3', 'pool-a', 'v6-a']) await call(alloc, 'DeAllocation', { ...req, name });
});

test('alloc.Allocation: errors come back as standard status codes', async () => {
  try {
    await call(alloc, 'Allocation', { name: 'x', spec: { prefixkind: 'network', selector: { 'nephio.org/network-instance': 'missing' } } });
    assert.unreachable();
  } catch (e) {
    assert.is((e as ServiceError).code, 5); // NOT_FOUND
  }
});

test('resource.Resource: Claim, GetClaim, DeleteClaim with JSON claims', async () => {
  const header = {
    gvk: { group: 'ipam.resource.nephio.org', version: 'v1alpha1', kind: 'IPClaim' },
    nsn: { namespace: 'default', name: 'upf-cluster01-n3' },
    ownerGvk: { group: 'req.nephio.org', version: 'v1alpha1', kind: 'Interface' },
    ownerNsn: { namespace: 'default', name: 'n3' },
  };
  const spec = JSON.stringify({
    kind: 'network',
    networkInstance: { name: 'vpc' },
    selector: { matchLabels: { 'nephio.org/cluster-name': 'c1' } },
  });
  const c = await call<{ status: string; statusCode: string; header: typeof header }>(res, 'Claim', { header, spec, expiryTime: '' });
  assert.equal(JSON.parse(c.status), { prefix: '10.0.1.2/24', gateway: '10.0.1.1' });
  assert.is(c.statusCode, 'Valid');
  assert.equal(c.header.nsn, header.nsn);
  const g = await call<{ status: string }>(res, 'GetClaim', { header, spec: '', expiryTime: '' });
  assert.is(JSON.parse(g.status).prefix, '10.0.1.2/24');
  const d = await call<object>(res, 'DeleteClaim', { header, spec: '', expiryTime: '' });
  assert.equal(d, {});
  try {
    await call(res, 'GetClaim', { header, spec: '', expiryTime: '' });
    assert.unreachable();
  } catch (e) {
    assert.is((e as ServiceError).code, 5);
  }
  // the whole IPClaim object as JSON (as the original client sends it), with status.prefix as
  // a sticky hint, is answered with the whole object, status filled
  const whole = JSON.stringify({
    apiVersion: 'ipam.resource.nephio.org/v1alpha1',
    kind: 'IPClaim',
    metadata: { name: 'upf-cluster01-n3' },
    spec: JSON.parse(spec),
    status: { prefix: '10.0.1.7/24' },
  });
  const sticky = await call<{ status: string }>(res, 'Claim', { header, spec: whole, expiryTime: '' });
  const answered = JSON.parse(sticky.status);
  assert.is(answered.kind, 'IPClaim');
  assert.is(answered.metadata.name, 'upf-cluster01-n3');
  assert.equal(answered.status, { prefix: '10.0.1.7/24', gateway: '10.0.1.1' });
  await call(res, 'DeleteClaim', { header, spec: '', expiryTime: '' });
});

test.run();
