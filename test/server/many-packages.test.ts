// 50 packages rendered concurrently (`kpt fn render`, exec pipeline, backend=grpc) against one
// server process, all drawing from one subnet: every address distinct, each package's
// re-render identical, and the server holds exactly what the packages record. (Per-call
// deadline 60 s: 50 kpt + function processes at once on a small shared machine are slow.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { cleanup, heldAllocations, root, spawnServer, tmp } from './helpers.js';

const PACKAGES = 50;
const SEED = `apiVersion: ipam.resource.nephio.org/v1alpha1
kind: NetworkInstance
metadata: {name: vpc-ran}
spec:
  prefixes:
  - prefix: 172.16.0.0/16
---
apiVersion: ipam.resource.nephio.org/v1alpha1
kind: IPPrefix
metadata: {name: n3-subnet, labels: {nephio.org/network-name: n3}}
spec: {kind: network, prefix: 172.16.3.1/24, networkInstance: vpc-ran, labels: {nephio.org/gateway: "true"}}
`;

function writePackage(dir: string, i: number, address: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'Kptfile'),
    `apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: upf-${i}
  annotations:
    config.kubernetes.io/local-config: "true"
pipeline:
  mutators:
  - exec: ${join(root, 'bin/ipam-injector')}
    configMap:
      backend: grpc
      address: ${address}
      package: edge/upf-${i}
      timeout: 60s
`,
  );
  for (const itf of ['n3', 'n6']) {
    writeFileSync(
      join(dir, `ipclaim-${itf}.yaml`),
      `apiVersion: ipam.resource.nephio.org/v1alpha1
kind: IPClaim
metadata:
  name: upf-${i}-${itf}
spec:
  kind: network
  networkInstance:
    name: vpc-ran
  selector:
    matchLabels:
      nephio.org/network-name: n3
`,
    );
  }
}

function render(pkg: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('kpt', ['fn', 'render', pkg, '--allow-exec']);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, out }));
  });
}

const read = (pkg: string) => ['n3', 'n6'].map((itf) => readFileSync(join(pkg, `ipclaim-${itf}.yaml`), 'utf8'));

test('50 packages rendered at once from one subnet: distinct addresses, identical re-render', async () => {
  const dir = tmp('ipam-many-');
  const seed = join(dir, 'seed.yaml');
  writeFileSync(seed, SEED);
  const server = await spawnServer(['--data', join(dir, 'data'), '--seed', seed]);
  try {
    const pkgs = Array.from({ length: PACKAGES }, (_, i) => join(dir, `upf-${i}`));
    pkgs.forEach((p, i) => writePackage(p, i, server.address));
    const first = await Promise.all(pkgs.map(render));
    first.forEach((r, i) => assert.is(r.code, 0, `package ${i}: ${r.out}`));

    const answers = new Map<string, string>();
    for (const [i, p] of pkgs.entries()) {
      for (const itf of ['n3', 'n6']) {
        const doc = parse(readFileSync(join(p, `ipclaim-${itf}.yaml`), 'utf8'));
        assert.is(doc.status?.gateway, '172.16.3.1', `upf-${i}-${itf}`);
        answers.set(`edge/upf-${i}|default/IPClaim/upf-${i}-${itf}`, doc.status.prefix);
      }
    }
    const addrs = [...answers.values()];
    assert.is(new Set(addrs).size, PACKAGES * 2, 'all addresses distinct');
    for (const a of addrs) assert.match(a, /^172\.16\.3\.(\d+)\/24$/);
    assert.not.ok(addrs.includes('172.16.3.1/24'), 'never the gateway');

    // the server holds exactly what the packages record
    assert.equal(await heldAllocations(server.address, 'edge/'), answers);

    // render everything again, concurrently: nothing changes
    const before = pkgs.map(read);
    const second = await Promise.all(pkgs.map(render));
    second.forEach((r, i) => assert.is(r.code, 0, `package ${i}: ${r.out}`));
    assert.equal(pkgs.map(read), before);
  } finally {
    server.proc.kill('SIGTERM');
    assert.is(await server.exited, 0);
    cleanup();
  }
});

test.run();
