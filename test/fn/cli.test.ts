// bin/ipam-injector as a process: the function on stdin/stdout, exit codes, the subcommand
// dispatch, what the function path loads, and `npm start` on the example package.
import { test } from '../support/uvu.js';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin/ipam-injector');
const run = (args: string[], input = '') => spawnSync(process.execPath, [bin, ...args], { input, encoding: 'utf8' });

const LIST = `apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- apiVersion: ipam.resource.nephio.org/v1alpha1
  kind: NetworkInstance
  metadata:
    name: vpc
  spec:
    prefixes:
    - prefix: 10.0.0.0/8
- apiVersion: ipam.resource.nephio.org/v1alpha1
  kind: IPPrefix
  metadata:
    name: lan
  spec:
    kind: network
    prefix: 10.0.1.0/24
    networkInstance: {name: vpc}
- apiVersion: ipam.resource.nephio.org/v1alpha1
  kind: IPClaim
  metadata:
    name: a
  spec:
    kind: network
    networkInstance:
      name: vpc
`;

test('no arguments and `fn`: the KRM function on stdin/stdout', () => {
  for (const args of [[], ['fn']]) {
    const r = run(args, LIST);
    assert.is(r.status, 0, r.stderr);
    const out = parse(r.stdout);
    assert.is(out.items.length, 3);
    assert.equal(out.items[2].status, { prefix: '10.0.1.1/24' });
    assert.ok(
      out.results.some((x: { severity: string }) => x.severity === 'warning'),
      'no Kptfile: a warning',
    );
  }
});

test('errors exit 1 with results on stdout and the package echoed; never empty output', () => {
  const bad = LIST.replace('10.0.1.0/24', '10.0.1.0/99');
  const r = run([], bad);
  assert.is(r.status, 1);
  assert.ok(r.stdout.startsWith(bad), 'the items come back unchanged');
  assert.match(r.stderr, /IPPrefix lan/);
  for (const input of ['', 'not: [valid', '- a\n- b\n']) {
    const e = run([], input);
    assert.is(e.status, 1, input);
    assert.ok(parse(e.stdout).results.length > 0, input);
  }
});

test('malformed YAML in a resource the function does not own: exit 1, the input echoed, a syntax error result', () => {
  const input =
    'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: x\n';
  const r = run([], input);
  assert.is(r.status, 1, r.stdout);
  assert.ok(r.stdout.startsWith(input), 'the input list comes back unchanged');
  const results = parse(r.stdout.slice(input.length)).results;
  assert.is(results.length, 1);
  assert.is(results[0].severity, 'error');
  assert.match(results[0].message, /^item 0 of the ResourceList \(ConfigMap x\) is not valid YAML at line 6, column \d+ of the input: /);
  assert.match(r.stderr, /item 0 of the ResourceList/);
  // the same item inside a package that otherwise allocates: nothing is written
  const mixed = LIST + '- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: x\n';
  const m = run([], mixed);
  assert.is(m.status, 1);
  assert.ok(m.stdout.startsWith(mixed));
  assert.not.match(m.stdout, /status:/);
});

test('--help, --version, unknown commands', () => {
  const h = run(['--help']);
  assert.is(h.status, 0);
  assert.match(h.stdout, /ipam-injector serve/);
  assert.is(run(['--version']).status, 0);
  const u = run(['frobnicate']);
  assert.is(u.status, 2);
  assert.match(u.stderr, /unknown command "frobnicate"/);
});

test('subcommands are dispatched to their modules', () => {
  for (const cmd of ['get']) {
    const r = run([cmd, '--help']);
    assert.not.match(`${r.stdout}${r.stderr}`, /not available in this build|unknown command/, cmd);
    assert.match(`${r.stdout}${r.stderr}`, new RegExp(cmd), cmd);
  }
});

/** Files the bundle's entry loads before running anything (static imports, transitively). */
function staticGraph(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const text = readFileSync(join(root, 'dist', file), 'utf8');
  for (const m of text.matchAll(/^import\s+(?:[^'"]*?from\s+)?["']\.\/([^"']+)["'];?$/gm)) staticGraph(m[1], seen);
  return seen;
}

test('the function path loads neither gRPC nor the yaml library up front', () => {
  const files = staticGraph('ipam-injector.mjs');
  const code = [...files].map((f) => readFileSync(join(root, 'dist', f), 'utf8')).join('\n');
  assert.not.match(code, /node_modules\/@grpc\/grpc-js/);
  assert.not.match(code, /node_modules\/yaml\/dist/);
  assert.match(code, /src\/krm\/run\.ts/);
});

test('the repository root is not a kpt package: the example lives in examples/upf, not beside fixtures/ and deploy/', () => {
  // A Kptfile at the root made every fixture and deploy/ a subpackage of it, and render failed.
  assert.not.ok(existsSync(join(root, 'Kptfile')), 'a Kptfile at the repository root');
  assert.ok(existsSync(join(root, 'examples/upf/Kptfile')));
});

test('npm start renders the example package and prints the addresses', () => {
  const r = spawnSync(process.execPath, [join(root, 'scripts/start.mjs')], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /IPClaim upf-n3-ipv4\s+10\.0\.1\.2\/24\s+gateway 10\.0\.1\.1/);
  assert.match(r.stdout, /IPClaim upf-n3-ipv6\s+2001:db8:0:1::2\/64\s+gateway 2001:db8:0:1::1/);
  assert.match(r.stdout, /IPClaim upf-n4-ipv4\s+10\.0\.4\.2\/24\s+gateway 10\.0\.4\.1/);
  assert.match(r.stdout, /IPClaim upf-ue-pool\s+10\.100\.0\.0\/24/);
  assert.match(r.stdout, /ConfigMap upf-config data\.n3-address = 10\.0\.1\.2/);
  assert.match(r.stdout, /NFDeployment upf n4: 10\.0\.4\.2\/24 via 10\.0\.4\.1/);
});

test.run();
