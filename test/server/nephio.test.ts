// Nephio packages through one `ipam-injector serve`, each rendered by the function under the
// real kpt with backend=grpc, as Porch would with one function config for every package:
// - the AMF package (cluster regional) claims its N2 address;
// - the UERANSIM package (cluster example) looks that address up by the AMF claim's name
//   (nephio.org/action: get, nephio.org/nsn-name) and gets the same address;
// - its own claims, and a UPF package's on the same cluster, land in cluster example's
//   subnets: one subnet per cluster and network, shared by the packages of that cluster, not
//   the AMF cluster's;
// - every package carries the same Networks, and none conflicts; a package whose Network
//   differs is refused, naming it, and nothing is written;
// - each package uses a token scoped to its own package (a file, as in a Porch pod), the
//   operator's seed defines the Networks and clusters: the lookup in the shared network
//   instance is allowed, releasing another package's claim is not.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, status } from '@grpc/grpc-js';
import { parse } from 'yaml';
import { codeOf, raw, root, spawnServer, type Spawned } from './helpers.js';

const bin = join(root, 'bin/ipam-injector');
if (spawnSync('kpt', ['version']).status !== 0) throw new Error('kpt is not on PATH: these tests run the function under the real kpt');
if (!existsSync(join(root, 'dist/ipam-injector.mjs'))) throw new Error('dist/ is not built: run npm run build (npm test does)');

const TOKENS = { 'pkg-amf': 'regional/pkg-amf', ueransim: 'example/ueransim', 'pkg-upf': 'example/pkg-upf' } as const;

let tmp: string;
let server: Spawned;

interface Reported {
  severity: string;
  message: string;
}

async function render(
  pkgName: keyof typeof TOKENS,
  fixture: string,
  dir = join(tmp, fixture),
): Promise<{ status: number | null; out: string; results: Reported[]; dir: string }> {
  if (!existsSync(dir)) cpSync(join(root, 'fixtures', fixture), dir, { recursive: true, filter: (src) => !src.endsWith('/.expected') });
  const results = mkdtempSync(join(tmp, 'results-'));
  const args = [
    'fn',
    'eval',
    dir,
    '--exec',
    bin,
    '--results-dir',
    results,
    '--',
    'onError=condition',
    'backend=grpc',
    `address=${server.address}`,
    `tokenFile=${join(tmp, `${pkgName}.token`)}`,
  ];
  const child = spawn('kpt', args, { env: { ...process.env, IPAM_INJECTOR_PACKAGE: '' } });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  const f = join(results, 'results.yaml');
  const list = existsSync(f) ? (parse(readFileSync(f, 'utf8')) as { items?: { results?: Reported[] }[] }) : {};
  return { status: code, out, results: (list.items ?? []).flatMap((i) => i.results ?? []), dir };
}

const claimStatus = (dir: string, file: string): { prefix?: string; gateway?: string } =>
  (parse(readFileSync(join(dir, file), 'utf8')) as { status?: { prefix?: string; gateway?: string } }).status ?? {};

test.before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'ipam-nephio-'));
  const lines = Object.entries(TOKENS).map(([name, scope]) => `tok-${name} ${scope}`);
  writeFileSync(join(tmp, 'tokens'), `${lines.join('\n')}\ntok-admin\n`);
  for (const name of Object.keys(TOKENS)) writeFileSync(join(tmp, `${name}.token`), `tok-${name}\n`);
  mkdirSync(join(tmp, 'data'));
  // With package-scoped tokens the space of a shared network instance is the operator's: the
  // seed defines the Networks for the clusters; the packages carry the same Networks.
  const nets = ['network_vpc-ran.yaml', 'network_vpc-internal.yaml', 'network_vpc-internet.yaml'].map((f) =>
    readFileSync(join(root, 'fixtures/nephio-free5gc-upf', f), 'utf8'),
  );
  const clusters = ['regional', 'example'].map(
    (c) => `apiVersion: infra.nephio.org/v1alpha1\nkind: WorkloadCluster\nmetadata:\n  name: ${c}\nspec:\n  clusterName: ${c}\n`,
  );
  writeFileSync(join(tmp, 'seed.yaml'), [...nets, ...clusters].join('\n---\n'));
  server = await spawnServer(['--data', join(tmp, 'data'), '--token-file', join(tmp, 'tokens'), '--seed', join(tmp, 'seed.yaml')]);
});

test.after(async () => {
  server?.proc.kill('SIGTERM');
  await server?.exited;
  rmSync(tmp, { recursive: true, force: true });
});

