// The server in process, on a loopback port, over the wire: both compatibility protocols,
// the admin service, status codes, limits, owner isolation, health, reflection, metrics.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { credentials, loadPackageDefinition, Metadata, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { once } from 'node:events';
import { scrapeMetrics } from '../support/metrics.js';
import { codeOf, inProcess, raw, root } from './helpers.js';
import type { RunningServer } from '../../src/server/server.js';

let srv: RunningServer;
let alloc: ReturnType<typeof raw>;
let res: ReturnType<typeof raw>;
let admin: ReturnType<typeof raw>;

test.before(async () => {
  srv = await inProcess({ metrics: '127.0.0.1:0', limits: { maxLabels: 8, maxMessageBytes: 64 * 1024 } });
  alloc = raw('alloc', srv.address);
  res = raw('resource', srv.address);
  admin = raw('admin', srv.address);
});

test.after(async () => {
  alloc.close();
  res.close();
  admin.close();
  await srv.shutdown();
});

/** Polls `cond` until it holds (10 s at most): event streams are asynchronous. */
async function until(cond: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + 10_000;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not reached in 10 s');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const allocReq = (
  name: string,
  selector: Record<string, string>,
  extra: Record<string, unknown> = {},
  labels: Record<string, string> = {},
) => ({
  namespace: 'default',
  name,
  kind: 'ipam',
  labels: { 'ipam-injector.dev/package': 'pkg-a', ...labels },
  spec: { prefixkind: 'network', selector: { 'nephio.org/network-instance': 'vpc', ...selector }, ...extra },
});

test('alloc: Allocation answers an address and the gateway; asking again gives the same', async () => {
  const r1 = await alloc.call('Allocation', allocReq('upf-n3', { 'nephio.org/cluster-name': 'c1' }));
  assert.equal(r1, { allocatedPrefix: '10.0.1.2/24', gateway: '10.0.1.1' });
  const r2 = await alloc.call('Allocation', allocReq('upf-n3', { 'nephio.org/cluster-name': 'c1' }));
  assert.equal(r2, r1);
  const r3 = await alloc.call('Allocation', allocReq('smf-n3', { 'nephio.org/cluster-name': 'c1' }));
  assert.is(r3.allocatedPrefix, '10.0.1.3/24');
});

test('alloc: DeAllocation frees the address for the next owner', async () => {
  await alloc.call('DeAllocation', allocReq('upf-n3', {}));
  const r = await alloc.call('Allocation', allocReq('amf-n3', { 'nephio.org/cluster-name': 'c1' }));
  assert.is(r.allocatedPrefix, '10.0.1.2/24');
  await alloc.call('DeAllocation', allocReq('amf-n3', {}));
  await alloc.call('DeAllocation', allocReq('smf-n3', {}));
  await alloc.call('DeAllocation', allocReq('never-held', {})); // releasing nothing is no error
});

test("an owner cannot release another package's allocation of the same name", async () => {
  const mine = await alloc.call('Allocation', allocReq('shared-name', { 'nephio.org/cluster-name': 'c1' }));
  // package B releases "default/IPAllocation/shared-name": that is B's owner key, not A's
  await alloc.call('DeAllocation', { ...allocReq('shared-name', {}), labels: { 'ipam-injector.dev/package': 'pkg-b' } });
  const list = await admin.call<{ allocations: { owner: string; prefix: string }[] }>('ListAllocations', { ownerPrefix: 'pkg-a|' });
  assert.ok(list.allocations.some((a) => a.owner === 'pkg-a|default/IPAllocation/shared-name' && a.prefix === mine.allocatedPrefix));
  // and B asking for the same name gets its own, different address
  const theirs = await alloc.call('Allocation', {
    ...allocReq('shared-name', { 'nephio.org/cluster-name': 'c1' }),
    labels: { 'ipam-injector.dev/package': 'pkg-b' },
  });
  assert.is.not(theirs.allocatedPrefix, mine.allocatedPrefix);
  await alloc.call('DeAllocation', allocReq('shared-name', {}));
  await alloc.call('DeAllocation', { ...allocReq('shared-name', {}), labels: { 'ipam-injector.dev/package': 'pkg-b' } });
});

