import { test } from '../support/uvu.js';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { AddrError, canonicalPrefix, formatCidr, parseCidr } from '../../src/ipam/addr.js';

const canon = (s: string) => formatCidr(parseCidr(s));
const rejects = (s: string, why?: RegExp) => {
  try {
    parseCidr(s);
  } catch (e) {
    assert.instance(e, AddrError, s);
    if (why) assert.match((e as Error).message, why);
    return;
  }
  assert.unreachable(`${s} was accepted`);
};

test('IPv4: dotted decimal round-trips', () => {
  assert.is(canon('10.0.1.1/24'), '10.0.1.1/24');
  assert.is(canon('0.0.0.0/0'), '0.0.0.0/0');
  assert.is(canon('255.255.255.255'), '255.255.255.255/32');
  assert.is(canonicalPrefix('10.0.1.1/24'), '10.0.1.0/24');
});

test('IPv4: leading zeros are rejected (010.0.0.1)', () => {
  rejects('010.0.0.1', /leading zeros/);
  rejects('10.0.0.01/24');
  rejects('10.0.0.1/024', /leading zero/);
});

test('IPv4: malformed text is rejected', () => {
  for (const s of [
    '',
    '10.0.0',
    '10.0.0.0.0',
    '256.0.0.1',
    '10.0.0.1/33',
    '10.0.0.1/',
    '10..0.1',
    '10.0.0.1 ',
    ' 10.0.0.1',
    '10.0.0.-1',
    '+10.0.0.1',
    '10.0.0.1/+8',
    '1e1.0.0.1',
    '0x10.0.0.1',
  ])
    rejects(s);
});

test('IPv6: uppercase and compressed input formats as RFC 5952', () => {
  assert.is(canon('2001:DB8:0:0:1:0:0:1/64'), '2001:db8::1:0:0:1/64');
  assert.is(canon('2001:0db8:0000:0001:0000:0000:0000:0002/64'), '2001:db8:0:1::2/64');
  assert.is(canon('::'), '::/128');
  assert.is(canon('::1'), '::1/128');
  assert.is(canon('1::'), '1::/128');
  assert.is(canon('2001:db8:0:0:0:0:2:1'), '2001:db8::2:1/128');
  assert.is(canon('2001:db8::1:0:0:0:1'), '2001:db8:0:1::1/128', 'the longest zero run is compressed, leftmost on ties');
  assert.is(canon('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1/128', 'a single zero group is not compressed');
  assert.is(canon('2001:0:0:1:0:0:0:1'), '2001:0:0:1::1/128');
  assert.is(canon('64:ff9b::192.0.2.1'), '64:ff9b::c000:201/128', 'a trailing dotted quad is accepted');
});

test('IPv6: malformed text is rejected', () => {
  for (const s of [
    ':',
    ':::',
    '1:::2',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '12345::',
    'g::',
    '1:2:3:4:5:6:7:8::',
    'fe80::1%eth0',
    '::1/129',
    '2001:db8::/064',
    ':1::',
    '1::2:',
  ])
    rejects(s);
});

test('IPv6: IPv4-mapped addresses (::ffff:0:0/96) are rejected with the IPv4 spelling', () => {
  rejects('::ffff:10.0.0.1', /write the IPv4 address 10\.0\.0\.1/);
  rejects('::ffff:a00:1/128', /IPv4-mapped/);
  rejects('::ffff:0:0/96', /IPv4-mapped/);
  assert.is(canon('::/64'), '::/64', 'a prefix that merely contains the mapped range is fine');
});

test('IPv6 /127 and /128 parse with and without host bits', () => {
  const a = parseCidr('2001:db8::1/127');
  assert.is(a.len, 127);
  assert.ok(a.hostBits);
  assert.not.ok(parseCidr('2001:db8::/127').hostBits);
  assert.not.ok(parseCidr('2001:db8::1/128').hostBits);
});

test('host bits are detected in every word', () => {
  assert.ok(parseCidr('10.0.1.1/24').hostBits);
  assert.not.ok(parseCidr('10.0.1.0/24').hostBits);
  assert.ok(parseCidr('2001:db8::1/64').hostBits);
  assert.ok(parseCidr('2001:db8:0:0:8000::/64').hostBits);
  assert.not.ok(parseCidr('2001:db8::/32').hostBits);
  assert.not.ok(parseCidr('0.0.0.0/0').hostBits);
});

test('property: format(parse(x)) is a fixed point and agrees with a BigInt model', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.integer({ min: 0, max: 128 }), (x, len) => {
      const groups = Array.from({ length: 8 }, (_, i) =>
        Number((x >> BigInt(112 - 16 * i)) & 0xffffn)
          .toString(16)
          .toUpperCase(),
      );
      const text = groups.join(':') + '/' + len;
      if (x >> 32n === 0xffffn && len >= 96) return; // mapped: refused
      const c = parseCidr(text);
      const out = formatCidr(c);
      assert.is(formatCidr(parseCidr(out)), out);
      const back = out.split('/')[0];
      // expand `back` with a tiny independent parser
      const [head, tail] = back.includes('::') ? back.split('::') : [back, undefined];
      const h = head ? head.split(':') : [];
      const t = tail ? tail.split(':') : [];
      const all = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
      const v = all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
      assert.is(v, x);
      assert.is(out, out.toLowerCase());
      assert.not.ok(/(^|:)0[0-9a-f]/.test(back), 'no leading zeros');
    }),
    { numRuns: 2000 },
  );
});

test('property: IPv4 text round-trips', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }), (v, len) => {
      const text = [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.') + '/' + len;
      assert.is(canon(text), text);
    }),
  );
});

test.run();
