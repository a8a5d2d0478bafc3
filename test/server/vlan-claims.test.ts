// VLAN over the resource protocol and the 2023 alloc rpcs: the function's grpc backend
// (protocol=resource / alloc2023) against our server, which routes vlan.resource.nephio.org and
// vlan.alloc.nephio.org to its VLAN backend (services/vlan-claims.ts). The same package gets the
// same answers as over the admin API; bad input is an error naming the field.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createGrpcBackend } from '../../src/backends/grpc.js';
import type { VlanRun } from '../../src/backends/backend.js';
import { IpamError } from '../../src/ipam/errors.js';
import { cleanup, inProcess, raw } from './helpers.js';

const cluster = { index: { name: 'cluster01' }, owner: 'default/WorkloadCluster/cluster01', implied: true };
type Req = VlanRun['requests'][number];
const claim = (name: string, more: Partial<Req> = {}, kind = 'VLANClaim'): Req => ({
  owner: `default/${kind}/${name}`,
  index: { name: 'cluster01' },
  ...more,
});
const run = (requests: Req[], release: string[] = []): VlanRun => ({ space: { indexes: [cluster], definitions: [] }, requests, release });
const ids = (o: Awaited<ReturnType<NonNullable<ReturnType<typeof createGrpcBackend>['runVlan']>>>) =>
  o.map((x) => (x.ok ? (x.allocation.vlanRange ?? x.allocation.vlanID) : `${(x.error as IpamError).code}: ${x.error.message}`));

test.after(() => cleanup());

for (const [protocol, kind] of [
  ['resource', 'VLANClaim'],
  ['alloc2023', 'VLANAllocation'],
] as const) {
  test(`protocol ${protocol}: claims, a vlanClaimName shared across packages, re-run identical, lookup, release; the same ids as admin`, async () => {
    const srv = await inProcess({ seed: undefined });
    const upf = createGrpcBackend({ address: srv.address, package: 'upf', protocol });
    const smf = createGrpcBackend({ address: srv.address, package: 'smf', protocol });
    const c = (name: string, more: Partial<Req> = {}) => claim(name, more, kind);
    const upfClaims = [
      c('n3', { claim: 'vpc-ran-cluster01-bd' }),
      c('n6', { claim: 'vpc-internet-cluster01-bd' }),
      c('trunk', { range: '4' }),
      c('static', { vlanID: 100 }),
    ];
    assert.equal(ids(await upf.runVlan!(run(upfClaims))), [2, 3, '4:7', 100]);
    assert.equal(
      ids(await upf.runVlan!(run(upfClaims.map((q, i) => ({ ...q, hint: ['2', '3', '4:7', '100'][i] }))))),
      [2, 3, '4:7', 100],
      're-run (sticky) identical',
    );
    // another package: its n4 shares vpc-ran's id; its own "static" is another owner
    assert.equal(ids(await smf.runVlan!(run([c('n4', { claim: 'vpc-ran-cluster01-bd' }), c('static')]))), [2, 8]);
    // a lookup (nephio.org/action: get) finds the shared id; nothing is taken
    const look = await smf.runVlan!({ ...run([c('gnb', { claim: 'vpc-ran-cluster01-bd' }), c('nobody')]), lookups: [true, true] });
    assert.equal(ids(look).slice(0, 1), [2]);
    assert.match(String(ids(look)[1]), /NotFound: .*holds no VLAN in VLAN index default\/cluster01/);
    const admin = raw('admin', srv.address);
    const listed = async () =>
      ((await admin.call('ListVlanClaims', {})) as { claims: { owner: string; vlanID?: number; vlanRange?: string }[] }).claims.map(
        (x) => `${x.owner} ${x.vlanRange ?? x.vlanID}`,
      );
    assert.equal(await listed(), [
      `upf|default/${kind}/n3 2`,
      `smf|default/${kind}/n4 2`,
      `upf|default/${kind}/n6 3`,
      `upf|default/${kind}/trunk 4:7`,
      `smf|default/${kind}/static 8`,
      `upf|default/${kind}/static 100`,
    ]);
    const indexes = ((await admin.call('ListVlanIndexes', {})) as { indexes: { owner: string; implied: boolean }[] }).indexes;
    assert.equal(
      indexes.map((x) => [x.owner, x.implied]),
      [['upf|default/WorkloadCluster/cluster01', true]],
      'the index the WorkloadCluster implies, made once',
    );
    // release: the package no longer has "static" and "trunk"
    assert.equal(ids(await upf.runVlan!(run(upfClaims.slice(0, 2), [`default/${kind}/static`, `default/${kind}/trunk`]))), [2, 3]);
    assert.equal(await listed(), [
      `upf|default/${kind}/n3 2`,
      `smf|default/${kind}/n4 2`,
      `upf|default/${kind}/n6 3`,
      `smf|default/${kind}/static 8`,
    ]);
    admin.close();
    await upf.close();
    await smf.close();
    await srv.shutdown();
  });
}

test('protocol resource, bad input: an unknown index, reserved and out-of-range ids, a range that touches a reserved id: errors naming the field, nothing held', async () => {
  const srv = await inProcess({ seed: undefined });
  const b = createGrpcBackend({ address: srv.address, package: 'bad', protocol: 'resource' });
  const out = await b.runVlan!(
    run([
      claim('a', { index: { name: 'cluster99' } }),
      claim('b', { vlanID: 4095 }),
      claim('c', { vlanID: 5000 }),
      claim('d', { range: '4094' }),
      claim('e', { range: '0:9' }),
    ]),
  );
  assert.ok(
    out.every((o) => !o.ok && o.error instanceof IpamError),
    ids(out).join('\n'),
  );
  assert.equal(
    out.map((o) => (!o.ok ? (o.error as IpamError).details.field : '')),
    ['spec.vlanIndex.name', 'spec.vlanID', 'spec.vlanID', 'spec.range', 'spec.range'],
  );
  assert.match(ids(out)[0] as string, /NotFound: VLAN index default\/cluster99 not found/);
  assert.match(ids(out)[1] as string, /spec.vlanID 4095 is reserved/);
  const admin = raw('admin', srv.address);
  assert.equal(((await admin.call('ListVlanClaims', {})) as { claims: unknown[] }).claims, []);
  admin.close();
  await b.close();
  await srv.shutdown();
});

test('protocol alloc (2022): a package with VLAN claims gets a clear error naming the protocols that carry them', async () => {
  const srv = await inProcess({ seed: undefined });
  const b = createGrpcBackend({ address: srv.address, package: 'p', protocol: 'alloc' });
  try {
    await b.runVlan!(run([claim('a')]));
    assert.unreachable('accepted');
  } catch (e) {
    assert.match(
      (e as Error).message,
      /protocol alloc \(the 2022 alloc\.Allocation\) has no VLAN claims: use protocol resource, alloc2023 or admin/,
    );
  }
  assert.equal(await b.runVlan!(run([])), [], 'VLAN space alone is not an error');
  await b.close();
  await srv.shutdown();
});

test.run();
