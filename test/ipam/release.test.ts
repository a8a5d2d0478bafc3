// docs/semantics.md "Release", plus queries (lists, utilization) and snapshot/restore.
import * as assert from 'uvu/assert';
import { restoreIpam } from '../../src/ipam/index.js';
import { CL, GW, fresh, ni, pfx, req, sel, test, throwsIpam } from './helpers.js';

test('releasing an owner frees everything it holds and returns it', () => {
  const ipam = fresh(['10.0.0.0/8']);
  pfx(ipam, '10.0.1.0/24', 'network', { s: 'x' });
  const a = ipam.allocate(req('a', 'network', { selector: sel({ s: 'x' }) }));
  assert.equal(ipam.release('a'), [a]);
  assert.equal(ipam.getAllocations('a'), []);
  assert.is(ipam.allocate(req('b', 'network', { selector: sel({ s: 'x' }) })).prefix, a.prefix);
});

test('releasing an owner also removes the prefixes it defined', () => {
  const ipam = fresh(['10.0.0.0/8']);
  ipam.applyPrefix({ networkInstance: ni, prefix: '10.0.1.1/24', kind: 'network', labels: { [GW]: 'true' }, owner: 'pkg/gw' });
  ipam.applyPrefix({ networkInstance: ni, prefix: '10.0.1.10/24', kind: 'network', owner: 'pkg/n3' });
  assert.equal(ipam.release('pkg/gw'), []);
  assert.equal(
    ipam.listPrefixes(ni).map((p) => p.owner),
    ['default/NetworkInstance/vpc', 'pkg/n3'],
  );
  assert.is(ipam.allocate(req('h', 'network')).gateway, undefined, 'the gateway went with its IPPrefix');
});

test('releasing what is not held is not an error', () => {
  const ipam = fresh();
  assert.equal(ipam.release('nobody'), []);
  ipam.removePrefix(ni, '10.9.0.0/16');
  ipam.removeNetworkInstance({ name: 'none' });
});

test("error: removing a prefix that holds other owners' allocations is refused with the dependents (differs)", () => {
  const ipam = fresh(['10.0.0.0/8']);
  pfx(ipam, '10.0.1.0/24', 'network', { s: 'x' });
  ipam.allocate(req('b', 'network', { selector: sel({ s: 'x' }) }));
  ipam.allocate(req('a', 'network', { selector: sel({ s: 'x' }) }));
  const e = throwsIpam(
    () => ipam.removePrefix(ni, '10.0.1.0/24'),
    'FailedPrecondition',
    /cannot remove 10\.0\.1\.0\/24 in network instance default\/vpc: still used by a, b/,
  );
  assert.equal(e.details, { networkInstance: 'default/vpc', prefix: '10.0.1.0/24', dependents: ['a', 'b'] });
  assert.is(ipam.listAllocations().length, 2, 'nothing removed');
  // the aggregate above, and the owner that defined the prefix, are refused too
  throwsIpam(() => ipam.removeNetworkInstance(ni), 'FailedPrecondition', /still used by .*a, b/);
  throwsIpam(() => ipam.release('default/IPPrefix/network-10.0.1.0/24'), 'FailedPrecondition', /still used by a, b/);
});

test('forced removal cascades and reports what went', () => {
  const ipam = fresh(['10.0.0.0/8']);
  pfx(ipam, '10.0.1.0/24', 'network', { s: 'x' });
  ipam.allocate(req('a', 'network', { selector: sel({ s: 'x' }) }));
  const freed = ipam.release('default/IPPrefix/network-10.0.1.0/24', { force: true });
  assert.equal(
    freed.map((f) => f.owner),
    ['a'],
  );
  assert.equal(ipam.getAllocations('a'), []);
  pfx(ipam, '10.0.2.0/24', 'network', { s: 'y' });
  ipam.allocate(req('b', 'network', { selector: sel({ s: 'y' }) }));
  ipam.removeNetworkInstance(ni, { force: true });
  assert.equal(ipam.listNetworkInstances(), []);
  assert.equal(ipam.getAllocations('b'), []);
  throwsIpam(() => ipam.allocate(req('c', 'network')), 'NotFound', /network instance default\/vpc not found/);
});

test('removing one IPPrefix of a shared subnet keeps the subnet and its allocations', () => {
  const ipam = fresh(['10.0.0.0/8']);
  pfx(ipam, '10.0.1.1/24', 'network', { [CL]: 'c', [GW]: 'true' }, { owner: 'p/gw' });
  pfx(ipam, '10.0.1.10/24', 'network', { [CL]: 'c' }, { owner: 'p/n3' });
  ipam.allocate(req('h', 'network', { selector: sel({ [CL]: 'c' }) }));
  ipam.removePrefix(ni, '10.0.1.10/24');
  assert.is(ipam.getAllocations('h')[0].prefix, '10.0.1.2/24');
  assert.is(ipam.allocate(req('h2', 'network', { prefix: '10.0.1.10/24' })).prefix, '10.0.1.10/24', 'its address is free again');
  throwsIpam(() => ipam.removePrefix(ni, '10.0.1.0/24'), 'FailedPrecondition', /still used by h, h2/);
});