test('status codes: INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, RESOURCE_EXHAUSTED, FAILED_PRECONDITION', async () => {
  const noNi = await codeOf(alloc.call('Allocation', { name: 'x', spec: { prefixkind: 'network', selector: {} } }));
  assert.is(noNi.code, status.INVALID_ARGUMENT);
  assert.match(noNi.details, /nephio\.org\/network-instance/);
  assert.is(noNi.metadata.get('ipam-field')[0], 'spec.selector[nephio.org/network-instance]');

  const badKind = await codeOf(alloc.call('Allocation', allocReq('x', {}, { prefixkind: 'subnet' })));
  assert.is(badKind.code, status.INVALID_ARGUMENT);
  assert.match(badKind.details, /unknown prefix kind "subnet"/);

  const noName = await codeOf(alloc.call('Allocation', { ...allocReq('', {}) }));
  assert.is(noName.code, status.INVALID_ARGUMENT);
  assert.match(noName.details, /name: is required/);

  const unknownNi = await codeOf(alloc.call('Allocation', allocReq('x', { 'nephio.org/network-instance': 'nope' })));
  assert.is(unknownNi.code, status.NOT_FOUND);
  assert.match(unknownNi.details, /nope/);

  const noMatch = await codeOf(alloc.call('Allocation', allocReq('x', { 'nephio.org/cluster-name': 'nowhere' })));
  assert.is(noMatch.code, status.NOT_FOUND);

  // 10.0.9.0/30 has two usable addresses
  await alloc.call('Allocation', allocReq('t1', { 'nephio.org/cluster-name': 'tiny' }));
  await alloc.call('Allocation', allocReq('t2', { 'nephio.org/cluster-name': 'tiny' }));
  const full = await codeOf(alloc.call('Allocation', allocReq('t3', { 'nephio.org/cluster-name': 'tiny' })));
  assert.is(full.code, status.RESOURCE_EXHAUSTED);
  assert.is(full.metadata.get('ipam-reason')[0], 'Exhausted');

  const taken = await codeOf(alloc.call('Allocation', allocReq('t4', {}, { prefix: '10.0.9.1/30' })));
  assert.is(taken.code, status.ALREADY_EXISTS);

  // a network prefix outside every aggregate
  const outside = await codeOf(
    alloc.call('Allocation', {
      namespace: 'default',
      name: 'p-out',
      kind: 'IPPrefix',
      labels: {},
      spec: { prefixkind: 'network', prefix: '192.168.0.0/24', selector: { 'nephio.org/network-instance': 'vpc' } },
    }),
  );
  assert.is(outside.code, status.FAILED_PRECONDITION);
  assert.match(outside.details, /aggregate/);

  // removing a prefix with other owners' allocations inside is refused with the dependents
  const dep = await codeOf(
    alloc.call('DeAllocation', { namespace: 'default', name: 'tiny', kind: 'IPPrefix', labels: { 'ipam-injector.dev/package': 'seed' } }),
  );
  assert.is(dep.code, status.FAILED_PRECONDITION);
  assert.match(String(dep.metadata.get('ipam-dependents')[0]), /pkg-a\|default\/IPAllocation\/t1/);
  await alloc.call('DeAllocation', allocReq('t1', {}));
  await alloc.call('DeAllocation', allocReq('t2', {}));
});

