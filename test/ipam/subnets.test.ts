// docs/semantics.md "Network prefixes and reserved addresses".
import * as assert from 'uvu/assert';
import { CL, GW, fresh, ni, pfx, req, sel, test, throwsIpam } from './helpers.js';

const N3 = { [CL]: 'cluster01', 'nephio.org/interface': 'n3' };

test('IPPrefix{network, 10.0.1.1/24} defines subnet 10.0.1.0/24 and reserves 10.0.1.1 with its labels', () => {
  const ipam = fresh(['10.0.0.0/8']);
  const info = pfx(ipam, '10.0.1.1/24', 'network', N3, { networkName: 'n3net' });
  assert.is(info.prefix, '10.0.1.0/24');
  assert.equal(info.reserved, ['10.0.1.1']);
  assert.is(info.labels['nephio.org/interface'], 'n3');
  // a host request gets the next address, not the reserved one
  assert.is(ipam.allocate(req('a', 'network', { selector: sel({ [CL]: 'cluster01' }) })).prefix, '10.0.1.2/24');
  // alone in its subnet, the IPPrefix's labels are the subnet's: a selector on them gets a host address
  assert.is(ipam.allocate(req('b', 'network', { selector: sel({ 'nephio.org/interface': 'n3' }) })).prefix, '10.0.1.3/24');
  // once another IPPrefix of the subnet disagrees, the label picks out the reserved address
  pfx(ipam, '10.0.1.254/24', 'network', { [CL]: 'cluster01', [GW]: 'true' }, { networkName: 'n3net' });
  const got = ipam.allocate(req('c', 'network', { selector: sel({ 'nephio.org/interface': 'n3', 'nephio.org/network-name': 'n3net' }) }));
  assert.is(got.prefix, '10.0.1.1/24');
  assert.is(got.gateway, '10.0.1.254');
});

test('with label nephio.org/gateway: "true" the reserved address is the subnet gateway', () => {
  const ipam = fresh(['10.0.0.0/8']);
  pfx(ipam, '10.0.1.1/24', 'network', { [CL]: 'c1', [GW]: 'true' });
  const a = ipam.allocate(req('a', 'network', { selector: sel({ [CL]: 'c1' }) }));
  assert.is(a.prefix, '10.0.1.2/24');
  assert.is(a.gateway, '10.0.1.1');
});

test('status.gateway is omitted when the subnet has no gateway', () => {
  const ipam = fresh(['10.0.0.0/8']);
  pfx(ipam, '10.0.1.1/24', 'network', { [CL]: 'c1' });
  const a = ipam.allocate(req('a', 'network', { selector: sel({ [CL]: 'c1' }) }));
  assert.not.ok('gateway' in a);
});

test('several network IPPrefixes may define the same subnet, each reserving its own address (differs)', () => {
  const ipam = fresh(['10.0.0.0/8']);
  pfx(ipam, '10.0.1.1/24', 'network', { [CL]: 'c1', [GW]: 'true', role: 'gw' }, { networkName: 'n', owner: 'p/gw' });
  pfx(ipam, '10.0.1.10/24', 'network', { [CL]: 'c1', role: 'n3' }, { networkName: 'n', owner: 'p/n3' });
  pfx(ipam, '10.0.1.0/24', 'network', { [CL]: 'c1' }, { networkName: 'n', owner: 'p/plain' });
  assert.equal(
    ipam
      .listPrefixes(ni)
      .filter((p) => p.kind === 'network')
      .map((p) => [p.owner, p.reserved]),
    [
      ['p/plain', undefined],
      ['p/gw', ['10.0.1.1']],
      ['p/n3', ['10.0.1.10']],
    ],
  );
  const got = Array.from({ length: 9 }, (_, i) => ipam.allocate(req(`h${i}`, 'network', { selector: sel({ [CL]: 'c1' }) })).prefix);
  assert.equal(got.slice(7), ['10.0.1.9/24', '10.0.1.11/24'], 'both reservations are skipped');
});

