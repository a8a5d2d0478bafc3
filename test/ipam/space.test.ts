// docs/semantics.md "Resources" and "Address space": network instances, kinds, nesting, owners, host bits.
import * as assert from 'uvu/assert';
import { createIpam } from '../../src/ipam/index.js';
import { CL, fresh, ni, pfx, req, sel, test, throwsIpam } from './helpers.js';

test('network instances are separate trees: overlap between instances is allowed', () => {
  const ipam = createIpam();
  ipam.applyNetworkInstance({ name: 'a' }, [{ prefix: '10.0.0.0/8' }], 'ni/a');
  ipam.applyNetworkInstance({ name: 'b', namespace: 'other' }, [{ prefix: '10.0.0.0/8' }], 'ni/b');
  ipam.applyPrefix({ networkInstance: { name: 'a' }, prefix: '10.0.0.0/24', kind: 'network', owner: 'p/a' });
  ipam.applyPrefix({ networkInstance: { name: 'b', namespace: 'other' }, prefix: '10.0.0.0/24', kind: 'network', owner: 'p/b' });
  const x = ipam.allocate({ owner: 'x', networkInstance: { name: 'a' }, kind: 'network' });
  const y = ipam.allocate({ owner: 'y', networkInstance: { name: 'b', namespace: 'other' }, kind: 'network' });
  assert.is(x.prefix, '10.0.0.1/24');
  assert.is(y.prefix, '10.0.0.1/24');
  assert.equal(y.networkInstance, { name: 'b', namespace: 'other' });
  assert.equal(x.networkInstance, { name: 'a', namespace: 'default' }, 'namespace defaults to default');
});

test('error: network instance unknown ("network instance <ns/name> not found")', () => {
  const ipam = fresh();
  const e = throwsIpam(
    () => ipam.allocate({ owner: 'x', networkInstance: { name: 'nope' }, kind: 'network' }),
    'NotFound',
    /network instance default\/nope not found/,
  );
  assert.is(e.details.networkInstance, 'default/nope');
  throwsIpam(
    () => ipam.applyPrefix({ networkInstance: { name: 'nope', namespace: 'x' }, prefix: '10.0.0.0/24', kind: 'network', owner: 'p' }),
    'NotFound',
    /network instance x\/nope not found/,
  );
});

test('NetworkInstance prefixes become aggregates owned by the instance', () => {
  const ipam = fresh(['10.0.0.0/8']);
  const [p] = ipam.listPrefixes(ni);
  assert.is(p.kind, 'aggregate');
  assert.is(p.prefix, '10.0.0.0/8');
  assert.is(p.owner, 'default/NetworkInstance/vpc');
  assert.is(p.labels['nephio.org/prefix-kind'], 'aggregate');
  assert.equal(ipam.listNetworkInstances(), [
    { name: 'vpc', namespace: 'default', owner: 'default/NetworkInstance/vpc', prefixes: [{ prefix: '10.0.0.0/8' }] },
  ]);
});

test('a network instance of another owner is in use', () => {
  const ipam = fresh();
  throwsIpam(
    () => ipam.applyNetworkInstance(ni, [{ prefix: '10.0.0.0/8' }], 'someone-else'),
    'AlreadyExists',
    /in use by default\/NetworkInstance\/vpc/,
  );
});

test('applying a network instance again updates its aggregates; removing one still used is refused', () => {
  const ipam = fresh(['10.0.0.0/8']);
  ipam.applyNetworkInstance(
    ni,
    [{ prefix: '10.0.0.0/8' }, { prefix: '172.16.0.0/12', labels: { zone: 'b' } }],
    'default/NetworkInstance/vpc',
  );
  assert.equal(
    ipam.listPrefixes(ni).map((p) => p.prefix),
    ['10.0.0.0/8', '172.16.0.0/12'],
  );
  pfx(ipam, '172.16.0.0/24', 'network');
  ipam.allocate(req('user', 'network', { selector: sel({ 'nephio.org/network-instance': 'vpc' }) }));
  const e = throwsIpam(
    () => ipam.applyNetworkInstance(ni, [{ prefix: '10.0.0.0/8' }], 'default/NetworkInstance/vpc'),
    'FailedPrecondition',
    /still used by/,
  );
  assert.equal(e.details.dependents, ['default/IPPrefix/network-172.16.0.0/24', 'user']);
  assert.equal(ipam.listPrefixes(ni).length, 3, 'nothing changed');
});

