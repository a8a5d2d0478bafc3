import { test } from '../support/uvu.js';
import * as assert from 'uvu/assert';
import { formatV6, networkOf, valueOf } from '../../src/krm/prefix-values.js';

test('network of a prefix, IPv4 and IPv6 (RFC 5952)', () => {
  assert.is(networkOf('10.0.1.2/24'), '10.0.1.0/24');
  assert.is(networkOf('10.0.1.2/32'), '10.0.1.2/32');
  assert.is(networkOf('0.0.0.1/0'), '0.0.0.0/0');
  assert.is(networkOf('2001:db8:0:1::2/64'), '2001:db8:0:1::/64');
  assert.is(networkOf('2001:DB8::1:0:0:1/48'), '2001:db8::/48');
  assert.is(networkOf('::ffff:10.0.0.1/120'), '::ffff:a00:0/120');
  assert.is(formatV6(0n), '::');
  assert.is(formatV6(1n), '::1');
  assert.is(formatV6(0x20010db8000000000001000000000001n), '2001:db8::1:0:0:1');
});

test('injection values', () => {
  const a = { prefix: '10.0.1.2/24', gateway: '10.0.1.1' };
  assert.is(valueOf(a, 'address'), '10.0.1.2');
  assert.is(valueOf(a, 'prefix'), '10.0.1.2/24');
  assert.is(valueOf(a, 'prefixLength'), 24);
  assert.is(valueOf(a, 'gateway'), '10.0.1.1');
  assert.is(valueOf(a, 'network'), '10.0.1.0/24');
  assert.equal(typeof valueOf({ prefix: '10.0.0.0/16' }, 'gateway'), 'object');
});

test.run();
