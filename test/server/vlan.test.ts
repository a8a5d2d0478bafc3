// VLAN through the server: the function's grpc backend (admin VlanBatch) and the admin VLAN
// rpcs, with the file store (durable, survives a restart and a compaction) and the etcd store
// (several replicas: no id twice, every replica sees every claim).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { createGrpcBackend } from '../../src/backends/grpc.js';
import { SpaceError, type VlanRun } from '../../src/backends/backend.js';
import { IpamError } from '../../src/ipam/errors.js';
import { FileStore } from '../../src/server/store/file-store.js';
import { EtcdStore } from '../../src/server/store/etcd-store.js';
import { processCompactor } from '../../src/server/store/compactor.js';
import { LiveIpam } from '../../src/server/live.js';
import { cleanup, inProcess, raw, tmp } from './helpers.js';
import { parseSeed } from '../../src/server/seed.js';
import { requireEtcd, startEtcd } from '../support/etcd.js';
import { main as get } from '../../src/cli/get.js';

const cluster = { index: { name: 'cluster01' }, owner: 'default/WorkloadCluster/cluster01', implied: true };
const claim = (name: string, more: Partial<VlanRun['requests'][number]> = {}): VlanRun['requests'][number] => ({
  owner: `default/VLANClaim/${name}`,
  index: { name: 'cluster01' },
  ...more,
});
const run = (requests: VlanRun['requests'], release: string[] = []): VlanRun => ({
  space: { indexes: [cluster], definitions: [] },
  requests,
  release,
});
const ids = (o: Awaited<ReturnType<NonNullable<ReturnType<typeof createGrpcBackend>['runVlan']>>>) =>
  o.map((x) => (x.ok ? (x.allocation.vlanRange ?? x.allocation.vlanID) : `${(x.error as IpamError).code}: ${x.error.message}`));

test.after(() => cleanup());

test('file store: claims, a vlanClaimName shared across packages, re-run identical, release; all of it survives a restart after compaction', async () => {
  const dir = join(tmp(), 'data');
  const store = () => new FileStore({ dir, compactBytes: 1024, segmentSize: 4096, compactor: processCompactor() });
  let srv = await inProcess({ store: store(), seed: undefined });
  const upf = createGrpcBackend({ address: srv.address, package: 'upf' });
  const smf = createGrpcBackend({ address: srv.address, package: 'smf' });
  const upfClaims = [
    claim('n3', { claim: 'vpc-ran-cluster01-bd' }),
    claim('n6', { claim: 'vpc-internet-cluster01-bd' }),
    claim('trunk', { range: '4' }),
    claim('static', { vlanID: 100 }),
  ];
  assert.equal(ids(await upf.runVlan!(run(upfClaims))), [2, 3, '4:7', 100]);
  assert.equal(ids(await upf.runVlan!(run(upfClaims))), [2, 3, '4:7', 100], 're-run identical');
  // another package in the cluster: its n4 shares the switch VLAN of vpc-ran; same local owner name, its own id
  assert.equal(ids(await smf.runVlan!(run([claim('n4', { claim: 'vpc-ran-cluster01-bd' }), claim('static')]))), [2, 8]);
  // padding, so that the log passes compactBytes more than once
  for (let i = 0; i < 40; i++) await smf.runVlan!(run([claim('n4', { claim: 'vpc-ran-cluster01-bd' }), claim('static'), claim(`pad${i}`)]));
  assert.equal(
    ids(await smf.runVlan!(run([], ['default/VLANClaim/static', ...Array.from({ length: 40 }, (_, i) => `default/VLANClaim/pad${i}`)]))),
    [],
  );
  const admin = raw('admin', srv.address);
  const listed = async () =>
    ((await admin.call('ListVlanClaims', {})) as { claims: { owner: string; vlanID?: number; vlanRange?: string }[] }).claims.map(
      (c) => `${c.owner} ${c.vlanRange ?? c.vlanID}`,
    );
  const want = await listed();
  assert.equal(want, [
    'upf|default/VLANClaim/n3 2',
    'smf|default/VLANClaim/n4 2',
    'upf|default/VLANClaim/n6 3',
    'upf|default/VLANClaim/trunk 4:7',
    'upf|default/VLANClaim/static 100',
  ]);
  for (let t = 0; srv.core.stats().compactions < 1; t++) {
    if (t > 500) throw new Error('no compaction');
    await new Promise((r) => setTimeout(r, 10));
  }
  await upf.close();
  await smf.close();
  admin.close();
  await srv.shutdown();

  srv = await inProcess({ store: store(), seed: undefined });
  const again = raw('admin', srv.address);
  const listedAgain = (
    (await again.call('ListVlanClaims', {})) as { claims: { owner: string; vlanID?: number; vlanRange?: string }[] }
  ).claims.map((c) => `${c.owner} ${c.vlanRange ?? c.vlanID}`);
  assert.equal(listedAgain, want);
  const b = createGrpcBackend({ address: srv.address, package: 'amf' });
  assert.equal(ids(await b.runVlan!(run([claim('x')]))), [8], 'the freed ids come back lowest first');
  await b.close();
  again.close();
  await srv.shutdown();
});