test('nesting: aggregate in aggregate, pool in pool, network/loopback/pool in aggregate', () => {
  const ipam = fresh(['10.0.0.0/8']);
  assert.is(pfx(ipam, '10.1.0.0/16', 'aggregate').prefix, '10.1.0.0/16');
  pfx(ipam, '10.1.0.0/20', 'pool');
  pfx(ipam, '10.1.0.0/24', 'pool');
  pfx(ipam, '10.2.0.0/24', 'network');
  pfx(ipam, '10.3.0.0/24', 'loopback');
  assert.is(ipam.listPrefixes(ni).length, 6);
});

test('nesting: a network prefix only in an aggregate (not in a pool or a network)', () => {
  const ipam = fresh(['10.0.0.0/8']);
  pfx(ipam, '10.1.0.0/16', 'pool');
  pfx(ipam, '10.2.0.0/16', 'network');
  throwsIpam(
    () => pfx(ipam, '10.1.1.0/24', 'network'),
    'FailedPrecondition',
    /network prefix \(10\.1\.1\.0\/24\) cannot be nested in pool prefix 10\.1\.0\.0\/16/,
  );
  throwsIpam(() => pfx(ipam, '10.2.1.0/24', 'network'), 'FailedPrecondition', /cannot be nested in network/);
});

test('nesting: a pool never inside a network or loopback prefix; a loopback prefix only in an aggregate', () => {
  const ipam = fresh(['10.0.0.0/8']);
  pfx(ipam, '10.2.0.0/16', 'network');
  pfx(ipam, '10.4.0.0/16', 'pool');
  throwsIpam(() => pfx(ipam, '10.2.1.0/24', 'pool'), 'FailedPrecondition', /cannot be nested in network/);
  throwsIpam(() => pfx(ipam, '10.4.1.0/24', 'loopback'), 'FailedPrecondition', /loopback prefix .* cannot be nested in pool/);
  throwsIpam(() => pfx(ipam, '10.4.2.0/24', 'aggregate'), 'FailedPrecondition', /aggregate prefix .* cannot be nested in pool/);
});

// docs/semantics.md's nesting table, every cell that is not allowed: the closest enclosing prefix
// decides, and the answer is the nesting error even where the new prefix covers the parent's
// reserved network/broadcast address or another owner's allocation.
const KINDS = ['aggregate', 'network', 'pool', 'loopback'] as const;
const ALLOWED_PARENTS: Record<(typeof KINDS)[number], readonly string[]> = {
  aggregate: ['aggregate'],
  network: ['aggregate'],
  pool: ['aggregate', 'pool'],
  loopback: ['aggregate'],
};

for (const parent of KINDS) {
  for (const kind of KINDS) {
    if (ALLOWED_PARENTS[kind].includes(parent)) continue;
    test(`nesting: a ${kind} prefix cannot be inside a ${parent} prefix (nesting error, not "in use")`, () => {
      const ipam = fresh(['10.0.0.0/8']);
      pfx(ipam, '10.1.0.0/24', parent);
      // first block (covers a network's network address), a middle one, the last (covers its broadcast)
      for (const inner of ['10.1.0.0/28', '10.1.0.64/26', '10.1.0.240/28', '10.1.0.0/25']) {
        const e = throwsIpam(
          () => pfx(ipam, inner, kind),
          'FailedPrecondition',
          new RegExp(
            `^an? ${kind} prefix \\(${inner.replace(/\./g, '\\.')}\\) cannot be nested in ${parent} prefix 10\\.1\\.0\\.0/24 in network instance default/vpc$`,
          ),
        );
        assert.is(e.details.prefix, inner);
        assert.is(e.details.field, 'spec.prefix');
      }
      assert.is(ipam.listPrefixes(ni).length, 2, 'nothing was added');
    });
  }
}