test('listAllocations filters by instance, owner, owner prefix and labels', () => {
  const ipam = fresh(['10.0.0.0/8']);
  pfx(ipam, '10.0.1.0/24', 'network', { s: 'x' });
  ipam.allocate(req('pkg1/a', 'network', { selector: sel({ s: 'x' }), labels: { app: 'upf' } }));
  ipam.allocate(req('pkg1/b', 'network', { selector: sel({ s: 'x' }) }));
  ipam.allocate(req('pkg2/c', 'network', { selector: sel({ s: 'x' }), labels: { app: 'smf' } }));
  const owners = (f = {}) => ipam.listAllocations(f).map((a) => a.owner);
  assert.equal(owners(), ['pkg1/a', 'pkg1/b', 'pkg2/c'], 'in address order');
  assert.equal(owners({ ownerPrefix: 'pkg1/' }), ['pkg1/a', 'pkg1/b']);
  assert.equal(owners({ owner: 'pkg2/c' }), ['pkg2/c']);
  assert.equal(owners({ selector: sel({ app: 'smf' }) }), ['pkg2/c']);
  assert.equal(owners({ networkInstance: { name: 'other' } }), []);
  assert.equal(owners({ networkInstance: ni, selector: { matchExpressions: [{ key: 'app', operator: 'Exists' }] } }), ['pkg1/a', 'pkg2/c']);
});

test('utilization: exact decimal strings, IPv6 included', () => {
  const ipam = fresh(['10.0.0.0/8', '2001:db8::/32']);
  pfx(ipam, '10.0.1.0/24', 'network', { s: 'x' });
  pfx(ipam, '2001:db8::/36', 'pool', { s: 'p' });
  ipam.allocate(req('a', 'network', { selector: sel({ s: 'x' }) }));
  ipam.allocate(req('b', 'pool', { prefixLength: 64, selector: sel({ s: 'p' }) }));
  assert.equal(ipam.utilization(ni, '10.0.1.0/24'), { prefix: '10.0.1.0/24', total: '256', used: '3', free: '253', largestFree: 26 });
  assert.equal(ipam.utilization(ni, '10.0.0.0/8'), {
    prefix: '10.0.0.0/8',
    total: '16777216',
    used: '256',
    free: '16776960',
    largestFree: 9,
  });
  assert.equal(ipam.utilization(ni, '2001:db8::/36'), {
    prefix: '2001:db8::/36',
    total: '4951760157141521099596496896',
    used: '18446744073709551616',
    free: '4951760138694777025886945280',
    largestFree: 37,
  });
  assert.equal(ipam.utilization(ni, '2001:db8::/32').total, String(2n ** 96n));
  assert.equal(ipam.utilization(ni, '2001:db8::/64'), {
    prefix: '2001:db8::/64',
    total: '18446744073709551616',
    used: '0',
    free: '18446744073709551616',
    largestFree: 64,
  });
  throwsIpam(() => ipam.utilization(ni, '10.0.2.0/24'), 'NotFound', /prefix 10\.0\.2\.0\/24 not found in network instance default\/vpc/);
});