test('error: one address reserved twice is "in use" (differs)', () => {
  const ipam = fresh(['10.0.0.0/8']);
  pfx(ipam, '10.0.1.1/24', 'network', {}, { owner: 'p/one' });
  const e = throwsIpam(
    () => pfx(ipam, '10.0.1.1/24', 'network', {}, { owner: 'p/two' }),
    'AlreadyExists',
    /10\.0\.1\.1 in network instance default\/vpc is in use by p\/one/,
  );
  assert.equal(e.details.dependents, ['p/one']);
  assert.is(ipam.listPrefixes(ni).length, 2, 'the refused IPPrefix left nothing behind');
  throwsIpam(() => pfx(ipam, '10.0.1.255/24', 'network', {}, { owner: 'p/bcast' }), 'AlreadyExists', /in use by the system/);
});

test('subnets of the same prefix must agree on the network name', () => {
  const ipam = fresh(['10.0.0.0/8']);
  pfx(ipam, '10.0.1.1/24', 'network', {}, { networkName: 'a', owner: 'p/a' });
  throwsIpam(
    () => pfx(ipam, '10.0.1.2/24', 'network', {}, { networkName: 'b', owner: 'p/b' }),
    'AlreadyExists',
    /in use by p\/a as network a, not b/,
  );
});

test('the subnet carries the labels all its IPPrefixes agree on, minus gateway, plus system labels', () => {
  const ipam = fresh(['10.0.0.0/8']);
  pfx(ipam, '10.0.1.1/24', 'network', { [CL]: 'c1', [GW]: 'true', site: 'x' }, { networkName: 'n', owner: 'p/gw' });
  pfx(ipam, '10.0.1.10/24', 'network', { [CL]: 'c1', [GW]: 'true', site: 'y' }, { networkName: 'n', owner: 'p/n3' });
  // agreed: cluster-name (and gateway, which is dropped); site differs
  assert.is(ipam.allocate(req('a', 'network', { selector: sel({ [CL]: 'c1' }) })).parent, '10.0.1.0/24');
  assert.is(
    ipam.allocate(
      req('s', 'network', {
        selector: sel({
          'nephio.org/network-name': 'n',
          'nephio.org/prefix-kind': 'network',
          'nephio.org/address-family': 'ipv4',
          'nephio.org/network-instance': 'vpc',
        }),
      }),
    ).prefix,
    '10.0.1.3/24',
    'system labels',
  );
  // a selector on a label they do not agree on matches no subnet, but does match a reserved address
  assert.is(ipam.allocate(req('b', 'network', { selector: sel({ site: 'y' }) })).prefix, '10.0.1.10/24');
  // the gateway label is not a subnet label: asking for it finds the gateway addresses (the lowest first)
  assert.is(ipam.allocate(req('g', 'network', { selector: sel({ [GW]: 'true' }) })).prefix, '10.0.1.1/24');
  // removing the IPPrefix that disagreed widens the agreement
  ipam.release('b');
  ipam.removePrefix(ni, '10.0.1.10/24');
  assert.is(ipam.allocate(req('c', 'network', { selector: sel({ site: 'x' }) })).parent, '10.0.1.0/24');
  assert.is(ipam.getAllocations('a')[0].gateway, '10.0.1.1');
});

test('each reserved address carries its own IPPrefix labels plus the system labels', () => {
  const ipam = fresh(['10.0.0.0/8']);
  pfx(ipam, '10.0.1.1/24', 'network', { role: 'gw' }, { networkName: 'n' });
  pfx(ipam, '10.0.1.0/24', 'network', {}, { networkName: 'n' });
  pfx(ipam, '10.0.2.1/24', 'network', { role: 'gw' }, { networkName: 'm' });
  pfx(ipam, '10.0.2.0/24', 'network', {}, { networkName: 'm' });
  assert.is(ipam.allocate(req('a', 'network', { selector: sel({ role: 'gw', 'nephio.org/network-name': 'm' }) })).prefix, '10.0.2.1/24');
});

