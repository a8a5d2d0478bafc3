// A package-scoped token never releases or captures what other packages hold: space in a
// shared network instance is the operator's (seed or an unscoped token), and a forced release
// by a scoped token frees only its own package's allocations.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Metadata, status } from '@grpc/grpc-js';
import { parseTokenFile } from '../../src/server/auth.js';
import { codeOf, inProcess, raw } from './helpers.js';

const TOKENS = 'operator-token-01\npkg-a-token-0001  pkg-a\npkg-b-token-0001  pkg-b\n';
const bearer = (t: string) => {
  const md = new Metadata();
  md.set('authorization', `Bearer ${t}`);
  return md;
};
type Conn = ReturnType<typeof raw>;
const as = (address: string, service: 'alloc' | 'resource' | 'admin', token: string): Conn =>
  raw(service, address, undefined, bearer(token));
const C1 = { 'nephio.org/cluster-name': 'c1' };
const vpc = { name: 'vpc' };

async function held(admin: Conn, owner: string): Promise<string[]> {
  const r = await admin.call<{ allocations: { prefix: string }[] }>('ListAllocations', { owner });
  return r.allocations.map((a) => a.prefix);
}

test("a scoped token cannot add space to the operator's network instance, by any protocol; requests keep the operator's prefixes", async () => {
  const srv = await inProcess({ tokens: parseTokenFile(TOKENS) });
  const a = as(srv.address, 'admin', 'pkg-a-token-0001');
  const denied = async (p: Promise<unknown>, what: string) => {
    const e = await codeOf(p);
    assert.is(e.code, status.PERMISSION_DENIED, `${what}: ${e.details}`);
    assert.match(e.details, /network instance default\/vpc: it is shared.*operator/, what);
  };
  // an aggregate covering everything, and a pool carrying the operator's selector labels
  await denied(
    a.call('ApplyPrefix', { networkInstance: vpc, prefix: '0.0.0.0/0', kind: 'aggregate', owner: 'pkg-a|default/IPPrefix/all' }),
    'admin aggregate',
  );
  await denied(
    a.call('ApplyPrefix', {
      networkInstance: vpc,
      prefix: '10.0.77.0/24',
      kind: 'network',
      labels: C1,
      owner: 'pkg-a|default/IPPrefix/c1',
    }),
    'admin pool',
  );
  const batch = await a.call<{ spaceErrors: { code: number; message: string }[] }>('Batch', {
    package: 'pkg-a',
    prefixes: [{ networkInstance: vpc, prefix: '10.0.77.0/24', kind: 'network', labels: C1, owner: 'default/IPPrefix/c1' }],
  });
  assert.is(batch.spaceErrors.length, 1);
  assert.is(batch.spaceErrors[0]!.code, status.PERMISSION_DENIED, batch.spaceErrors[0]!.message);
  // alloc and resource protocols
  const alloc = as(srv.address, 'alloc', 'pkg-a-token-0001');
  await denied(
    alloc.call('Allocation', {
      name: 'c1',
      kind: 'IPPrefix',
      labels: { 'ipam-injector.dev/package': 'pkg-a', ...C1 },
      spec: { prefixkind: 'network', prefix: '10.0.77.0/24', selector: { 'nephio.org/network-instance': 'vpc' } },
    }),
    'alloc IPPrefix',
  );
  const res = as(srv.address, 'resource', 'pkg-a-token-0001');
  const header = {
    gvk: { group: 'ipam.resource.nephio.org', version: 'v1alpha1', kind: 'IPPrefix' },
    nsn: { namespace: 'default', name: 'c1' },
    ownerGvk: { group: 'ipam-injector.dev', version: 'v1', kind: 'Package' },
    ownerNsn: { name: 'pkg-a' },
  };
  await denied(
    res.call('Claim', { header, spec: JSON.stringify({ kind: 'network', prefix: '10.0.77.0/24', networkInstance: vpc, labels: C1 }) }),
    'resource IPPrefix',
  );
  // nothing was added: another package's request for cluster c1 gets the operator's prefix
  const b = as(srv.address, 'admin', 'pkg-b-token-0001');
  const got = await b.call<{ prefix: string }>('Allocate', {
    owner: 'pkg-b|default/IPClaim/x',
    networkInstance: vpc,
    kind: 'network',
    selector: { matchLabels: C1 },
  });
  assert.is(got.prefix, '10.0.1.2/24');
  // the operator may add space; a package may in a network instance it defines itself
  const op = as(srv.address, 'admin', 'operator-token-01');
  await op.call('ApplyPrefix', {
    networkInstance: vpc,
    prefix: '10.0.78.0/24',
    kind: 'network',
    labels: { 'nephio.org/cluster-name': 'c2' },
    owner: 'ops|default/IPPrefix/c2',
  });
  await a.call('ApplyNetworkInstance', {
    ref: { name: 'a-net' },
    prefixes: [{ prefix: '172.16.0.0/16' }],
    owner: 'pkg-a|default/NetworkInstance/a-net',
  });
  await a.call('ApplyPrefix', {
    networkInstance: { name: 'a-net' },
    prefix: '172.16.1.0/24',
    kind: 'network',
    owner: 'pkg-a|default/IPPrefix/p',
  });
  // but not change one another package defined
  const e = await codeOf(
    b.call('ApplyPrefix', {
      networkInstance: { name: 'a-net' },
      prefix: '172.16.2.0/24',
      kind: 'network',
      owner: 'pkg-b|default/IPPrefix/q',
    }),
  );
  assert.is(e.code, status.PERMISSION_DENIED);
  for (const c of [a, alloc, res, b, op]) c.close();
  await srv.shutdown();
});