test('snapshot -> restore -> identical state and identical answers', () => {
  const ipam = fresh(['10.0.0.0/8', '2001:db8::/32']);
  pfx(ipam, '10.0.1.1/24', 'network', { [CL]: 'c1', [GW]: 'true' }, { networkName: 'n3' });
  pfx(ipam, '10.0.1.10/24', 'network', { [CL]: 'c1', 'nephio.org/interface': 'n3' }, { networkName: 'n3' });
  pfx(ipam, '10.1.0.0/16', 'pool', { s: 'p' });
  pfx(ipam, '2001:db8:ff::/64', 'loopback', { s: 'lo' });
  ipam.allocate(req('h', 'network', { selector: sel({ [CL]: 'c1' }) }));
  ipam.allocate(req('ref', 'network', { selector: sel({ 'nephio.org/interface': 'n3' }) }));
  ipam.allocate(req('pool', 'pool', { prefixLength: 20, selector: sel({ s: 'p' }), labels: { tier: 'x' } }));
  ipam.allocate(req('nested', 'pool', { prefixLength: 24, selector: sel({ tier: 'x' }) }));
  ipam.allocate(req('sub', 'network', { prefixLength: 28, selector: sel({ 'nephio.org/network-name': 'n9' }) }));
  ipam.allocate(req('subhost', 'network', { selector: sel({ 'nephio.org/network-name': 'n9' }) }));
  ipam.allocate(req('lo', 'loopback', { selector: sel({ s: 'lo' }) }));
  ipam.allocate(req('agg', 'aggregate', { prefix: '192.168.0.0/16' }));
  ipam.allocate(req('h31', 'network', { prefix: '10.0.1.31/24' }));
  const snap = ipam.snapshot();
  const json = JSON.parse(JSON.stringify(snap));
  const copy = restoreIpam(json);
  assert.equal(copy.snapshot(), snap);
  assert.equal(copy.listAllocations(), ipam.listAllocations());
  assert.equal(copy.listPrefixes(), ipam.listPrefixes());
  const next = [
    req('n1', 'network', { selector: sel({ [CL]: 'c1' }) }),
    req('n2', 'pool', { prefixLength: 24, selector: sel({ tier: 'x' }) }),
    req('n3', 'network', { selector: sel({ 'nephio.org/network-name': 'n9' }) }),
    req('n4', 'network', { selector: sel({ 'nephio.org/interface': 'n3' }) }),
    req('h', 'network', { selector: sel({ [CL]: 'c1' }) }),
  ];
  for (const r of next) assert.equal(copy.allocate(r), ipam.allocate(r));
  throwsIpam(() => restoreIpam({ ...json, version: 2 }), 'InvalidArgument', /unsupported snapshot version 2/);
});

test('restore interleaves IPPrefixes and allocations in tree order (an IPPrefix inside an allocated prefix)', () => {
  const ipam = fresh(['10.0.0.0/8']);
  ipam.allocate(req('agg', 'aggregate', { prefix: '192.168.0.0/16' }));
  ipam.allocate(req('site', 'pool', { prefix: '10.9.0.0/16' }));
  ipam.applyPrefix({
    networkInstance: ni,
    prefix: '192.168.1.1/24',
    kind: 'network',
    labels: { s: 'in-agg', [GW]: 'true' },
    owner: 'p/net',
  });
  ipam.applyPrefix({ networkInstance: ni, prefix: '10.9.1.0/24', kind: 'pool', labels: { s: 'in-pool' }, owner: 'p/pool' });
  ipam.allocate(req('h', 'network', { selector: sel({ s: 'in-agg' }) }));
  ipam.allocate(req('p', 'pool', { prefixLength: 28, selector: sel({ s: 'in-pool' }) }));
  const snap = JSON.parse(JSON.stringify(ipam.snapshot()));
  const copy = restoreIpam(snap);
  assert.equal(copy.snapshot(), ipam.snapshot());
  assert.equal(copy.getAllocations('h')[0], {
    owner: 'h',
    networkInstance: { name: 'vpc', namespace: 'default' },
    kind: 'network',
    addressFamily: 'ipv4',
    prefix: '192.168.1.2/24',
    parent: '192.168.1.0/24',
    labels: {},
    gateway: '192.168.1.1',
  });
  const r = req('h2', 'network', { selector: sel({ s: 'in-agg' }) });
  assert.equal(copy.allocate(r), ipam.allocate(r));
});

test('many owners over several row pages: churn with owner names of every length keeps each owner on its own address', () => {
  // 12,000 rows span three row pages; releasing half and re-allocating with longer names
  // makes each page's owner-string pool compact or grow while other pages are left alone.
  const ipam = fresh(['10.0.0.0/8']);
  pfx(ipam, '10.0.0.0/16', 'network', { s: 'x' });
  const name = (i: number, round: number) => `pkg-${round}/${'n'.repeat((i * 7 + round) % 90)}/${i}`;
  const held = new Map<string, string>();
  for (let i = 0; i < 12_000; i++) held.set(name(i, 0), ipam.allocate(req(name(i, 0), 'network', { selector: sel({ s: 'x' }) })).prefix);
  for (let round = 1; round <= 3; round++) {
    const owners = [...held.keys()];
    for (let k = round; k < owners.length; k += 2) {
      ipam.release(owners[k]!);
      held.delete(owners[k]!);
    }
    for (let i = 0; i < 6_000; i++)
      held.set(name(i, round), ipam.allocate(req(name(i, round), 'network', { selector: sel({ s: 'x' }) })).prefix);
  }
  assert.is(ipam.allocationCount(), held.size);
  assert.is(new Set(held.values()).size, held.size, 'no address twice');
  for (const [owner, prefix] of held)
    assert.equal(
      ipam.getAllocations(owner).map((a) => `${a.owner} ${a.prefix}`),
      [`${owner} ${prefix}`],
    );
  const again = restoreIpam(ipam.snapshot());
  for (const [owner, prefix] of held) assert.is(again.getAllocations(owner)[0]?.prefix, prefix);
});

test.run();