test('limits: label counts and message size', async () => {
  const many = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k${i}`, 'v']));
  const tooMany = await codeOf(alloc.call('Allocation', allocReq('x', { 'nephio.org/cluster-name': 'c1' }, {}, many)));
  assert.is(tooMany.code, status.INVALID_ARGUMENT);
  assert.match(tooMany.details, /labels: 10 entries, at most 8/);
  const big = await codeOf(alloc.call('Allocation', allocReq('x', {}, { prefix: 'x'.repeat(70_000) })));
  assert.is(big.code, status.RESOURCE_EXHAUSTED);
  const tooLongValue = await codeOf(
    res.call('Claim', {
      header: { nsn: { name: 'c' } },
      spec: JSON.stringify({ kind: 'network', networkInstance: { name: 'vpc' }, labels: { a: 'v'.repeat(2000) } }),
    }),
  );
  assert.is(tooLongValue.code, status.INVALID_ARGUMENT);
  assert.match(tooLongValue.details, /spec\.labels\[a\]: value longer than 1024/);
});

const claimHeader = (name: string, pkg = 'pkg-r') => ({
  gvk: { group: 'ipam.resource.nephio.org', version: 'v1alpha1', kind: 'IPClaim' },
  nsn: { namespace: 'default', name },
  ownerGvk: { group: 'ipam-injector.dev', version: 'v1', kind: 'Package' },
  ownerNsn: { name: pkg },
});

test('resource: Claim, GetClaim, dry-run GetClaim, DeleteClaim', async () => {
  const spec = JSON.stringify({
    kind: 'network',
    networkInstance: { name: 'vpc' },
    selector: { matchLabels: { 'nephio.org/cluster-name': 'c1' } },
  });
  const c = await res.call<{ status: string; statusCode: string; header: { nsn: { name: string } } }>('Claim', {
    header: claimHeader('upf-n3'),
    spec,
  });
  assert.equal(JSON.parse(c.status), { prefix: '10.0.1.2/24', gateway: '10.0.1.1' });
  assert.is(c.statusCode, 'Valid');
  assert.is(c.header.nsn.name, 'upf-n3');
  const g = await res.call<{ status: string }>('GetClaim', { header: claimHeader('upf-n3') });
  assert.equal(JSON.parse(g.status), { prefix: '10.0.1.2/24', gateway: '10.0.1.1' });
  // a lookup with a selector answers the first thing stored whose labels match (here the
  // subnet itself), any package's, and reserves nothing; owner labels find one claim
  const dry = await res.call<{ status: string }>('GetClaim', { header: claimHeader('lookup'), spec });
  assert.is(JSON.parse(dry.status).prefix, '10.0.1.0/24');
  const byOwner = await res.call<{ status: string }>('GetClaim', {
    header: claimHeader('lookup', 'pkg-other'),
    spec: JSON.stringify({
      kind: 'network',
      networkInstance: { name: 'vpc' },
      selector: { matchLabels: { 'nephio.org/owner-nsn-name': 'upf-n3' } },
    }),
  });
  assert.equal(JSON.parse(byOwner.status), { prefix: '10.0.1.2/24', gateway: '10.0.1.1' });
  const real = await res.call<{ status: string }>('Claim', { header: claimHeader('other'), spec });
  assert.is(JSON.parse(real.status).prefix, '10.0.1.3/24');
  // matchExpressions travel in the resource protocol
  const expr = await res.call<{ status: string }>('Claim', {
    header: claimHeader('expr'),
    spec: JSON.stringify({
      kind: 'network',
      networkInstance: { name: 'vpc' },
      selector: { matchExpressions: [{ key: 'nephio.org/cluster-name', operator: 'In', values: ['c1', 'c2'] }] },
    }),
  });
  assert.is(JSON.parse(expr.status).prefix, '10.0.1.4/24');
  await res.call('DeleteClaim', { header: claimHeader('upf-n3') });
  const gone = await codeOf(res.call('GetClaim', { header: claimHeader('upf-n3') }));
  assert.is(gone.code, status.NOT_FOUND);
  await res.call('DeleteClaim', { header: claimHeader('other') });
  await res.call('DeleteClaim', { header: claimHeader('expr') });
  const badJson = await codeOf(res.call('Claim', { header: claimHeader('bad'), spec: '{nope' }));
  assert.is(badJson.code, status.INVALID_ARGUMENT);
  assert.match(badJson.details, /spec: not JSON/);
});

test('resource: CreateIndex, IPPrefix claims, pools, DeleteIndex; an index owned by another package is refused', async () => {
  const idx = {
    header: {
      gvk: { kind: 'NetworkInstance' },
      nsn: { name: 'vpc2' },
      ownerGvk: { group: 'ipam-injector.dev', kind: 'Package' },
      ownerNsn: { name: 'pkg-r' },
    },
    spec: JSON.stringify({ prefixes: [{ prefix: '172.16.0.0/12' }] }),
  };
  await res.call('CreateIndex', idx);
  const other = await codeOf(res.call('CreateIndex', { ...idx, header: { ...idx.header, ownerNsn: { name: 'pkg-x' } } }));
  assert.is(other.code, status.ALREADY_EXISTS);
  const pfx = await res.call<{ status: string }>('Claim', {
    header: {
      gvk: { kind: 'IPPrefix' },
      nsn: { name: 'p1' },
      ownerGvk: { group: 'ipam-injector.dev', kind: 'Package' },
      ownerNsn: { name: 'pkg-r' },
    },
    spec: JSON.stringify({ kind: 'pool', prefix: '172.16.0.0/16', networkInstance: { name: 'vpc2' } }),
  });
  assert.is(JSON.parse(pfx.status).prefix, '172.16.0.0/16');
  const pool = await res.call<{ status: string }>('Claim', {
    header: claimHeader('pool-claim'),
    spec: JSON.stringify({ kind: 'pool', networkInstance: { name: 'vpc2' }, prefixLength: 24 }),
  });
  assert.is(JSON.parse(pool.status).prefix, '172.16.0.0/24');
  const dep = await codeOf(res.call('DeleteIndex', idx));
  assert.is(dep.code, status.FAILED_PRECONDITION);
  await res.call('DeleteClaim', { header: claimHeader('pool-claim') });
  await res.call('DeleteClaim', {
    header: {
      gvk: { kind: 'IPPrefix' },
      nsn: { name: 'p1' },
      ownerGvk: { group: 'ipam-injector.dev', kind: 'Package' },
      ownerNsn: { name: 'pkg-r' },
    },
  });
  await res.call('DeleteIndex', idx);
  const nis = await admin.call<{ networkInstances: { name: string }[] }>('ListNetworkInstances', {});
  assert.not.ok(nis.networkInstances.some((n) => n.name === 'vpc2'));
});

test('resource: WatchClaim streams Valid on allocation and InValid on release, for the package only', async () => {
  const md = new Metadata();
  const client = res.client as Client & Record<string, (req: unknown, md: Metadata) => NodeJS.ReadableStream & { cancel(): void }>;
  const stream = client.WatchClaim!(
    { header: { ownerGvk: { group: 'ipam-injector.dev', kind: 'Package' }, ownerNsn: { name: 'pkg-w' } } },
    md,
  );
  const got: { name: string; code: string }[] = [];
  stream.on('data', (d: { header: { nsn: { name: string } }; statusCode: string }) =>
    got.push({ name: d.header.nsn.name, code: d.statusCode }),
  );
  stream.on('error', () => {});
  const spec = JSON.stringify({
    kind: 'network',
    networkInstance: { name: 'vpc' },
    selector: { matchLabels: { 'nephio.org/cluster-name': 'c1' } },
  });
  // the stream is registered once a probe claim of the package shows up on it
  await until(async () => {
    await res.call('Claim', { header: claimHeader('probe', 'pkg-w'), spec });
    await res.call('DeleteClaim', { header: claimHeader('probe', 'pkg-w') });
    return got.some((g) => g.name === 'probe');
  });
  await until(async () => got.filter((g) => g.name === 'probe').length % 2 === 0);
  got.length = 0;
  await res.call('Claim', { header: claimHeader('other-pkg-claim', 'pkg-other'), spec });
  await res.call('Claim', { header: claimHeader('w1', 'pkg-w'), spec });
  await res.call('DeleteClaim', { header: claimHeader('w1', 'pkg-w') });
  await res.call('DeleteClaim', { header: claimHeader('other-pkg-claim', 'pkg-other') });
  // events come in commit order: once the last one is here, nothing before it is missing
  await until(async () => got.length >= 2);
  stream.cancel();
  assert.equal(got, [
    { name: 'w1', code: 'Valid' },
    { name: 'w1', code: 'InValid' },
  ]);
});

test('admin: lists with labels and utilization', async () => {
  const nis = await admin.call<{ networkInstances: { name: string; owner: string; prefixes: { prefix: string }[] }[] }>(
    'ListNetworkInstances',
    {},
  );
  const vpc = nis.networkInstances.find((n) => n.name === 'vpc')!;
  assert.is(vpc.owner, 'seed|default/NetworkInstance/vpc');
  assert.equal(
    vpc.prefixes.map((p) => p.prefix),
    ['10.0.0.0/8', '2001:db8::/32'],
  );
  await alloc.call('Allocation', allocReq('u1', { 'nephio.org/cluster-name': 'c1' }));
  const ps = await admin.call<{
    prefixes: {
      prefix: string;
      kind: string;
      labels: Record<string, string>;
      reserved: string[];
      utilization: { used: string; free: string; total: string };
    }[];
  }>('ListPrefixes', {
    networkInstance: { name: 'vpc' },
    utilization: true,
  });
  const n3 = ps.prefixes.find((p) => p.prefix === '10.0.1.0/24')!;
  assert.is(n3.kind, 'network');
  assert.is(n3.labels['nephio.org/cluster-name'], 'c1');
  assert.equal(n3.reserved, ['10.0.1.1']);
  assert.equal(n3.utilization, { total: '256', used: '4', free: '252' }); // first, last, gateway, u1
  const v6 = ps.prefixes.find((p) => p.prefix === '2001:db8::/32')!;
  assert.is(v6.utilization.total, (1n << 96n).toString());
  const al = await admin.call<{ allocations: { owner: string; labels: Record<string, string> }[] }>('ListAllocations', {
    owner: 'pkg-a|default/IPAllocation/u1',
  });
  assert.is(al.allocations.length, 1);
  await alloc.call('DeAllocation', allocReq('u1', {}));
});

test('admin: Batch applies space, releases, answers requests in order, reports errors per item, prunes', async () => {
  type Batch = {
    outcomes: {
      allocation?: { prefix: string; owner: string };
      error?: { code: number; reason: string; subject: string; message: string };
    }[];
    spaceErrors: { subject: string; code: number }[];
    released: { owner: string }[];
  };
  const b1 = await admin.call<Batch>('Batch', {
    package: 'pkg-batch',
    networkInstances: [{ ref: { name: 'vpc-b' }, prefixes: [{ prefix: '192.168.0.0/16' }], owner: 'default/NetworkInstance/vpc-b' }],
    prefixes: [
      {
        networkInstance: { name: 'vpc-b' },
        prefix: '192.168.1.1/24',
        kind: 'network',
        labels: { role: 'n6' },
        owner: 'default/IPPrefix/n6',
      },
      { networkInstance: { name: 'vpc-b' }, prefix: '10.1.1.0/24', kind: 'network', owner: 'default/IPPrefix/outside' },
    ],
    requests: [
      { owner: 'default/IPClaim/a', networkInstance: { name: 'vpc-b' }, kind: 'network', selector: { matchLabels: { role: 'n6' } } },
      { owner: 'default/IPClaim/b', networkInstance: { name: 'vpc-b' }, kind: 'network', selector: { matchLabels: { role: 'n6' } } },
      { owner: 'default/IPClaim/c', networkInstance: { name: 'vpc-b' }, kind: 'network', selector: { matchLabels: { role: 'none' } } },
      {
        owner: 'default/IPClaim/d',
        networkInstance: { name: 'vpc-b' },
        kind: 'network',
        selector: { matchLabels: { role: 'n6' } },
        dryRun: true,
      },
    ],
  });
  // d is a lookup: the first stored thing its selector matches (the subnet), nothing reserved
  assert.equal(
    b1.outcomes.map((o) => o.allocation?.prefix ?? o.error?.reason),
    ['192.168.1.2/24', '192.168.1.3/24', 'NotFound', '192.168.1.0/24'],
  );
  assert.is(b1.outcomes[0]!.allocation!.owner, 'default/IPClaim/a', 'owners come back package-local');
  assert.is(b1.outcomes[2]!.error!.subject, 'requests[2]');
  assert.is(b1.outcomes[2]!.error!.code, status.NOT_FOUND);
  assert.equal(
    b1.spaceErrors.map((e) => [e.subject, e.code]),
    [['prefixes[1]', status.FAILED_PRECONDITION]],
  );
  // second run: b no longer requested (released), d now real, prune drops nothing else
  const b2 = await admin.call<Batch>('Batch', {
    package: 'pkg-batch',
    networkInstances: [{ ref: { name: 'vpc-b' }, prefixes: [{ prefix: '192.168.0.0/16' }], owner: 'default/NetworkInstance/vpc-b' }],
    prefixes: [
      {
        networkInstance: { name: 'vpc-b' },
        prefix: '192.168.1.1/24',
        kind: 'network',
        labels: { role: 'n6' },
        owner: 'default/IPPrefix/n6',
      },
    ],
    release: ['default/IPClaim/b'],
    requests: [
      { owner: 'default/IPClaim/a', networkInstance: { name: 'vpc-b' }, kind: 'network', selector: { matchLabels: { role: 'n6' } } },
      { owner: 'default/IPClaim/d', networkInstance: { name: 'vpc-b' }, kind: 'network', selector: { matchLabels: { role: 'n6' } } },
    ],
  });
  assert.equal(
    b2.outcomes.map((o) => o.allocation?.prefix),
    ['192.168.1.2/24', '192.168.1.3/24'],
  );
  assert.equal(
    b2.released.map((r) => r.owner),
    ['default/IPClaim/b'],
  );
  // prune: a third run that only keeps "a" releases "d"
  const b3 = await admin.call<Batch>('Batch', {
    package: 'pkg-batch',
    networkInstances: [{ ref: { name: 'vpc-b' }, prefixes: [{ prefix: '192.168.0.0/16' }], owner: 'default/NetworkInstance/vpc-b' }],
    prefixes: [
      {
        networkInstance: { name: 'vpc-b' },
        prefix: '192.168.1.1/24',
        kind: 'network',
        labels: { role: 'n6' },
        owner: 'default/IPPrefix/n6',
      },
    ],
    requests: [
      { owner: 'default/IPClaim/a', networkInstance: { name: 'vpc-b' }, kind: 'network', selector: { matchLabels: { role: 'n6' } } },
    ],
    prune: true,
  });
  assert.equal(
    b3.released.map((r) => r.owner),
    ['default/IPClaim/d'],
  );
  const left = await admin.call<{ allocations: { owner: string }[] }>('ListAllocations', { ownerPrefix: 'pkg-batch|' });
  assert.equal(
    left.allocations.map((a) => a.owner),
    ['pkg-batch|default/IPClaim/a'],
  );
  // release all: prune with nothing requested or defined
  const b4 = await admin.call<Batch>('Batch', { package: 'pkg-batch', prune: true });
  assert.equal(
    b4.released.map((r) => r.owner),
    ['default/IPClaim/a'],
  );
  const nis = await admin.call<{ networkInstances: { name: string }[] }>('ListNetworkInstances', {});
  assert.not.ok(
    nis.networkInstances.some((n) => n.name === 'vpc-b'),
    'pruned space is gone too',
  );
});

test('admin: Batch names the field of each bad request in full', async () => {
  const ok = { networkInstance: { name: 'vpc' }, kind: 'network', selector: { matchLabels: { 'nephio.org/cluster-name': 'c1' } } };
  const long = 'x'.repeat(5000);
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ kind: 'bogus' }, /^requests\[0\]\.kind: unknown prefix kind "bogus"/],
    [{ networkInstance: { name: '' } }, /^requests\[1\]\.networkInstance\.name: is required/],
    [{ networkInstance: { name: 'vpc', namespace: long } }, /^requests\[2\]\.networkInstance\.namespace: longer than 4096/],
    [{ selector: { matchLabels: { '': 'v' } } }, /^requests\[3\]\.selector\.matchLabels: empty label key/],
    [
      { selector: { matchExpressions: [{ key: 'k', operator: 'Near' }] } },
      /^requests\[4\]\.selector\.matchExpressions\[0\]\.operator: "Near" is not In/,
    ],
    [{ labels: { k: long } }, /^requests\[5\]\.labels\[k\]: value longer than 1024/],
    [{ addressFamily: 'ipv5' }, /^requests\[6\]\.addressFamily: unknown address family "ipv5"/],
    [{ hint: long }, /^requests\[7\]\.hint: longer than 4096/],
    [{ prefix: long }, /^requests\[8\]\.prefix: longer than 4096/],
    [{ prefixLength: 200 }, /^requests\[9\]\.prefixLength: 200 is not a prefix length/],
  ];
  const res = await admin.call<{ outcomes: { error?: { code: number; subject: string; message: string } }[] }>('Batch', {
    package: 'pkg-fields',
    requests: bad.map(([b], i) => ({ owner: `default/IPClaim/f${i}`, ...ok, ...b })),
    dryRun: true,
  });
  res.outcomes.forEach((o, i) => {
    assert.is(o.error?.code, status.INVALID_ARGUMENT, `requests[${i}]`);
    assert.is(o.error!.subject, `requests[${i}]`);
    assert.match(o.error!.message, bad[i]![1]);
  });
});

test('admin: a malformed Batch message is refused and the server keeps serving', async () => {
  const c = admin.client;
  const send = (bytes: Buffer) =>
    codeOf(
      new Promise((ok, ko) =>
        c.makeUnaryRequest(
          '/ipaminjector.admin.v1.Admin/Batch',
          (b: Buffer) => b,
          (b: Buffer) => b,
          bytes,
          (e, r) => (e ? ko(e) : ok(r)),
        ),
      ),
    );
  // a request whose last field claims more bytes than the message has, and a bad wire type
  for (const bytes of [Buffer.from([0x2a, 0x10, 0x0a, 0x01, 0x61]), Buffer.from([0x0f])]) {
    const r = await send(bytes);
    assert.is(r.code, status.INTERNAL, r.details);
    assert.match(r.details, /deseriali[sz]/i);
  }
  const ok = await admin.call<{ outcomes: unknown[] }>('Batch', { package: 'pkg-after', requests: [], dryRun: true });
  assert.equal(ok.outcomes, []);
});

test('admin: Watch sends the current state, SYNCED, then durable changes', async () => {
  await alloc.call('Allocation', allocReq('pre', { 'nephio.org/cluster-name': 'c1' }));
  const client = admin.client as Client & Record<string, (req: unknown, md: Metadata) => NodeJS.ReadableStream & { cancel(): void }>;
  const stream = client.Watch!({ ownerPrefix: 'pkg-a|', initial: true }, new Metadata());
  const events: string[] = [];
  stream.on('data', (e: { type: string; allocation?: { owner: string } }) => events.push(`${e.type} ${e.allocation?.owner ?? ''}`.trim()));
  stream.on('error', () => {});
  await until(async () => events.includes('SYNCED'));
  await alloc.call('Allocation', allocReq('post', { 'nephio.org/cluster-name': 'c1' }));
  await alloc.call('DeAllocation', allocReq('pre', {}));
  await alloc.call('DeAllocation', allocReq('post', {}));
  await until(async () => events.length >= 5);
  stream.cancel();
  assert.equal(events, [
    'ALLOCATED pkg-a|default/IPAllocation/pre',
    'SYNCED',
    'ALLOCATED pkg-a|default/IPAllocation/post',
    'RELEASED pkg-a|default/IPAllocation/pre',
    'RELEASED pkg-a|default/IPAllocation/post',
  ]);
});

test('admin: lists come in pages', async () => {
  const requests = Array.from({ length: 25 }, (_, i) => ({
    owner: `default/IPClaim/p${i}`,
    networkInstance: { name: 'vpc' },
    kind: 'pool',
    prefixLength: 28,
  }));
  await admin.call('Batch', { package: 'pkg-page', requests });
  const seen: string[] = [];
  let next = '';
  let pages = 0;
  do {
    const r = await admin.call<{ allocations: { owner: string }[]; continue: string }>('ListAllocations', {
      ownerPrefix: 'pkg-page|',
      limit: 10,
      continue: next,
    });
    assert.ok(r.allocations.length <= 10);
    seen.push(...r.allocations.map((a) => a.owner));
    next = r.continue;
    pages++;
  } while (next);
  assert.is(pages, 3);
  assert.equal(seen.sort(), requests.map((q) => `pkg-page|${q.owner}`).sort());
  const bad = await codeOf(admin.call('ListPrefixes', { continue: 'x' }));
  assert.is(bad.code, status.INVALID_ARGUMENT);
  await admin.call('Batch', { package: 'pkg-page', prune: true });
});

test('admin: a Watch that does not read is ended instead of buffering without bound', async () => {
  const small = await inProcess({ limits: { maxWatchBacklog: 50 } });
  const a = raw('admin', small.address);
  const client = a.client as Client & Record<string, (req: unknown, md: Metadata) => NodeJS.ReadableStream & { cancel(): void }>;
  const stream = client.Watch!({}, new Metadata());
  try {
    await assertEndedWhenBehind(stream, a);
  } finally {
    stream.cancel();
    a.close();
    await small.shutdown();
  }
});

test('resource: a WatchClaim that does not read is ended instead of buffering without bound', async () => {
  const small = await inProcess({ limits: { maxWatchBacklog: 50 } });
  const a = raw('admin', small.address);
  const r = raw('resource', small.address);
  const client = r.client as Client & Record<string, (req: unknown, md: Metadata) => NodeJS.ReadableStream & { cancel(): void }>;
  const stream = client.WatchClaim!(
    { header: { ownerGvk: { group: 'ipam-injector.dev', kind: 'Package' }, ownerNsn: { name: 'pkg-slow' } } },
    new Metadata(),
  );
  try {
    await assertEndedWhenBehind(stream, a);
  } finally {
    stream.cancel();
    a.close();
    r.close();
    await small.shutdown();
  }
});

/** Pauses a watch stream, makes 3,000 allocations for package pkg-slow, and expects the
 *  server to end the stream because it fell maxWatchBacklog (50) events behind. */
async function assertEndedWhenBehind(stream: NodeJS.ReadableStream, admin: ReturnType<typeof raw>): Promise<void> {
  stream.pause();
  const ended = new Promise<ServiceError>((res) => stream.on('error', (e: ServiceError) => res(e)));
  await new Promise((res) => setTimeout(res, 300)); // the server registers the stream
  for (let b = 0; b < 3; b++) {
    const requests = Array.from({ length: 1000 }, (_, i) => ({
      owner: `default/IPClaim/b${b}-${i}`,
      networkInstance: { name: 'vpc' },
      kind: 'pool',
      prefixLength: 30,
    }));
    await admin.call('Batch', { package: 'pkg-slow', requests });
  }
  stream.resume();
  const e = await Promise.race([
    ended,
    new Promise<never>((_, ko) => setTimeout(() => ko(new Error('the stream was not ended')), 20_000).unref()),
  ]);
  assert.is(e.code, status.RESOURCE_EXHAUSTED);
  assert.match(e.details, /fell 50 events behind/);
}

test('grpc.health.v1 says SERVING; reflection lists every service', async () => {
  const hdef = loadSync(`${root}node_modules/grpc-health-check/proto/health/v1/health.proto`, { enums: String });
  const H = (loadPackageDefinition(hdef) as any).grpc.health.v1.Health; // eslint-disable-line @typescript-eslint/no-explicit-any
  const h = new H(srv.address, credentials.createInsecure());
  for (const service of ['', 'alloc.Allocation', 'resource.Resource', 'ipaminjector.admin.v1.Admin']) {
    const r = await new Promise<{ status: string }>((ok, ko) =>
      h.Check({ service }, (e: ServiceError | null, x: { status: string }) => (e ? ko(e) : ok(x))),
    );
    assert.is(r.status, 'SERVING', service);
  }
  h.close();
  const rdef = loadSync(`${root}node_modules/@grpc/reflection/build/proto/grpc/reflection/v1alpha/reflection.proto`);
  const R = (loadPackageDefinition(rdef) as any).grpc.reflection.v1alpha.ServerReflection; // eslint-disable-line @typescript-eslint/no-explicit-any
  const rc = new R(srv.address, credentials.createInsecure());
  const call = rc.ServerReflectionInfo();
  call.write({ listServices: '' });
  const [msg] = (await once(call, 'data')) as [{ listServicesResponse: { service: { name: string }[] } }];
  call.end();
  const names = msg.listServicesResponse.service.map((s) => s.name);
  for (const s of ['alloc.Allocation', 'resource.Resource', 'ipaminjector.admin.v1.Admin']) assert.ok(names.includes(s), names.join(','));
  rc.close();
});

test('metrics: requests by method and code, latency histogram, allocations, utilization, event loop delay', async () => {
  for (const n of ['m1', 'm2']) await alloc.call('Allocation', allocReq(n, { 'nephio.org/cluster-name': 'c1' }));
  const body = await scrapeMetrics(srv.metricsPort);
  assert.match(body, /ipam_grpc_requests_total\{method="alloc\.Allocation\/Allocation",code="OK"\} \d+/);
  assert.match(body, /ipam_grpc_requests_total\{method="alloc\.Allocation\/Allocation",code="RESOURCE_EXHAUSTED"\} 1/);
  assert.match(body, /ipam_grpc_request_duration_seconds_bucket\{method="resource\.Resource\/Claim",le="\+Inf"\} \d+/);
  assert.match(body, /ipam_allocations_made_total \d+/);
  const held = (await admin.call<{ allocations: unknown[] }>('ListAllocations', {})).allocations.length;
  assert.ok(held >= 2);
  assert.match(body, new RegExp(`^ipam_allocations ${held}$`, 'm'), 'the gauge counts the allocations held');
  for (const n of ['m1', 'm2']) await alloc.call('DeAllocation', allocReq(n, {}));
  assert.match(body, /ipam_prefix_utilization_ratio\{network_instance="default\/vpc",prefix="10\.0\.1\.0\/24",kind="network"\} [0-9.]+/);
  assert.match(body, /ipam_up 1/);
  // the event loop's delay: sampled since the metrics server started
  assert.match(body, /^ipam_event_loop_delay_seconds\{quantile="0\.99"\} [0-9.e-]+$/m);
  assert.ok(Number(/^ipam_event_loop_delay_seconds_count (\d+)$/m.exec(body)?.[1]) > 0, 'the loop was sampled');
});

test.run();
