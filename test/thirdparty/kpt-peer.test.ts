// The function under the real kpt with backend=grpc protocol=resource against a server we
// did not write to our own design (./peer.ts: the original's .proto text and behaviour):
// allocate, re-render, release, and a run that fails half way leaving nothing new held.
import { test } from '../support/uvu.js';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { Peer } from './peer.js';

const root = new URL('../..', import.meta.url).pathname;
const bin = join(root, 'bin/ipam-injector');
if (spawnSync('kpt', ['version']).status !== 0) throw new Error('kpt is not on PATH: these tests run the function under the real kpt');
if (!existsSync(join(root, 'dist/ipam-injector.mjs'))) throw new Error('dist/ is not built: run npm run build (npm test does)');

async function render(pkg: string, results: string, address: string) {
  mkdirSync(results, { recursive: true });
  const args = [
    'fn',
    'eval',
    pkg,
    '--exec',
    bin,
    '--results-dir',
    results,
    '--',
    'backend=grpc',
    `address=${address}`,
    'protocol=resource',
    'package=pkg-upf',
  ];
  const child = spawn('kpt', args);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  const f = join(results, 'results.yaml');
  const list = existsSync(f) ? parse(readFileSync(f, 'utf8')) : {};
  const items = (list.items ?? []).flatMap((i: { results?: { message: string }[] }) => i.results ?? []) as {
    message: string;
    severity: string;
  }[];
  return { code, out, messages: items.map((i) => `${i.severity}: ${i.message}`) };
}

const claim = (name: string, cluster: string) => `apiVersion: ipam.resource.nephio.org/v1alpha1
kind: IPClaim
metadata:
  name: ${name}
spec:
  kind: network
  selector:
    matchLabels:
      nephio.org/cluster-name: ${cluster}
  networkInstance:
    name: vpc
`;

const statusOf = (pkg: string, file: string) => parse(readFileSync(join(pkg, file), 'utf8')).status;

test('resource protocol against a third-party peer: allocate, re-render, release, fail half way', async () => {
  const peer = new Peer();
  await peer.start();
  const tmp = mkdtempSync(join(tmpdir(), 'ipam-peer-'));
  try {
    const pkg = join(tmp, 'pkg');
    cpSync(join(root, 'fixtures/ipclaim-network'), pkg, { recursive: true, filter: (s) => !s.endsWith('/.expected') });
    writeFileSync(join(pkg, 'second.yaml'), claim('smf-n4', 'cluster01'));

    // allocate: the peer opened the index, took the instance's prefix and the IPPrefix as
    // claims, and answered whole objects our client read
    const r1 = await render(pkg, join(tmp, 'r1'), peer.address);
    assert.is(r1.code, 0, r1.out);
    assert.equal(statusOf(pkg, 'ipclaim.yaml'), { prefix: '10.0.0.2/24', gateway: '10.0.0.1' });
    assert.equal(statusOf(pkg, 'second.yaml'), { prefix: '10.0.0.3/24', gateway: '10.0.0.1' });
    assert.equal(peer.held(), [
      'default/vpc 10.0.0.0/24 cluster01-gateway',
      'default/vpc 10.0.0.0/8 10.0.0.0-8-vpc-aggregate',
      'default/vpc 10.0.0.1/32 cluster01-gateway',
      'default/vpc 10.0.0.2/32 upf-cluster01-n3',
      'default/vpc 10.0.0.3/32 smf-n4',
    ]);
    assert.equal(peer.unknownFields, [], 'every JSON field sent is a field of the Go types');
    const rpcs = peer.calls.map((c) => `${c.rpc} ${c.header.gvk.kind} ${c.header.nsn.name}`);
    assert.equal(rpcs.slice(0, 3), [
      'CreateIndex NetworkInstance vpc',
      'Claim IPClaim 10.0.0.0-8-vpc-aggregate',
      'Claim IPPrefix cluster01-gateway',
    ]);
    // the claims carry the owner labels the original client writes
    const sent = JSON.parse(peer.calls.find((c) => c.header.nsn.name === 'smf-n4')!.spec);
    assert.is(sent.kind, 'IPClaim');
    assert.is(sent.spec.labels['nephio.org/nsn-name'], 'smf-n4');
    assert.is(sent.spec.labels['nephio.org/owner-gvk'], 'IPClaim.v1alpha1.ipam.resource.nephio.org');

    // re-render: the same answers, nothing new held
    const r2 = await render(pkg, join(tmp, 'r2'), peer.address);
    assert.is(r2.code, 0, r2.out);
    assert.equal(statusOf(pkg, 'second.yaml'), { prefix: '10.0.0.3/24', gateway: '10.0.0.1' });
    assert.is(peer.held().length, 5);

    // release: the claim leaves the package, the peer frees it (DeleteClaim with the whole object)
    rmSync(join(pkg, 'second.yaml'));
    const r3 = await render(pkg, join(tmp, 'r3'), peer.address);
    assert.is(r3.code, 0, r3.out);
    assert.not.ok(
      peer.held().some((h) => h.endsWith(' smf-n4')),
      peer.held().join('\n'),
    );
    const del = peer.calls.filter((c) => c.rpc === 'DeleteClaim');
    assert.is(del.length, 1);
    assert.is(JSON.parse(del[0]!.spec).spec.networkInstance.name, 'vpc');

    // fail half way: one new claim is answered, the other matches nothing; the run exits 1,
    // the answered one is released again and the results say so, the package is unchanged
    writeFileSync(join(pkg, 'third.yaml'), claim('amf-n2', 'cluster01'));
    writeFileSync(join(pkg, 'fourth.yaml'), claim('nowhere', 'cluster99'));
    const before = peer.held();
    const r4 = await render(pkg, join(tmp, 'r4'), peer.address);
    assert.is(r4.code, 1, r4.out);
    assert.equal(peer.held(), before, 'nothing new stays held');
    assert.ok(
      r4.messages.some((m) => /released default\/IPClaim\/amf-n2 again/.test(m)),
      r4.messages.join('\n'),
    );
    assert.ok(
      r4.messages.some((m) => /nowhere/.test(m) && /error/.test(m)),
      r4.messages.join('\n'),
    );
    assert.is(parse(readFileSync(join(pkg, 'third.yaml'), 'utf8')).status, undefined);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    await peer.stop();
  }
});