test('the first and last address of a network subnet are never handed out', () => {
  const ipam = fresh(['10.0.0.0/8', '2001:db8::/32']);
  pfx(ipam, '10.0.1.0/30', 'network', { s: '30' });
  const a = ipam.allocate(req('a', 'network', { selector: sel({ s: '30' }) }));
  const b = ipam.allocate(req('b', 'network', { selector: sel({ s: '30' }) }));
  assert.equal([a.prefix, b.prefix], ['10.0.1.1/30', '10.0.1.2/30']);
  throwsIpam(() => ipam.allocate(req('c', 'network', { selector: sel({ s: '30' }) })), 'Exhausted', /exhausted/);
  throwsIpam(() => ipam.allocate(req('d', 'network', { prefix: '10.0.1.0/30' })), 'AlreadyExists', /reserved/);
  throwsIpam(() => ipam.allocate(req('d', 'network', { prefix: '10.0.1.3/30' })), 'AlreadyExists', /reserved/);
  pfx(ipam, '2001:db8:1::/126', 'network', { s: '126' });
  assert.is(ipam.allocate(req('e', 'network', { selector: sel({ s: '126' }) })).prefix, '2001:db8:1::1/126');
});

test('first/last rule does not apply to /31, /32, /127, /128 subnets', () => {
  const ipam = fresh(['10.0.0.0/8', '2001:db8::/32']);
  pfx(ipam, '10.0.1.0/31', 'network', { s: '31' });
  pfx(ipam, '10.0.2.7/32', 'network', { s: '32' }, { owner: 'p/32' });
  pfx(ipam, '2001:db8::/127', 'network', { s: '127' });
  pfx(ipam, '2001:db8::5/128', 'network', { s: '128' });
  const got = (s: string, n: number) =>
    Array.from({ length: n }, (_, i) => ipam.allocate(req(`${s}-${i}`, 'network', { selector: sel({ s }) })).prefix);
  assert.equal(got('31', 2), ['10.0.1.0/31', '10.0.1.1/31']);
  assert.equal(got('32', 1), ['10.0.2.7/32']);
  assert.equal(got('127', 2), ['2001:db8::/127', '2001:db8::1/127']);
  assert.equal(got('128', 1), ['2001:db8::5/128']);
  throwsIpam(() => ipam.allocate(req('x', 'network', { selector: sel({ s: '127' }) })), 'Exhausted');
  // static host addresses in /31 and /127 subnets
  ipam.release('31-1');
  assert.is(ipam.allocate(req('st', 'network', { prefix: '10.0.1.1/31' })).prefix, '10.0.1.1/31');
});

test('a /32 network IPPrefix with host bits reserves its only address', () => {
  const ipam = fresh(['10.0.0.0/8']);
  const p = pfx(ipam, '10.0.9.9/32', 'network', { r: 'x' });
  assert.is(p.reserved, undefined, 'a /32 has no host bits: nothing reserved');
  assert.is(ipam.allocate(req('a', 'network', { selector: sel({ r: 'x' }) })).prefix, '10.0.9.9/32');
});

test('static allocation by label returns a reserved address without taking ownership', () => {
  const ipam = fresh(['10.0.0.0/8']);
  pfx(ipam, '10.0.1.1/24', 'network', { [CL]: 'cluster01', [GW]: 'true' }, { owner: 'p/gw' });
  pfx(ipam, '10.0.1.10/24', 'network', N3, { owner: 'p/n3' });
  const s = sel({ 'nephio.org/interface': 'n3' });
  const a = ipam.allocate(req('upf-a', 'network', { selector: s }));
  const b = ipam.allocate(req('upf-b', 'network', { selector: s }));
  assert.is(a.prefix, '10.0.1.10/24');
  assert.is(b.prefix, '10.0.1.10/24', 'two lookups share it');
  assert.is(ipam.getAllocations('upf-a')[0].prefix, '10.0.1.10/24');
  assert.equal(
    ipam.release('upf-a').map((x) => x.prefix),
    ['10.0.1.10/24'],
  );
  // still reserved for the IPPrefix after the lookup is released
  throwsIpam(() => ipam.allocate(req('static', 'network', { prefix: '10.0.1.10/24' })), 'AlreadyExists', /in use by p\/n3/);
  assert.is(ipam.allocate(req('upf-c', 'network', { selector: s })).prefix, '10.0.1.10/24');
  // the IPPrefix cannot go while lookups use its address
  const e = throwsIpam(() => ipam.removePrefix(ni, '10.0.1.10/24'), 'FailedPrecondition', /still used by upf-b, upf-c/);
  assert.equal(e.details.dependents, ['upf-b', 'upf-c']);
  ipam.removePrefix(ni, '10.0.1.10/24', { force: true });
  assert.equal(ipam.getAllocations('upf-b'), []);
});

