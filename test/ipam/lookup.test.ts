// Lookups (nephio.org/action: get, GetClaim) and owner labels: a selector matched against
// everything stored in a network instance, first match in tree order, nothing reserved.
import { test } from '../support/uvu.js';
import * as assert from 'uvu/assert';
import { gvkString, ownerLabels, parseGvkString, restoreIpam } from '../../src/ipam/index.js';
import { fresh, ni, pfx, req, sel, throwsIpam } from './helpers.js';

const claim = (name: string, ns = 'default', labels: Record<string, string> = {}) =>
  ownerLabels({ apiVersion: 'ipam.resource.nephio.org/v1alpha1', kind: 'IPClaim', name, namespace: ns, labels });

test('owner labels: the request itself, its owner from metadata.labels when present (GetHierOwnerLabelsFromCR)', () => {
  assert.equal(claim('amf-n2'), {
    'nephio.org/owner-gvk': 'IPClaim.v1alpha1.ipam.resource.nephio.org',
    'nephio.org/owner-nsn-name': 'amf-n2',
    'nephio.org/owner-nsn-namespace': 'default',
    'nephio.org/gvk': 'IPClaim.v1alpha1.ipam.resource.nephio.org',
    'nephio.org/nsn-name': 'amf-n2',
    'nephio.org/nsn-namespace': 'default',
  });
  const owned = claim('10.0.0.0-8-vpc-aggregate', 'ns1', {
    'nephio.org/owner-gvk': 'NetworkInstance.v1alpha1.ipam.resource.nephio.org',
    'nephio.org/owner-nsn-name': 'vpc',
    'nephio.org/owner-nsn-namespace': '',
  });
  assert.is(owned['nephio.org/owner-gvk'], 'NetworkInstance.v1alpha1.ipam.resource.nephio.org');
  assert.is(owned['nephio.org/owner-nsn-name'], 'vpc');
  assert.is(owned['nephio.org/owner-nsn-namespace'], 'default', 'an empty namespace label means default');
  assert.is(owned['nephio.org/nsn-namespace'], 'ns1');
  assert.is(gvkString('v1', 'ConfigMap'), 'ConfigMap.v1');
  assert.equal(parseGvkString('IPPrefix.v1alpha1.ipam.resource.nephio.org'), {
    kind: 'IPPrefix',
    version: 'v1alpha1',
    group: 'ipam.resource.nephio.org',
  });
  assert.equal(parseGvkString('ConfigMap.v1'), { kind: '', version: '', group: '' });
});

test('lookup finds another owner allocation by its owner labels, with the subnet gateway, and reserves nothing', () => {
  const ipam = fresh();
  pfx(ipam, '10.0.1.1/24', 'network', { 'nephio.org/gateway': 'true', 'nephio.org/network-name': 'n2' });
  const a = ipam.allocate(
    req('pkg-amf|default/IPClaim/amf-regional-n2-ipv4', 'network', {
      selector: sel({ 'nephio.org/network-name': 'n2' }),
      labels: claim('amf-regional-n2-ipv4'),
    }),
  );
  assert.is(a.prefix, '10.0.1.2/24');
  const before = ipam.snapshot();
  const m = ipam.lookup(ni, sel({ 'nephio.org/nsn-name': 'amf-regional-n2-ipv4', 'nephio.org/address-family': 'ipv4' }));
  assert.is(m.prefix, '10.0.1.2/24');
  assert.is(m.gateway, '10.0.1.1');
  assert.is(m.owner, 'pkg-amf|default/IPClaim/amf-regional-n2-ipv4');
  assert.is(m.labels['nephio.org/owner-gvk'], 'IPClaim.v1alpha1.ipam.resource.nephio.org');
  assert.equal(ipam.snapshot(), before, 'a lookup changes nothing');
  // the other family: no match is an error naming instance and selector
  throwsIpam(
    () => ipam.lookup(ni, sel({ 'nephio.org/nsn-name': 'amf-regional-n2-ipv4', 'nephio.org/address-family': 'ipv6' })),
    'NotFound',
    /default\/vpc.*nephio.org\/address-family=ipv6/,
  );
});

test('lookup sees aggregates, subnets and reserved addresses, first in tree order', () => {
  const ipam = fresh(['10.0.0.0/8', '2001:db8::/32']);
  pfx(ipam, '10.0.1.1/24', 'network', { 'nephio.org/gateway': 'true', 'nephio.org/interface': 'n3', role: 'x' });
  pfx(ipam, '10.0.1.5/24', 'network', { 'nephio.org/interface': 'n4', role: 'x' });
  pfx(ipam, '2001:db8:0:1::1/64', 'network', { role: 'x' });
  // the aggregate (system labels only)
  const agg = ipam.lookup(ni, sel({ 'nephio.org/prefix-kind': 'aggregate' }));
  assert.is(agg.prefix, '10.0.0.0/8');
  assert.is(agg.kind, 'aggregate');
  // IPv4 before IPv6, a subnet before what lies in it
  const sub = ipam.lookup(ni, sel({ role: 'x' }));
  assert.is(sub.prefix, '10.0.1.0/24');
  assert.is(sub.gateway, '10.0.1.1');
  // reserved addresses (the subnet's labels are what its IPPrefixes agree on), answered as
  // addresses of their subnet
  const res = ipam.lookup(ni, sel({ 'nephio.org/interface': 'n3' }));
  assert.is(res.prefix, '10.0.1.1/24');
  assert.is(res.gateway, '10.0.1.1');
  const n4 = ipam.lookup(ni, sel({ 'nephio.org/interface': 'n4' }));
  assert.is(n4.prefix, '10.0.1.5/24');
  assert.is(n4.gateway, '10.0.1.1');
  assert.is(n4.owner, 'default/IPPrefix/network-10.0.1.5/24');
  assert.is(
    ipam.lookup(ni, {
      matchLabels: { role: 'x' },
      matchExpressions: [{ key: 'nephio.org/address-family', operator: 'In', values: ['ipv6'] }],
    }).prefix,
    '2001:db8:0:1::/64',
  );
  // an unknown network instance is NotFound too
  throwsIpam(() => ipam.lookup({ name: 'nope' }, sel({ role: 'x' })), 'NotFound', /nope/);
});

test('lookup after restore answers the same (owner labels are plain labels in the snapshot)', () => {
  const ipam = fresh();
  ipam.allocate(req('o1', 'pool', { prefixLength: 24, labels: claim('pool-a') }));
  const again = restoreIpam(ipam.snapshot());
  assert.equal(again.lookup(ni, sel({ 'nephio.org/nsn-name': 'pool-a' })), ipam.lookup(ni, sel({ 'nephio.org/nsn-name': 'pool-a' })));
  assert.is(again.lookup(ni, sel({ 'nephio.org/nsn-name': 'pool-a' })).prefix, '10.0.0.0/24');
});

test.run();