test('bad input: an unknown index, reserved and out-of-range ids, a range that does not fit: an error naming index and field, nothing held', async () => {
  const srv = await inProcess({ seed: undefined });
  const b = createGrpcBackend({ address: srv.address, package: 'bad' });
  const out = await b.runVlan!(
    run([
      claim('a', { index: { name: 'cluster99' } }),
      claim('b', { vlanID: 4095 }),
      claim('c', { vlanID: 5000 }),
      claim('d', { range: '4094' }),
      claim('e', { range: '0:9' }),
    ]),
  );
  assert.ok(out.every((o) => !o.ok && o.error instanceof IpamError));
  const fields = out.map((o) => (!o.ok ? (o.error as IpamError).details.field : ''));
  assert.equal(fields, ['spec.vlanIndex.name', 'spec.vlanID', 'spec.vlanID', 'spec.range', 'spec.range']);
  assert.match(ids(out)[0] as string, /NotFound: VLAN index default\/cluster99 not found/);
  assert.match(ids(out)[1] as string, /spec.vlanID 4095 is reserved/);
  const admin = raw('admin', srv.address);
  assert.equal(((await admin.call('ListVlanClaims', {})) as { claims: unknown[] }).claims, []);
  // an overlapping definition is a space error naming its owner
  try {
    await b.runVlan!({
      space: {
        indexes: [cluster],
        definitions: [
          { index: { name: 'cluster01' }, range: '10:20', owner: 'default/VLAN/a' },
          { index: { name: 'cluster01' }, vlanID: 15, owner: 'default/VLAN/b' },
        ],
      },
      requests: [],
      release: [],
    });
    assert.unreachable('accepted');
  } catch (e) {
    assert.instance(e, SpaceError);
    assert.equal(
      (e as SpaceError).errors.map((x) => x.owner),
      ['default/VLAN/b'],
    );
  }
  await b.close();
  admin.close();
  await srv.shutdown();
});

test('admin rpcs: apply and list indexes, list claims by index, removal refused while claims hold ids, Release frees a VLAN claim', async () => {
  const srv = await inProcess({ seed: undefined });
  const admin = raw('admin', srv.address);
  await admin.call('ApplyVlanIndex', { ref: { name: 'edge1' }, kind: 'device', labels: { site: 'edge1' }, owner: 'ops' });
  assert.equal(((await admin.call('ListVlanIndexes', {})) as { indexes: unknown[] }).indexes, [
    { ref: { name: 'edge1', namespace: 'default' }, kind: 'device', labels: { site: 'edge1' }, owner: 'ops', implied: false },
  ]);
  const b = createGrpcBackend({ address: srv.address, package: 'p' });
  assert.equal(
    ids(
      await b.runVlan!({
        space: { indexes: [], definitions: [] },
        requests: [{ owner: 'default/VLANAllocation/x', index: { name: 'edge1' }, selector: { matchLabels: { site: 'edge1' } } }],
        release: [],
      }),
    ),
    [2],
  );
  assert.equal(
    ((await admin.call('ListVlanClaims', { index: { name: 'edge1' } })) as { claims: { owner: string }[] }).claims.map((c) => c.owner),
    ['p|default/VLANAllocation/x'],
  );
  try {
    await admin.call('RemoveVlanIndex', { ref: { name: 'edge1' } });
    assert.unreachable('removed');
  } catch (e) {
    assert.match((e as Error).message, /still holds ids of p\|default\/VLANAllocation\/x/);
  }
  await admin.call('Release', { owner: 'p|default/VLANAllocation/x' });
  assert.equal(((await admin.call('ListVlanClaims', {})) as { claims: unknown[] }).claims, []);
  await admin.call('RemoveVlanIndex', { ref: { name: 'edge1' } });
  assert.equal(((await admin.call('ListVlanIndexes', {})) as { indexes: unknown[] }).indexes, []);
  await b.close();
  admin.close();
  await srv.shutdown();
});