test('AMF claims its N2 address; UERANSIM looks it up; a second cluster gets its own subnets; one Network, no conflicts', async () => {
  const amf = await render('pkg-amf', 'nephio-free5gc-amf');
  assert.is(amf.status, 0, amf.out);
  const n2 = claimStatus(amf.dir, 'ipclaim-amf-regional-n2-ipv4.yaml');
  assert.equal(n2, { prefix: '172.2.0.2/24', gateway: '172.2.0.1' }, 'cluster regional: first n2 subnet');

  // The lookup finds the AMF's claim by the owner labels stored with its allocation
  // (nephio.org/nsn-name = the claim's name).
  const ran = await render('ueransim', 'nephio-ueransim');
  assert.is(ran.status, 0, ran.out);
  const kpt = parse(readFileSync(join(ran.dir, 'Kptfile'), 'utf8')) as { status: { conditions: { type: string; status: string }[] } };
  const lookupCondition = kpt.status.conditions.find((c) => c.type.endsWith('IPClaim.amf-regional-n2-ipv4'))?.status;
  assert.not.ok(
    ran.results.some((r) => r.severity !== 'info'),
    JSON.stringify(ran.results),
  );
  assert.equal(claimStatus(ran.dir, 'ipclaim_amf-regional-n2-ipv4.yaml'), n2, "the gNB's lookup answers the AMF's own address");
  assert.is(lookupCondition, 'True');
  const gnbN2 = claimStatus(ran.dir, 'ipclaim-ueransimgnb-example-n2-ipv4.yaml');
  assert.equal(gnbN2, { prefix: '172.2.1.2/24', gateway: '172.2.1.1' }, 'cluster example: its own n2 subnet');
  const gnbN3 = claimStatus(ran.dir, 'ipclaim-ueransimgnb-example-n3-ipv4.yaml');
  // cluster regional took the first n3 subnet too (every prefix of the Network, per cluster)
  assert.equal(gnbN3, { prefix: '172.3.1.2/24', gateway: '172.3.1.1' });

  const upf = await render('pkg-upf', 'nephio-free5gc-upf');
  assert.is(upf.status, 0, upf.out);
  assert.equal(
    claimStatus(upf.dir, 'ipclaim-upf-example-n3-ipv4.yaml'),
    { prefix: '172.3.1.3/24', gateway: '172.3.1.1' },
    "the UPF shares cluster example's n3 subnet with the gNB",
  );

  // the same Network from three packages is one network instance, owned by no package
  const admin = raw('admin', server.address, undefined, bearer('tok-admin'));
  const nis = await admin.call<{ networkInstances: { name: string; owner: string }[] }>('ListNetworkInstances', {});
  assert.equal(
    nis.networkInstances.filter((n) => n.name === 'vpc-ran').map((n) => n.owner),
    ['infra.nephio.org|default/Network/vpc-ran'],
  );
  admin.close();

  // a re-render of each changes nothing
  for (const [name, fixture, dir] of [
    ['pkg-amf', 'nephio-free5gc-amf', amf.dir],
    ['ueransim', 'nephio-ueransim', ran.dir],
    ['pkg-upf', 'nephio-free5gc-upf', upf.dir],
  ] as const) {
    const before = readFileSync(join(dir, 'Kptfile'), 'utf8');
    const again = await render(name, fixture, dir);
    assert.is(again.status, 0, again.out);
    assert.is(readFileSync(join(dir, 'Kptfile'), 'utf8'), before, `${fixture}: a re-render changes nothing`);
  }
});

test('a package whose Network differs from the one the server holds is refused, naming the Network; nothing written', async () => {
  const dir = join(tmp, 'upf-differs');
  cpSync(join(root, 'fixtures/nephio-free5gc-upf'), dir, { recursive: true, filter: (src) => !src.endsWith('/.expected') });
  const f = join(dir, 'network_vpc-ran.yaml');
  writeFileSync(f, readFileSync(f, 'utf8').replace('172.3.0.0/16', '172.30.0.0/16'));
  const before = readFileSync(join(dir, 'ipclaim-upf-example-n3-ipv4.yaml'), 'utf8');
  const r = await render('pkg-upf', 'nephio-free5gc-upf', dir);
  assert.is(r.status, 1, r.out);
  const err = r.results.find((x) => x.severity === 'error');
  assert.match(err?.message ?? '', /^Network vpc-ran: network instance default\/vpc-ran is defined differently already/);
  assert.is(readFileSync(join(dir, 'ipclaim-upf-example-n3-ipv4.yaml'), 'utf8'), before);
});

test("scoped tokens: a lookup across packages is allowed, releasing another package's claim is not", async () => {
  const admin = raw('admin', server.address, undefined, bearer('tok-ueransim'));
  const denied = await codeOf(admin.call('Release', { owner: 'regional/pkg-amf|default/IPClaim/amf-regional-n2-ipv4' }));
  assert.is(denied.code, status.PERMISSION_DENIED, denied.details);
  admin.close();
  const owner = raw('admin', server.address, undefined, bearer('tok-admin'));
  const held = await owner.call<{ allocations: { prefix: string }[] }>('ListAllocations', {
    owner: 'regional/pkg-amf|default/IPClaim/amf-regional-n2-ipv4',
  });
  assert.equal(
    held.allocations.map((a) => a.prefix),
    ['172.2.0.2/24'],
    "the AMF's address is still held",
  );
  owner.close();
});

function bearer(token: string): Metadata {
  const md = new Metadata();
  md.set('authorization', `Bearer ${token}`);
  return md;
}

test.run();