test("a scoped token's forced release frees only its own package's allocations; the operator's frees all", async () => {
  const srv = await inProcess({ tokens: parseTokenFile(TOKENS) });
  const a = as(srv.address, 'admin', 'pkg-a-token-0001');
  const b = as(srv.address, 'admin', 'pkg-b-token-0001');
  const op = as(srv.address, 'admin', 'operator-token-01');
  const aNet = { name: 'a-net' };
  await a.call('ApplyNetworkInstance', {
    ref: aNet,
    prefixes: [{ prefix: '172.16.0.0/16' }],
    owner: 'pkg-a|default/NetworkInstance/a-net',
  });
  await a.call('ApplyPrefix', {
    networkInstance: aNet,
    prefix: '172.16.1.0/24',
    kind: 'network',
    labels: { net: 'a' },
    owner: 'pkg-a|default/IPPrefix/p',
  });
  const claim = (owner: string) => ({ owner, networkInstance: aNet, kind: 'network', selector: { matchLabels: { net: 'a' } } });
  const bAddr = (await b.call<{ prefix: string }>('Allocate', claim('pkg-b|default/IPClaim/b1'))).prefix;
  const aAddr = (await a.call<{ prefix: string }>('Allocate', claim('pkg-a|default/IPClaim/a1'))).prefix;

  for (const owner of ['pkg-a|default/IPPrefix/p', 'pkg-a|default/NetworkInstance/a-net']) {
    const e = await codeOf(a.call('Release', { owner, force: true }));
    assert.is(e.code, status.PERMISSION_DENIED, e.details);
    assert.match(e.details, /cannot force-release other packages' allocations/);
  }
  assert.equal(await held(op, 'pkg-b|default/IPClaim/b1'), [bAddr], 'B keeps its address');
  assert.equal(await held(op, 'pkg-a|default/IPClaim/a1'), [aAddr], 'a refused release changes nothing');
  // a scoped token cannot reach the operator's space either
  assert.is((await codeOf(a.call('Release', { owner: 'seed|default/IPPrefix/n3', force: true }))).code, status.PERMISSION_DENIED);

  // once only its own allocations depend on it, the package may force
  await b.call('Release', { owner: 'pkg-b|default/IPClaim/b1' });
  const freed = await a.call<{ released: { owner: string }[] }>('Release', { owner: 'pkg-a|default/IPPrefix/p', force: true });
  assert.equal(
    freed.released.map((x) => x.owner),
    ['pkg-a|default/IPClaim/a1'],
  );

  // the operator's force still frees everything under the prefix
  await a.call('ApplyPrefix', {
    networkInstance: aNet,
    prefix: '172.16.1.0/24',
    kind: 'network',
    labels: { net: 'a' },
    owner: 'pkg-a|default/IPPrefix/p',
  });
  await b.call('Allocate', claim('pkg-b|default/IPClaim/b1'));
  const all = await op.call<{ released: { owner: string }[] }>('Release', { owner: 'pkg-a|default/IPPrefix/p', force: true });
  assert.equal(
    all.released.map((x) => x.owner),
    ['pkg-b|default/IPClaim/b1'],
  );
  for (const c of [a, b, op]) c.close();
  await srv.shutdown();
});

test.run();