test('nesting: the nesting error wins over what lies inside the parent (reserved addresses, allocations)', () => {
  const ipam = fresh(['10.0.0.0/8']);
  pfx(ipam, '10.0.1.1/24', 'network', { s: 'n' });
  pfx(ipam, '10.2.0.0/24', 'pool', { s: 'p' });
  ipam.allocate(req('a', 'network', { selector: sel({ s: 'n' }) }));
  ipam.allocate(req('b', 'pool', { prefixLength: 28, selector: sel({ s: 'p' }) }));
  // the gateway-like reserved address and a host allocation lie inside
  throwsIpam(
    () => pfx(ipam, '10.0.1.0/29', 'pool'),
    'FailedPrecondition',
    /a pool prefix \(10\.0\.1\.0\/29\) cannot be nested in network prefix 10\.0\.1\.0\/24/,
  );
  // another owner's pool allocation lies inside
  throwsIpam(
    () => pfx(ipam, '10.2.0.0/27', 'network'),
    'FailedPrecondition',
    /a network prefix \(10\.2\.0\.0\/27\) cannot be nested in pool prefix 10\.2\.0\.0\/24/,
  );
  // a network IPPrefix with host bits is checked the same way
  throwsIpam(() => pfx(ipam, '10.0.1.5/30', 'network'), 'FailedPrecondition', /cannot be nested in network prefix 10\.0\.1\.0\/24/);
  // the same prefix claimed by another owner stays "in use"; an allowed nesting still reports what is in the way
  throwsIpam(() => pfx(ipam, '10.0.1.0/24', 'pool'), 'AlreadyExists', /in use by/);
  throwsIpam(() => pfx(ipam, '10.2.0.0/26', 'pool'), 'AlreadyExists', /in use by b/);
});

test('nesting: static allocations follow the same table (nesting error, not "reserved")', () => {
  const ipam = fresh(['10.0.0.0/8']);
  pfx(ipam, '10.0.1.0/24', 'network');
  pfx(ipam, '10.0.2.0/24', 'loopback');
  throwsIpam(
    () => ipam.allocate(req('p', 'pool', { prefix: '10.0.1.0/28' })),
    'FailedPrecondition',
    /a pool prefix \(10\.0\.1\.0\/28\) cannot be nested in network prefix 10\.0\.1\.0\/24/,
  );
  throwsIpam(
    () => ipam.allocate(req('q', 'pool', { prefix: '10.0.1.240/28' })),
    'FailedPrecondition',
    /cannot be nested in network prefix/,
  );
  throwsIpam(
    () => ipam.allocate(req('s', 'network', { prefix: '10.0.1.0/28', createPrefix: true })),
    'FailedPrecondition',
    /a network prefix \(10\.0\.1\.0\/28\) cannot be nested in network prefix/,
  );
  throwsIpam(
    () => ipam.allocate(req('t', 'aggregate', { prefix: '10.0.1.0/28' })),
    'FailedPrecondition',
    /an? aggregate prefix \(10\.0\.1\.0\/28\) cannot be nested in network prefix/,
  );
  throwsIpam(() => ipam.allocate(req('u', 'pool', { prefix: '10.0.2.0/28' })), 'FailedPrecondition', /cannot be nested in loopback prefix/);
  assert.is(ipam.listAllocations().length, 0);
});

test('error: every non-aggregate prefix must lie inside an aggregate ("an aggregate prefix is required")', () => {
  const ipam = fresh(['10.0.0.0/8']);
  for (const kind of ['network', 'pool', 'loopback'] as const) {
    const e = throwsIpam(() => pfx(ipam, '192.168.0.0/24', kind), 'FailedPrecondition', /an aggregate prefix is required/);
    assert.is(e.details.networkInstance, 'default/vpc');
    assert.is(e.details.prefix, '192.168.0.0/24');
  }
  assert.is(pfx(ipam, '192.168.0.0/16', 'aggregate').prefix, '192.168.0.0/16', 'an aggregate needs no parent');
  throwsIpam(() => ipam.allocate(req('x', 'pool', { prefix: '172.16.0.0/24' })), 'FailedPrecondition', /an aggregate prefix is required/);
});

test('an aggregate applied after prefixes it contains takes them as children', () => {
  const ipam = fresh(['10.0.0.0/8']);
  pfx(ipam, '10.1.2.0/24', 'network');
  const a = ipam.allocate(req('a', 'pool', { prefixLength: 24, prefix: '10.1.3.0/24' }));
  assert.is(a.parent, '10.0.0.0/8');
  pfx(ipam, '10.1.0.0/16', 'aggregate');
  assert.is(ipam.getAllocations('a')[0].parent, '10.1.0.0/16');
  assert.equal(ipam.utilization(ni, '10.1.0.0/16').used, '512');
  ipam.applyNetworkInstance(ni, [{ prefix: '10.0.0.0/8' }, { prefix: '0.0.0.0/0' }], 'default/NetworkInstance/vpc');
  assert.equal(ipam.utilization(ni, '0.0.0.0/0').used, String(2 ** 24));
});

