import { test } from '../support/uvu.js';
import * as assert from 'uvu/assert';
import { createIpam } from '../../src/ipam/index.js';

const ni = { name: 'vpc' };
const sel = { matchLabels: { 'nephio.org/cluster-name': 'cluster01' } };

function space() {
  const ipam = createIpam();
  ipam.applyNetworkInstance(ni, [{ prefix: '10.0.0.0/8' }, { prefix: '2001:db8::/32' }], 'ni/vpc');
  ipam.applyPrefix({
    networkInstance: ni,
    prefix: '10.0.0.1/24',
    kind: 'network',
    networkName: 'n3',
    labels: { 'nephio.org/cluster-name': 'cluster01', 'nephio.org/gateway': 'true' },
    owner: 'pfx/gw',
  });
  ipam.applyPrefix({
    networkInstance: ni,
    prefix: '10.1.0.0/16',
    kind: 'pool',
    labels: { 'nephio.org/cluster-name': 'cluster01' },
    owner: 'pfx/pool',
  });
  ipam.applyPrefix({
    networkInstance: ni,
    prefix: '10.255.0.0/24',
    kind: 'loopback',
    labels: { 'nephio.org/cluster-name': 'cluster01' },
    owner: 'pfx/lo',
  });
  return ipam;
}

test('end to end: host, pool, loopback, gateway', () => {
  const ipam = space();
  const a = ipam.allocate({ owner: 'a', networkInstance: ni, kind: 'network', selector: sel });
  assert.is(a.prefix, '10.0.0.2/24');
  assert.is(a.gateway, '10.0.0.1');
  assert.is(a.parent, '10.0.0.0/24');
  assert.is(ipam.allocate({ owner: 'p', networkInstance: ni, kind: 'pool', prefixLength: 24, selector: sel }).prefix, '10.1.0.0/24');
  assert.is(ipam.allocate({ owner: 'l', networkInstance: ni, kind: 'loopback', selector: sel }).prefix, '10.255.0.0/32');
  assert.equal(ipam.allocate({ owner: 'a', networkInstance: ni, kind: 'network', selector: sel }), a);
});

test.run();