test('--seed applies its VLANIndex and VLAN resources and the index a WorkloadCluster implies; a claim draws from the seeded range', async () => {
  const seed = parseSeed(
    `apiVersion: vlan.resource.nephio.org/v1alpha1
kind: VLANIndex
metadata: {name: edge1}
spec: {labels: {site: edge1}}
---
apiVersion: vlan.resource.nephio.org/v1alpha1
kind: VLAN
metadata: {name: ran, labels: {purpose: ran}}
spec: {vlanIndex: {name: edge1}, range: "100:109"}
---
apiVersion: infra.nephio.org/v1alpha1
kind: WorkloadCluster
metadata: {name: cluster01}
spec: {clusterName: cluster01}
`,
    'seed.yaml',
  );
  const srv = await inProcess({ seed });
  const admin = raw('admin', srv.address);
  const indexes = ((await admin.call('ListVlanIndexes', {})) as { indexes: { ref: { name: string }; implied: boolean; owner: string }[] })
    .indexes;
  assert.equal(indexes.map((x) => [x.ref.name, x.implied, x.owner]).sort(), [
    ['cluster01', true, 'seed|default/WorkloadCluster/cluster01'],
    ['edge1', false, 'seed|default/VLANIndex/edge1'],
  ]);
  const b = createGrpcBackend({ address: srv.address, package: 'p' });
  const out = await b.runVlan!({
    space: { indexes: [], definitions: [] },
    requests: [{ owner: 'default/VLANClaim/a', index: { name: 'edge1' }, selector: { matchLabels: { purpose: 'ran' } } }],
    release: [],
  });
  assert.equal(ids(out), [100]);
  await b.close();
  admin.close();
  await srv.shutdown();
});

test('--seed with a VLAN on a reserved id: the server does not start, and says which resource', async () => {
  const seed = parseSeed(
    'apiVersion: vlan.resource.nephio.org/v1alpha1\nkind: VLANIndex\nmetadata: {name: edge1}\nspec: {}\n---\napiVersion: vlan.resource.nephio.org/v1alpha1\nkind: VLAN\nmetadata: {name: bad}\nspec: {vlanIndex: {name: edge1}, vlanID: 4095}\n',
    'seed.yaml',
  );
  const e = await inProcess({ seed }).then(
    async (srv) => {
      await srv.shutdown();
      return undefined;
    },
    (err: Error) => err,
  );
  assert.ok(e, 'the server started');
  assert.match(e!.message, /^--seed: seed\|default\/VLAN\/bad: spec\.vlanID 4095 is reserved/);
});

test('ipam-injector get vlan-indexes / vlan-claims: tables, yaml, filtered by index and owner prefix', async () => {
  const srv = await inProcess({ seed: undefined });
  const b = createGrpcBackend({ address: srv.address, package: 'upf' });
  await b.runVlan!({
    space: {
      indexes: [cluster, { index: { name: 'edge1' }, kind: 'device', labels: { site: 'edge1' }, owner: 'default/VLANDatabase/edge1' }],
      definitions: [],
    },
    requests: [
      claim('n3', { claim: 'vpc-ran-cluster01-bd' }),
      claim('t', { range: '3' }),
      { owner: 'default/VLANAllocation/e', index: { name: 'edge1' }, vlanID: 200 },
    ],
    release: [],
  });
  const text = async (...args: string[]) => {
    let s = '';
    const code = await get([...args, '--server', srv.address], (x) => (s += x));
    assert.is(code, 0, s);
    return s;
  };
  assert.is(
    await text('vlan-indexes'),
    'NAMESPACE   NAME        KIND     LABELS        OWNER\n' +
      'default     cluster01   esg      - (implied)   upf|default/WorkloadCluster/cluster01\n' +
      'default     edge1       device   site=edge1    upf|default/VLANDatabase/edge1\n',
  );
  assert.is(
    await text('vlan-claims', '--vlan-index', 'cluster01'),
    'VLAN-INDEX          VLAN   CLAIM-NAME             OWNER\n' +
      'default/cluster01   2      vpc-ran-cluster01-bd   upf|default/VLANClaim/n3\n' +
      'default/cluster01   3:5    -                      upf|default/VLANClaim/t\n',
  );
  assert.match(await text('vlan-claims', '-o', 'yaml', '--owner-prefix', 'upf|default/VLANAllocation'), /vlanID: 200\n/);
  assert.is(await text('vlan-claims', '--owner-prefix', 'other|'), 'No vlan-claims found.\n');
  await b.close();
  await srv.shutdown();
});