test('error: a prefix owned by one owner cannot be claimed by another ("in use by")', () => {
  const ipam = fresh(['10.0.0.0/8']);
  pfx(ipam, '10.1.0.0/16', 'pool');
  const e = throwsIpam(
    () => ipam.applyPrefix({ networkInstance: ni, prefix: '10.1.0.0/16', kind: 'pool', owner: 'other' }),
    'AlreadyExists',
    /10\.1\.0\.0\/16 in network instance default\/vpc is in use by default\/IPPrefix\/pool-10\.1\.0\.0\/16/,
  );
  assert.equal(e.details.dependents, ['default/IPPrefix/pool-10.1.0.0/16']);
  ipam.allocate(req('alice', 'pool', { prefix: '10.2.0.0/24' }));
  throwsIpam(() => ipam.allocate(req('bob', 'pool', { prefix: '10.2.0.0/24' })), 'AlreadyExists', /in use by alice/);
  throwsIpam(() => ipam.allocate(req('bob', 'pool', { prefix: '10.2.0.0/23' })), 'AlreadyExists', /in use by alice/);
  // an allocated pool is a pool: what lies inside it is its free space (pools nest)
  assert.is(ipam.allocate(req('carol', 'pool', { prefix: '10.2.0.0/25' })).parent, '10.2.0.0/24');
  throwsIpam(
    () => ipam.allocate(req('dave', 'network', { prefix: '10.2.0.128/25', createPrefix: true })),
    'FailedPrecondition',
    /cannot be nested in pool/,
  );
  throwsIpam(() => pfx(ipam, '10.2.0.0/24', 'network'), 'AlreadyExists', /in use by alice/);
});

test('applying the same prefix again by its owner is idempotent and updates labels', () => {
  const ipam = fresh(['10.0.0.0/8']);
  pfx(ipam, '10.1.0.0/16', 'pool', { a: '1' });
  const p = pfx(ipam, '10.1.0.0/16', 'pool', { a: '2' });
  assert.is(p.labels.a, '2');
  assert.is(ipam.listPrefixes(ni).length, 2);
  assert.is(ipam.allocate(req('x', 'pool', { prefixLength: 24, selector: sel({ a: '2' }) })).prefix, '10.1.0.0/24');
});

test('error: aggregate or pool prefix with host bits ("net <> address is not allowed for kind K")', () => {
  const ipam = fresh(['10.0.0.0/8']);
  const e = throwsIpam(
    () => pfx(ipam, '10.1.1.1/16', 'aggregate'),
    'InvalidArgument',
    /net <10\.1\.1\.1\/16> address is not allowed for kind aggregate/,
  );
  assert.is(e.details.field, 'spec.prefix');
  throwsIpam(() => pfx(ipam, '10.1.1.1/16', 'pool'), 'InvalidArgument', /net <10\.1\.1\.1\/16> address is not allowed for kind pool/);
  throwsIpam(
    () => ipam.applyNetworkInstance({ name: 'n2' }, [{ prefix: '10.0.1.1/24' }], 'o'),
    'InvalidArgument',
    /not allowed for kind aggregate/,
  );
  assert.is(ipam.listNetworkInstances().length, 1, 'the failed instance was not created');
  throwsIpam(
    () => ipam.allocate(req('x', 'pool', { prefix: '10.3.0.1/24' })),
    'InvalidArgument',
    /net <10\.3\.0\.1\/24> address is not allowed for kind pool/,
  );
  throwsIpam(() => ipam.allocate(req('x', 'aggregate', { prefix: '10.3.0.1/24' })), 'InvalidArgument', /not allowed for kind aggregate/);
  throwsIpam(() => ipam.allocate(req('x', 'loopback', { prefix: '10.3.0.1/24' })), 'InvalidArgument', /not allowed for kind loopback/);
});

test('error: malformed prefixes name the field (010.0.0.1, 10.0.0.0/33)', () => {
  const ipam = fresh(['10.0.0.0/8']);
  const e = throwsIpam(
    () => pfx(ipam, '010.0.0.1/24', 'network'),
    'InvalidArgument',
    /invalid IP prefix "010\.0\.0\.1\/24".*leading zeros/,
  );
  assert.is(e.details.field, 'spec.prefix');
  throwsIpam(
    () => ipam.applyNetworkInstance(ni, [{ prefix: '10.0.0.0/33' }], 'default/NetworkInstance/vpc'),
    'InvalidArgument',
    /exceeds 32/,
  );
  throwsIpam(() => ipam.allocate(req('x', 'network', { prefix: '10.0.0.1/24x' })), 'InvalidArgument', /invalid IP prefix/);
});

test('error: unknown prefix kind', () => {
  const ipam = fresh();
  throwsIpam(
    () => ipam.applyPrefix({ networkInstance: ni, prefix: '10.1.0.0/16', kind: 'bogus' as never, owner: 'o' }),
    'InvalidArgument',
    /unknown prefix kind "bogus"/,
  );
  throwsIpam(() => ipam.allocate(req('x', 'subnet' as never)), 'InvalidArgument', /unknown prefix kind "subnet"/);
});