test('a selector that matches a subnet never falls back to reserved addresses', () => {
  const ipam = fresh(['10.0.0.0/8']);
  pfx(ipam, '10.0.1.1/30', 'network', { [CL]: 'c1' });
  assert.is(ipam.allocate(req('a', 'network', { selector: sel({ [CL]: 'c1' }) })).prefix, '10.0.1.2/30');
  throwsIpam(() => ipam.allocate(req('b', 'network', { selector: sel({ [CL]: 'c1' }) })), 'Exhausted');
});

test('dry run of a lookup (Nephio "get") answers the reserved address', () => {
  const ipam = fresh(['10.0.0.0/8']);
  pfx(ipam, '10.0.1.7/24', 'network', { 'nephio.org/nsn-name': 'amf-n2' });
  pfx(ipam, '10.0.1.1/24', 'network', { [GW]: 'true' });
  const a = ipam.dryRun(req('gnb', 'network', { selector: sel({ 'nephio.org/address-family': 'ipv4', 'nephio.org/nsn-name': 'amf-n2' }) }));
  assert.is(a.prefix, '10.0.1.7/24');
  assert.equal(ipam.getAllocations('gnb'), []);
});

test('loopback IPPrefix with host bits reserves that address; loopback prefixes use every address', () => {
  const ipam = fresh(['10.0.0.0/8']);
  pfx(ipam, '10.255.0.0/30', 'loopback', { lo: 'x' });
  pfx(ipam, '10.254.0.1/30', 'loopback', { lo: 'y' });
  const got = (lo: string, n: number) =>
    Array.from({ length: n }, (_, i) => ipam.allocate(req(`${lo}${i}`, 'loopback', { selector: sel({ lo }) })).prefix);
  assert.equal(got('x', 4), ['10.255.0.0/32', '10.255.0.1/32', '10.255.0.2/32', '10.255.0.3/32']);
  assert.equal(got('y', 3), ['10.254.0.0/32', '10.254.0.2/32', '10.254.0.3/32']);
});

test('a network IPPrefix without a network name shares only with others without one', () => {
  const ipam = fresh(['10.0.0.0/8']);
  pfx(ipam, '10.0.1.1/24', 'network', {}, { owner: 'p/a' });
  pfx(ipam, '10.0.1.2/24', 'network', {}, { owner: 'p/b' });
  throwsIpam(
    () => pfx(ipam, '10.0.1.3/24', 'network', {}, { networkName: 'x', owner: 'p/c' }),
    'AlreadyExists',
    /as network \(none\), not x/,
  );
});

test('loopback prefixes may be shared by several IPPrefixes too, each reserving its address', () => {
  const ipam = fresh(['10.0.0.0/8']);
  pfx(ipam, '10.255.0.1/30', 'loopback', { lo: 'x' }, { owner: 'p/1' });
  pfx(ipam, '10.255.0.2/30', 'loopback', { lo: 'x' }, { owner: 'p/2' });
  const got = Array.from({ length: 2 }, (_, i) => ipam.allocate(req(`l${i}`, 'loopback', { selector: sel({ lo: 'x' }) })).prefix);
  assert.equal(got, ['10.255.0.0/32', '10.255.0.3/32']);
});

test('removePrefix with a network text removes every IPPrefix of that network', () => {
  const ipam = fresh(['10.0.0.0/8']);
  pfx(ipam, '10.0.1.1/24', 'network', {}, { owner: 'p/a' });
  pfx(ipam, '10.0.1.2/24', 'network', {}, { owner: 'p/b' });
  ipam.removePrefix(ni, '10.0.1.2/24');
  assert.equal(
    ipam.listPrefixes(ni).map((p) => p.owner),
    ['default/NetworkInstance/vpc', 'p/a'],
  );
  pfx(ipam, '10.0.1.2/24', 'network', {}, { owner: 'p/b' });
  ipam.removePrefix(ni, '10.0.1.0/24');
  assert.equal(
    ipam.listPrefixes(ni).map((p) => p.owner),
    ['default/NetworkInstance/vpc'],
  );
  assert.is(ipam.utilization(ni, '10.0.0.0/8').used, '0');
});

test.run();
