// createPrefix with a prefix: the request defines the prefix the way an IPPrefix does
// (docs/semantics.md "Requests that create prefixes").
import { test } from '../support/uvu.js';
import * as assert from 'uvu/assert';
import { restoreIpam } from '../../src/ipam/index.js';
import { fresh, ni, req, sel, throwsIpam } from './helpers.js';

test('address notation creates the subnet and reserves the address, the gateway by label; answered as written', () => {
  const ipam = fresh();
  const a = ipam.allocate(
    req('o/IPClaim/n3-gw', 'network', {
      prefix: '10.0.3.1/24',
      prefixLength: 24,
      createPrefix: true,
      labels: { 'nephio.org/gateway': 'true', 'nephio.org/network-name': 'n3' },
    }),
  );
  assert.is(a.prefix, '10.0.3.1/24');
  assert.is(a.gateway, '10.0.3.1');
  assert.is(a.parent, '10.0.3.0/24');
  // idempotent, and other requests draw from the subnet, skipping the reserved gateway
  assert.equal(
    ipam.allocate(
      req('o/IPClaim/n3-gw', 'network', {
        prefix: '10.0.3.1/24',
        prefixLength: 24,
        createPrefix: true,
        labels: { 'nephio.org/gateway': 'true', 'nephio.org/network-name': 'n3' },
      }),
    ),
    a,
  );
  const h = ipam.allocate(req('o/IPClaim/upf', 'network', { selector: sel({ 'nephio.org/network-name': 'n3' }) }));
  assert.is(h.prefix, '10.0.3.2/24');
  assert.is(h.gateway, '10.0.3.1');
  // a second claim reserving another address of the same subnet joins it; the same address is in use
  assert.is(
    ipam.allocate(
      req('o/IPClaim/n3-b', 'network', { prefix: '10.0.3.9/24', createPrefix: true, labels: { 'nephio.org/network-name': 'n3' } }),
    ).prefix,
    '10.0.3.9/24',
  );
  throwsIpam(
    () => ipam.allocate(req('o/IPClaim/n3-c', 'network', { prefix: '10.0.3.9/24', createPrefix: true })),
    'AlreadyExists',
    /in use/,
  );
  // state survives a snapshot
  assert.equal(
    restoreIpam(ipam.snapshot()).allocate(req('o/IPClaim/upf', 'network', { selector: sel({ 'nephio.org/network-name': 'n3' }) })),
    h,
  );
  // one of two defining claims goes: the subnet stays; the last one is refused while others use it
  ipam.release('o/IPClaim/n3-b');
  throwsIpam(() => ipam.release('o/IPClaim/n3-gw'), 'FailedPrecondition', /still used by o\/IPClaim\/upf/);
});

test('network notation, pool and loopback prefixes; host-length refused; a dry run changes nothing', () => {
  const ipam = fresh();
  assert.is(ipam.allocate(req('o/1', 'network', { prefix: '10.0.4.0/24', createPrefix: true })).prefix, '10.0.4.0/24');
  assert.is(ipam.allocate(req('o/2', 'pool', { prefix: '10.1.0.0/16', createPrefix: true })).prefix, '10.1.0.0/16');
  assert.is(ipam.allocate(req('o/3', 'loopback', { prefix: '10.255.0.0/24', createPrefix: true })).prefix, '10.255.0.0/24');
  assert.is(ipam.allocate(req('o/4', 'loopback', {})).prefix, '10.255.0.0/32');
  throwsIpam(
    () => ipam.allocate(req('o/5', 'network', { prefix: '10.0.5.1/32', createPrefix: true })),
    'InvalidArgument',
    /single address/,
  );
  throwsIpam(
    () => ipam.allocate(req('o/6', 'pool', { prefix: '2001:db8::/128', createPrefix: true })),
    'InvalidArgument',
    /single address/,
  );
  throwsIpam(
    () => ipam.allocate(req('o/7', 'network', { prefix: '10.0.6.1/24', prefixLength: 25, createPrefix: true })),
    'InvalidArgument',
    /contradicts/,
  );
  const before = ipam.snapshot();
  assert.is(ipam.dryRun(req('o/8', 'network', { prefix: '10.0.7.1/24', createPrefix: true })).prefix, '10.0.7.1/24');
  assert.equal(ipam.snapshot(), before);
  // a changed request replaces what the owner defined
  assert.is(ipam.allocate(req('o/1', 'network', { prefix: '10.0.8.0/24', createPrefix: true })).prefix, '10.0.8.0/24');
  assert.not.ok(ipam.listPrefixes(ni).some((p) => p.prefix === '10.0.4.0/24'));
});

test.run();