test('uppercase and zero-compressed IPv6 input is accepted and answered canonically', () => {
  const ipam = fresh(['10.0.0.0/8', '2001:DB8:0:0::/32']);
  pfx(ipam, '2001:0DB8:0000:0001::1/64', 'network', { [CL]: 'c1', 'nephio.org/gateway': 'true' });
  assert.equal(
    ipam.listPrefixes(ni).map((p) => p.prefix),
    ['10.0.0.0/8', '2001:db8::/32', '2001:db8:0:1::/64'],
  );
  const a = ipam.allocate(req('x', 'network', { selector: sel({ [CL]: 'c1' }) }));
  assert.is(a.prefix, '2001:db8:0:1::2/64');
  assert.is(a.gateway, '2001:db8:0:1::1');
  assert.is(a.addressFamily, 'ipv6');
});

test('IPv4-mapped IPv6 (::ffff:0:0/96) is refused with the IPv4 spelling', () => {
  const ipam = fresh(['10.0.0.0/8', '::/64']);
  throwsIpam(() => pfx(ipam, '::ffff:10.0.0.0/120', 'network'), 'InvalidArgument', /IPv4-mapped.*write the IPv4 address 10\.0\.0\.0/);
  throwsIpam(() => ipam.allocate(req('x', 'loopback', { prefix: '::ffff:10.0.0.1/128' })), 'InvalidArgument', /IPv4-mapped/);
  // a network that spans the mapped range never hands out one of its addresses
  pfx(ipam, '::/80', 'network');
  assert.is(ipam.utilization(ni, '::/80').used, String(1 + 2 ** 32), 'the first address and the mapped /96 (which holds the last)');
  pfx(ipam, '0:0:0:0:1::/80', 'loopback');
  assert.is(ipam.utilization(ni, '0:0:0:0:1::/80').used, '0', 'a range that does not span ::ffff:0:0/96 loses nothing');
});

test('applying a prefix again with another kind replaces it (refused while others use it)', () => {
  const ipam = fresh(['10.0.0.0/8']);
  ipam.applyPrefix({ networkInstance: ni, prefix: '10.1.0.0/16', kind: 'pool', labels: { s: 'p' }, owner: 'o' });
  ipam.applyPrefix({ networkInstance: ni, prefix: '10.1.0.0/16', kind: 'loopback', labels: { s: 'p' }, owner: 'o' });
  assert.equal(
    ipam.listPrefixes(ni).map((p) => p.kind),
    ['aggregate', 'loopback'],
  );
  ipam.allocate(req('lo', 'loopback', { selector: sel({ s: 'p' }) }));
  throwsIpam(
    () => ipam.applyPrefix({ networkInstance: ni, prefix: '10.1.0.0/16', kind: 'pool', owner: 'o' }),
    'FailedPrecondition',
    /still used by lo/,
  );
  assert.equal(
    ipam.listPrefixes(ni).map((p) => p.kind),
    ['aggregate', 'loopback'],
  );
});

test('network instance labels: updating them changes what selectors find', () => {
  const ipam = fresh(['10.0.0.0/8']);
  ipam.applyNetworkInstance(ni, [{ prefix: '10.0.0.0/8', labels: { tier: 'a' } }], 'default/NetworkInstance/vpc');
  assert.is(ipam.allocate(req('s1', 'network', { prefixLength: 24, selector: sel({ tier: 'a' }) })).prefix, '10.0.0.0/24');
  ipam.applyNetworkInstance(ni, [{ prefix: '10.0.0.0/8', labels: { tier: 'b' } }], 'default/NetworkInstance/vpc');
  throwsIpam(() => ipam.allocate(req('s2', 'network', { prefixLength: 24, selector: sel({ tier: 'a' }) })), 'NotFound');
  assert.is(ipam.allocate(req('s3', 'network', { prefixLength: 24, selector: sel({ tier: 'b' }) })).prefix, '10.0.1.0/24');
  assert.equal(ipam.listNetworkInstances()[0].prefixes, [{ prefix: '10.0.0.0/8', labels: { tier: 'b' } }]);
});

test('releasing the owner of a network instance removes it', () => {
  const ipam = fresh(['10.0.0.0/8']);
  assert.equal(ipam.release('default/NetworkInstance/vpc'), []);
  assert.equal(ipam.listNetworkInstances(), []);
});

test.run();