if (requireEtcd(test)) {
  test('etcd store, two replicas: packages claim at once on both, no id is handed out twice, each replica and a restart see every claim, a release on one is seen by the other', async () => {
    const etcd = await startEtcd();
    const prefix = `/vlan-${process.pid}`;
    const replica = () => inProcess({ store: new EtcdStore({ endpoints: etcd.endpoints, prefix, live: new LiveIpam() }), seed: undefined });
    const servers = [await replica(), await replica()];
    const listed = async (address: string) => {
      const admin = raw('admin', address);
      try {
        return ((await admin.call('ListVlanClaims', {})) as { claims: { owner: string; vlanID?: number; vlanRange?: string }[] }).claims
          .map((c) => `${c.owner} ${c.vlanRange ?? c.vlanID}`)
          .sort();
      } finally {
        admin.close();
      }
    };
    /** Until both lists agree (the other replica follows the journal), at most 5 s. */
    const agreed = async (a: string, b: string) => {
      for (let t = 0; ; t++) {
        const [x, y] = [await listed(a), await listed(b)];
        if (JSON.stringify(x) === JSON.stringify(y) || t > 100) return [x, y];
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      const pkgs = Array.from({ length: 12 }, (_, i) => createGrpcBackend({ address: servers[i % 2]!.address, package: `p${i}` }));
      const out = await Promise.all(
        pkgs.map((b) => b.runVlan!(run([claim('n3'), claim('n6', { claim: 'vpc-internet-cluster01-bd' }), claim('t', { range: '2' })]))),
      );
      assert.ok(
        out.flat().every((o) => o.ok),
        out
          .flat()
          .map((o) => (o.ok ? 'ok' : o.error.message))
          .join('\n'),
      );
      // every id once: the dynamic ones and the blocks, with the one shared vlanClaimName id
      const given = out
        .flatMap((o) => [ids([o[0]!])[0], ids([o[2]!])[0]])
        .flatMap((x) => (typeof x === 'string' ? [Number(x.split(':')[0]), Number(x.split(':')[1])] : [x as number]));
      const shared = new Set(out.map((o) => ids([o[1]!])[0]));
      assert.is(shared.size, 1, 'one id for the shared vlanClaimName');
      assert.is(new Set([...given, ...shared]).size, given.length + 1, `no id twice: ${given.join(' ')} and ${[...shared].join(' ')}`);
      const [a, b] = await agreed(servers[0]!.address, servers[1]!.address);
      assert.is(a!.length, 36);
      assert.equal(a, b, 'both replicas hold every claim');
      // a replica started later reads them from etcd; a release on one is seen by the other
      await servers[0]!.shutdown();
      servers[0] = await replica();
      assert.equal(await listed(servers[0].address), a);
      assert.equal(ids(await pkgs[1]!.runVlan!(run([], ['default/VLANClaim/n3', 'default/VLANClaim/n6', 'default/VLANClaim/t']))), []);
      const [c, d] = await agreed(servers[0].address, servers[1]!.address);
      assert.equal(c, d);
      assert.equal(
        c,
        a!.filter((x) => !x.startsWith('p1|')),
      );
      // the freed ids come back, lowest first, on the other replica
      const again = createGrpcBackend({ address: servers[0].address, package: 'late' });
      const lowest = Math.min(
        ...out[1]!
          .filter((o) => o.ok && o.allocation.vlanID !== undefined && o.allocation.claim === undefined)
          .map((o) => (o.ok ? o.allocation.vlanID! : 0)),
      );
      assert.equal(ids(await again.runVlan!(run([claim('x')]))), [lowest]);
      await again.close();
      for (const p of pkgs) await p.close();
    } finally {
      for (const srv of servers) await srv.shutdown().catch(() => undefined);
      await etcd.stop();
    }
  });
}

test.run();