const vlanClaim = (name: string) => `apiVersion: vlan.resource.nephio.org/v1alpha1
kind: VLANClaim
metadata:
  name: ${name}
spec:
  vlanIndex:
    name: cluster01
`;

test('VLAN claims over resource against the third-party peer: index opened, vlanClaimName shared, re-render identical, release', async () => {
  const peer = new Peer();
  await peer.start();
  const tmp = mkdtempSync(join(tmpdir(), 'ipam-peer-vlan-'));
  try {
    const pkg = join(tmp, 'pkg');
    cpSync(join(root, 'fixtures/vlan-interface-fn'), pkg, { recursive: true, filter: (s) => !s.endsWith('/.expected') });
    writeFileSync(join(pkg, 'vlanclaim-x.yaml'), vlanClaim('upf-cluster01-extra'));
    const r1 = await render(pkg, join(tmp, 'r1'), peer.address);
    assert.is(r1.code, 0, r1.out);
    // n3 and n4 name one vlanClaimName: the claim goes renamed to it (as Nephio's vlan-fn
    // sends it), so a backend that reads only the object gives both one id
    assert.equal(
      ['vlanclaim-n3.yaml', 'vlanclaim-n4.yaml', 'vlanclaim-n6.yaml', 'vlanclaim-x.yaml'].map((f) => statusOf(pkg, f)?.vlanID),
      [2, 2, 3, 4],
    );
    assert.equal(peer.vlansHeld(), [
      'default/cluster01 2 vpc-ran-cluster01-bd',
      'default/cluster01 3 vpc-internet-cluster01-bd',
      'default/cluster01 4 upf-cluster01-extra',
    ]);
    assert.equal(peer.unknownFields, [], 'every JSON field sent is a field of the Go types');
    const first = peer.calls[0]!;
    assert.equal(
      [first.rpc, first.header.gvk.group, JSON.parse(first.spec).kind, JSON.parse(first.spec).metadata.name],
      ['CreateIndex', 'vlan.resource.nephio.org', 'VLANIndex', 'cluster01'],
    );
    const sent = JSON.parse(peer.calls.find((c) => c.rpc === 'Claim' && c.header.nsn.name === 'upf-cluster01-n4')!.spec);
    assert.is(sent.metadata.name, 'vpc-ran-cluster01-bd');
    assert.is(sent.spec.labels['nephio.org/owner-gvk'], 'VLANClaim.v1alpha1.vlan.resource.nephio.org');

    // re-render: byte-identical package, nothing new held
    const before = ['vlanclaim-n3.yaml', 'vlanclaim-n6.yaml', 'vlanclaim-x.yaml', 'Kptfile'].map((f) => readFileSync(join(pkg, f), 'utf8'));
    const r2 = await render(pkg, join(tmp, 'r2'), peer.address);
    assert.is(r2.code, 0, r2.out);
    assert.equal(
      ['vlanclaim-n3.yaml', 'vlanclaim-n6.yaml', 'vlanclaim-x.yaml', 'Kptfile'].map((f) => readFileSync(join(pkg, f), 'utf8')),
      before,
    );
    assert.is(peer.vlansHeld().length, 3);

    // release: the claim leaves the package, the peer deletes its entry
    rmSync(join(pkg, 'vlanclaim-x.yaml'));
    const r3 = await render(pkg, join(tmp, 'r3'), peer.address);
    assert.is(r3.code, 0, r3.out);
    assert.equal(peer.vlansHeld(), ['default/cluster01 2 vpc-ran-cluster01-bd', 'default/cluster01 3 vpc-internet-cluster01-bd']);
    const del = peer.calls.filter((c) => c.rpc === 'DeleteClaim').map((c) => JSON.parse(c.spec));
    assert.equal(
      del.map((d) => [d.metadata.name, d.spec.vlanIndex.name]),
      [['upf-cluster01-extra', 'cluster01']],
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    await peer.stop();
  }
});

test.run();
