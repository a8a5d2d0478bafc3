// The function end to end in process: ResourceList text -> runFunction -> text, with the
// real builtin backend (the allocator).
import { test } from '../support/uvu.js';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { runFunction, type BackendFactory } from '../../src/krm/run.js';
import { createBackend } from '../../src/backends/index.js';
import type { BackendRun } from '../../src/backends/backend.js';
import { list } from '../support/resource-list.js';

const factory: BackendFactory = (cfg) => createBackend(cfg.backend, cfg.backendOptions);

/** The shapes these tests read from the function's output (fields a resource may lack are read as asserted). */
interface Condition {
  type: string;
  status: string;
  message: string;
  reason?: string;
}
interface Resource {
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { config: string; [field: string]: unknown };
  status: { prefix: string; gateway?: string; conditions: Condition[] };
  data: Record<string, string>;
}
interface Result {
  severity: string;
  message: string;
  field?: { path: string };
  resourceRef?: { kind: string; name: string };
  file?: { path: string; index?: number };
}

const items = (text: string): Resource[] => parse(text).items;
const byName = (text: string, kind: string, name: string): Resource =>
  items(text).find((i) => i.kind === kind && i.metadata.name === name)!;
const results = (text: string): Result[] => parse(text).results ?? [];
const withoutResults = (text: string): string => text.replace(/\nresults:\n[\s\S]*$/, '\n');

const KPTFILE = `apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: pkg
`;
const SPACE = `apiVersion: ipam.resource.nephio.org/v1alpha1
kind: NetworkInstance
metadata:
  name: vpc
spec:
  prefixes:
  - prefix: 10.0.0.0/8
  - prefix: 2001:db8::/32
---
apiVersion: ipam.resource.nephio.org/v1alpha1
kind: IPPrefix
metadata:
  name: n3-v4
  labels:
    nephio.org/gateway: "true"
spec:
  kind: network
  prefix: 10.0.1.1/24
  network: n3
  networkInstance:
    name: vpc
---
apiVersion: ipam.resource.nephio.org/v1alpha1
kind: IPPrefix
metadata:
  name: n3-v6
  labels:
    nephio.org/gateway: "true"
spec:
  kind: network
  prefix: 2001:db8:0:1::1/64
  network: n3
  networkInstance:
    name: vpc
`;
const claim = (name: string, extra = '', family = 'ipv4') => `apiVersion: ipam.resource.nephio.org/v1alpha1
kind: IPClaim
metadata:
  name: ${name}
spec:
  kind: network
  networkInstance:
    name: vpc
  selector:
    matchLabels:
      nephio.org/network-name: n3
      nephio.org/address-family: ${family}
${extra}`;

test('IPClaim: lowest free address, gateway, condition, and a re-run changes nothing', async () => {
  const input = list({ Kptfile: KPTFILE, 'space.yaml': SPACE, 'a.yaml': claim('a'), 'b.yaml': claim('b') });
  const out = await runFunction(input, factory);
  assert.is(out.exitCode, 0, out.stdout);
  assert.equal(byName(out.stdout, 'IPClaim', 'a').status, { prefix: '10.0.1.2/24', gateway: '10.0.1.1' });
  assert.equal(byName(out.stdout, 'IPClaim', 'b').status, { prefix: '10.0.1.3/24', gateway: '10.0.1.1' });
  assert.equal(byName(out.stdout, 'Kptfile', 'pkg').status.conditions, [
    { type: 'ipam.resource.nephio.org/v1alpha1.IPClaim.a', status: 'True', message: 'update done' },
    { type: 'ipam.resource.nephio.org/v1alpha1.IPClaim.b', status: 'True', message: 'update done' },
  ]);
  const again = await runFunction(withoutResults(out.stdout), factory);
  assert.is(withoutResults(again.stdout), withoutResults(out.stdout));
  assert.match(results(again.stdout).at(-1)!.message, /0 updated, 2 unchanged/);
});

test('dual stack: one claim per family', async () => {
  const input = list({ Kptfile: KPTFILE, 'space.yaml': SPACE, 'v4.yaml': claim('n3-v4'), 'v6.yaml': claim('n3-v6', '', 'ipv6') });
  const out = await runFunction(input, factory);
  assert.is(out.exitCode, 0, out.stdout);
  assert.equal(byName(out.stdout, 'IPClaim', 'n3-v6').status, { prefix: '2001:db8:0:1::2/64', gateway: '2001:db8:0:1::1' });
});

test('original IPAllocation: network instance from the selector label, original condition format', async () => {
  const alloc = `apiVersion: ipam.nephio.org/v1alpha1
kind: IPAllocation
metadata:
  name: upf-n3
  namespace: ran
spec:
  kind: network
  selector:
    matchLabels:
      nephio.org/network-instance: vpc
      nephio.org/network-name: n3
`;
  const out = await runFunction(list({ Kptfile: KPTFILE, 'space.yaml': SPACE, 'alloc.yaml': alloc }), factory);
  assert.is(out.exitCode, 0, out.stdout);
  assert.equal(byName(out.stdout, 'IPAllocation', 'upf-n3').status, { prefix: '10.0.1.2/24', gateway: '10.0.1.1' });
  assert.equal(byName(out.stdout, 'Kptfile', 'pkg').status.conditions, [
    {
      type: 'ipam.nephio.org.IPAMAllocation.upf-n3.ran.Injected',
      status: 'True',
      reason: 'ResourceInjected',
      message: 'Injected IP allocation',
    },
  ]);
});

test('vanished requests are released and their conditions removed; others stay', async () => {
  const first = await runFunction(list({ Kptfile: KPTFILE, 'space.yaml': SPACE, 'a.yaml': claim('a'), 'b.yaml': claim('b') }), factory);
  const kptfile = byName(first.stdout, 'Kptfile', 'pkg');
  const a = byName(first.stdout, 'IPClaim', 'a');
  // the package without b, as the user left it
  const withoutB = list({
    Kptfile:
      KPTFILE +
      'status:\n  conditions:\n' +
      kptfile.status.conditions.map((c) => `  - type: ${c.type}\n    status: "True"\n    message: update done\n`).join(''),
    'space.yaml': SPACE,
    'a.yaml': claim('a', 'status:\n  prefix: 10.0.1.2/24\n  gateway: 10.0.1.1\n'),
  });
  let seen: BackendRun | undefined;
  const recording: BackendFactory = async (cfg) => {
    const b = await factory(cfg);
    return { run: (input) => ((seen = input), b.run(input)), close: () => b.close() };
  };
  const out = await runFunction(withoutB, recording);
  assert.is(out.exitCode, 0, out.stdout);
  assert.ok(seen!.release.includes('default/IPClaim/b'), JSON.stringify(seen!.release));
  assert.not.ok(seen!.release.includes('default/IPClaim/a'));
  assert.equal(byName(out.stdout, 'Kptfile', 'pkg').status.conditions, [
    { type: 'ipam.resource.nephio.org/v1alpha1.IPClaim.a', status: 'True', message: 'update done' },
  ]);
  assert.equal(byName(out.stdout, 'IPClaim', 'a').status, a.status);
});

test('release=all: conditions and statuses go, every held owner is released', async () => {
  const first = await runFunction(list({ Kptfile: KPTFILE, 'space.yaml': SPACE, 'a.yaml': claim('a') }), factory);
  const cfg = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  release: all\n';
  const rerun =
    withoutResults(first.stdout) +
    'functionConfig:\n' +
    cfg
      .split('\n')
      .map((l) => '  ' + l)
      .join('\n') +
    '\n';
  const out = await runFunction(rerun, factory);
  assert.is(out.exitCode, 0, out.stdout);
  assert.is(byName(out.stdout, 'IPClaim', 'a').status, undefined);
  assert.is(byName(out.stdout, 'Kptfile', 'pkg').status, undefined);
});

test('dryRun: results say what each request would get, nothing changes', async () => {
  const input = list(
    { Kptfile: KPTFILE, 'space.yaml': SPACE, 'a.yaml': claim('a') },
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  dryRun: "true"\n',
  );
  const out = await runFunction(input, factory);
  assert.is(out.exitCode, 0);
  assert.is(withoutResults(out.stdout), input);
  assert.ok(
    results(out.stdout).some((r) => r.severity === 'info' && /IPClaim a would get 10\.0\.1\.2\/24 \(gateway 10\.0\.1\.1\)/.test(r.message)),
  );
});

test('nephio.org/action: get is a read-only lookup (gateway by label)', async () => {
  const get = `apiVersion: ipam.resource.nephio.org/v1alpha1
kind: IPClaim
metadata:
  name: gw
  annotations:
    nephio.org/action: get
spec:
  kind: network
  networkInstance:
    name: vpc
  selector:
    matchLabels:
      nephio.org/gateway: "true"
      nephio.org/address-family: ipv4
`;
  const out = await runFunction(list({ Kptfile: KPTFILE, 'space.yaml': SPACE, 'gw.yaml': get, 'a.yaml': claim('a') }), factory);
  assert.is(out.exitCode, 0, out.stdout);
  assert.equal(byName(out.stdout, 'IPClaim', 'gw').status.prefix, '10.0.1.1/24');
  assert.equal(byName(out.stdout, 'IPClaim', 'a').status.prefix, '10.0.1.2/24');
  assert.ok(byName(out.stdout, 'Kptfile', 'pkg').status.conditions.some((c) => c.type === 'ipam.resource.nephio.org/v1alpha1.IPClaim.gw'));
});

test('no Kptfile: allocate and warn', async () => {
  const out = await runFunction(list({ 'space.yaml': SPACE, 'a.yaml': claim('a') }), factory);
  assert.is(out.exitCode, 0);
  assert.equal(byName(out.stdout, 'IPClaim', 'a').status.prefix, '10.0.1.2/24');
  assert.ok(results(out.stdout).some((r) => r.severity === 'warning' && /no Kptfile/.test(r.message)));
});

async function expectError(input: string, re: RegExp, field?: string, kind?: string): Promise<Result> {
  const out = await runFunction(input, factory);
  assert.is(out.exitCode, 1, out.stdout);
  assert.is(withoutResults(out.stdout), input, 'the package must come back unchanged');
  const errs = resultsSection(out.stdout).filter((r) => r.severity === 'error');
  const hit = errs.find((r) => re.test(r.message));
  assert.ok(hit, `no error matching ${re} in ${JSON.stringify(errs)}`);
  if (field) assert.is(hit.field?.path, field);
  if (kind) assert.is(hit.resourceRef?.kind, kind);
  return hit;
}

test('errors: each names the resource, field and file; the package is unchanged', async () => {
  const base = { Kptfile: KPTFILE, 'space.yaml': SPACE };
  const hit = await expectError(
    list({ ...base, 'a.yaml': claim('a').replace('name: vpc', 'name: nope') }),
    /IPClaim a: .*network instance/,
    undefined,
    'IPClaim',
  );
  assert.equal(hit.file, { path: 'a.yaml', index: 0 });
  await expectError(list({ ...base, 'a.yaml': claim('a').replace('kind: network', 'kind: bogus') }), /spec.kind "bogus"/, 'spec.kind');
  await expectError(
    list({ ...base, 'a.yaml': claim('a').replace('kind: network', 'kind: pool\n  prefixLength: 99') }),
    /prefixLength/,
    'spec.prefixLength',
  );
  await expectError(list({ ...base, 'a.yaml': claim('a', '  prefix: 10.0.1.1/24\n') }), /in use/, undefined, 'IPClaim');
  await expectError(
    list({ ...base, 'p.yaml': SPACE.split('---')[1].replace('n3-v4', 'bad').replace('10.0.1.1/24', '10.0.300.1/24') }),
    /IPPrefix bad/,
    'spec.prefix',
    'IPPrefix',
  );
  await expectError(
    list({ ...base, 'p.yaml': SPACE.split('---')[1].replace('n3-v4', 'orphan').replace('10.0.1.1/24', '192.168.0.1/24') }),
    /aggregate prefix is required/,
    undefined,
    'IPPrefix',
  );
  const tiny = SPACE.replace('10.0.1.1/24', '10.0.1.1/30');
  await expectError(
    list({ Kptfile: KPTFILE, 'space.yaml': tiny, 'a.yaml': claim('a'), 'b.yaml': claim('b') }),
    /IPClaim b: .*exhausted|IPClaim b: .*no free/i,
    undefined,
    'IPClaim',
  );
});

test('onError=condition: failed requests get False conditions in their format, the rest is written', async () => {
  const orig = `apiVersion: ipam.nephio.org/v1alpha1
kind: IPAllocation
metadata:
  name: lost
spec:
  kind: network
  selector:
    matchLabels:
      nephio.org/network-instance: nowhere
`;
  const cfg = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  onError: condition\n';
  const input = list(
    {
      Kptfile: KPTFILE,
      'space.yaml': SPACE,
      'a.yaml': claim('a'),
      'b.yaml': claim('b').replace('name: vpc', 'name: nope'),
      'lost.yaml': orig,
    },
    cfg,
  );
  const out = await runFunction(input, factory);
  assert.is(out.exitCode, 0, out.stdout);
  assert.equal(byName(out.stdout, 'IPClaim', 'a').status, { prefix: '10.0.1.2/24', gateway: '10.0.1.1' });
  assert.is(byName(out.stdout, 'IPClaim', 'b').status, undefined);
  const conds = byName(out.stdout, 'Kptfile', 'pkg').status.conditions;
  assert.equal(conds[0], { type: 'ipam.resource.nephio.org/v1alpha1.IPClaim.a', status: 'True', message: 'update done' });
  assert.is(conds[1].type, 'ipam.resource.nephio.org/v1alpha1.IPClaim.b');
  assert.is(conds[1].status, 'False');
  assert.match(conds[1].message, /network instance default\/nope/);
  assert.is(conds[2].type, 'ipam.nephio.org.IPAMAllocation.lost.default.Injected');
  assert.is(conds[2].status, 'False');
  assert.is(conds[2].reason, 'ErrorDuringInjection');
  assert.ok(results(out.stdout).filter((r) => r.severity === 'warning').length === 2);
  // fixed later: the condition turns True again
  const fixed = withoutResults(out.stdout).replace('name: nope', 'name: vpc');
  const again = await runFunction(fixed, factory);
  assert.equal(byName(again.stdout, 'Kptfile', 'pkg').status.conditions[1], {
    type: 'ipam.resource.nephio.org/v1alpha1.IPClaim.b',
    status: 'True',
    message: 'update done',
  });
});

test('function config errors', async () => {
  const input = (data: string) => list({ Kptfile: KPTFILE }, `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n${data}`);
  await expectError(input('  dryRun: maybe\n'), /dryRun must be true or false/);
  await expectError(input('  adress: x\n'), /unknown setting adress/);
  await expectError(input('  backend: carrier-pigeon\n'), /unknown backend/);
});

test('not a ResourceList: exit 1 with results, never an empty list', async () => {
  const out = await runFunction('apiVersion: v1\nkind: ConfigMap\n', factory);
  assert.is(out.exitCode, 1);
  assert.ok(results(out.stdout).length > 0);
  assert.is(parse(out.stdout).items, undefined);
});

const TYPED = (injections: string) => `apiVersion: fn.ipam-injector.dev/v1alpha1
kind: IPAMInjector
metadata:
  name: ipam
spec:
  injections:
${injections}`;

test('injections: ConfigMap value, list item by name, JSON inside a string', async () => {
  const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: upf-config\ndata:\n  mode: 0755\n';
  const nfd =
    'apiVersion: workload.nephio.org/v1alpha1\nkind: NFDeployment\nmetadata:\n  name: upf\nspec:\n  interfaces:\n  - name: n6\n    ipv4:\n      address: 1.2.3.4/24\n  - name: n3\n    ipv4:\n      address: 0.0.0.0/0\n';
  const nad = `apiVersion: k8s.cni.cncf.io/v1\nkind: NetworkAttachmentDefinition\nmetadata:\n  name: upf-n3\nspec:\n  config: '{"cniVersion":"0.3.1","plugins":[{"type":"macvlan","ipam":{"type":"static","addresses":[{"address":"172.1.2.254/24","gateway":"172.1.2.1"}]}}]}'\n`;
  const cfg = TYPED(`  - source: {name: a, value: address}
    targets:
    - select: {kind: ConfigMap, name: upf-config}
      fieldPaths: [data.n3-address]
      options: {create: true}
  - source: {name: a, value: prefix}
    targets:
    - select: {kind: NFDeployment}
      fieldPaths: ["spec.interfaces.[name=n3].ipv4.address"]
    - select: {kind: NetworkAttachmentDefinition, name: upf-n3}
      fieldPaths: [spec.config.(json).plugins.0.ipam.addresses.0.address]
  - source: {name: a, value: gateway}
    targets:
    - select: {kind: NetworkAttachmentDefinition}
      fieldPaths: [spec.config.(json).plugins.0.ipam.addresses.0.gateway]
  - source: {name: a, value: prefixLength}
    targets:
    - select: {kind: ConfigMap}
      fieldPaths: [data.n3-length]
      options: {create: true}
`);
  const out = await runFunction(
    list({ Kptfile: KPTFILE, 'space.yaml': SPACE, 'a.yaml': claim('a'), 'cm.yaml': cm, 'nfd.yaml': nfd, 'nad.yaml': nad }, cfg),
    factory,
  );
  assert.is(out.exitCode, 0, out.stdout);
  const { mode: _mode, ...data } = byName(out.stdout, 'ConfigMap', 'upf-config').data;
  assert.equal(data, { 'n3-address': '10.0.1.2', 'n3-length': '24' });
  assert.match(out.stdout, /mode: 0755/);
  assert.equal(byName(out.stdout, 'NFDeployment', 'upf').spec.interfaces, [
    { name: 'n6', ipv4: { address: '1.2.3.4/24' } },
    { name: 'n3', ipv4: { address: '10.0.1.2/24' } },
  ]);
  const conf = JSON.parse(byName(out.stdout, 'NetworkAttachmentDefinition', 'upf-n3').spec.config);
  assert.equal(conf.plugins[0].ipam.addresses[0], { address: '10.0.1.2/24', gateway: '10.0.1.1' });
  assert.is(conf.cniVersion, '0.3.1');
});

test('injection errors name the target and the path', async () => {
  const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: upf-config\ndata:\n  x: y\n';
  const cfg = TYPED(`  - source: {name: a}
    targets:
    - select: {kind: ConfigMap, name: upf-config}
      fieldPaths: [data.n3.address]
`);
  await expectError(
    list({ Kptfile: KPTFILE, 'space.yaml': SPACE, 'a.yaml': claim('a'), 'cm.yaml': cm }, cfg),
    /injection target ConfigMap upf-config: field path data\.n3\.address does not resolve/,
    'data.n3.address',
    'ConfigMap',
  );
  const missing = TYPED(`  - source: {name: nobody}
    targets:
    - select: {kind: ConfigMap}
      fieldPaths: [data.x]
`);
  await expectError(
    list({ Kptfile: KPTFILE, 'space.yaml': SPACE, 'a.yaml': claim('a'), 'cm.yaml': cm }, missing),
    /no IPAllocation, IPClaim, VLANClaim or VLANAllocation named nobody/,
  );
});

test('resources the function does not own come out byte for byte, in order, duplicates included', async () => {
  const cm =
    '# keep me\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: same # trailing\ndata:\n  mode: 0755\n  date: 2021-01-01\n  t: "true"\n  b: \'bar\'\n';
  const input = list({ Kptfile: KPTFILE, 'space.yaml': SPACE, 'cm.yaml': cm, 'a.yaml': claim('a'), 'sub/cm.yaml': cm });
  const out = await runFunction(input, factory);
  assert.is(out.exitCode, 0, out.stdout);
  const inItems = input.split('\n- ');
  const outItems = withoutResults(out.stdout).split('\n- ');
  assert.is(outItems.length, inItems.length);
  for (let i = 0; i < inItems.length; i++) {
    if (/kind: (Kptfile|IPClaim)/.test(inItems[i])) continue;
    assert.is(outItems[i], inItems[i]);
  }
});

/** The results section alone (the echoed input around it may not be valid YAML). */
const resultsSection = (text: string): Result[] => parse(text.slice(text.indexOf('\nresults:\n') + 1)).results;

test('malformed YAML in a resource the function does not own: syntax error result naming item, file and line; exit 1; input echoed', async () => {
  const broken = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\ndata:\n  a: [1, 2\n';
  const input = list({ Kptfile: KPTFILE, 'space.yaml': SPACE, 'a.yaml': claim('a'), 'cm.yaml': broken });
  const out = await runFunction(input, factory);
  assert.is(out.exitCode, 1, out.stdout);
  assert.ok(out.stdout.startsWith(withoutResults(input)), 'the input list comes back unchanged, not partial');
  assert.not.match(withoutResults(out.stdout), /status:/, 'no allocation was written');
  const errs = resultsSection(out.stdout).filter((r) => r.severity === 'error');
  assert.is(errs.length, 1);
  const e = errs[0];
  const index = input.slice(0, input.indexOf('- apiVersion: v1\n  kind: ConfigMap')).split('\n- ').length - 1;
  const line = input.split('\n').findIndex((l) => l.includes('a: [1, 2')) + 1;
  assert.match(e.message, `item ${index} of the ResourceList (ConfigMap broken in cm.yaml) is not valid YAML at line ${line}, column `);
  assert.equal(e.file, { path: 'cm.yaml', index: 0 });
  assert.equal(e.resourceRef, { apiVersion: 'v1', kind: 'ConfigMap', name: 'broken' });
});

test('malformed YAML: every item is checked, whatever its kind or layout (flow maps, tabs, duplicate keys, owned kinds)', async () => {
  const cases: [string, RegExp][] = [
    [
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, annotations: {config.kubernetes.io/path: bad.yaml}\n',
      /\(ConfigMap x in bad\.yaml\) is not valid YAML at line \d+, column \d+ of the input: Flow map/,
    ],
    [
      'apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  k: 1\n  k: 2\n',
      /\(Secret s in bad\.yaml\) is not valid YAML.*: Map keys must be unique/,
    ],
    [
      'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  replicas: 1\n selector: {}\n',
      /\(Deployment d in bad\.yaml\) is not valid YAML/,
    ],
    ['apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: t\ndata:\n\tk: v\n', /\(ConfigMap t in bad\.yaml\) is not valid YAML/],
    [claim('c').replace('name: vpc', 'name: "vpc'), /\(IPClaim c in bad\.yaml\) is not valid YAML/],
  ];
  for (const [doc, want] of cases) {
    const input = list({ Kptfile: KPTFILE, 'space.yaml': SPACE, 'a.yaml': claim('a'), 'bad.yaml': doc });
    const out = await runFunction(input, factory);
    assert.is(out.exitCode, 1, doc);
    assert.ok(out.stdout.startsWith(withoutResults(input)), 'input echoed');
    const errs = resultsSection(out.stdout).filter((r) => r.severity === 'error');
    assert.is(errs.length, 1, JSON.stringify(errs));
    assert.match(errs[0].message, want);
    assert.is(errs[0].file?.path, 'bad.yaml');
  }
});

test('valid YAML the fast reader does not take still passes through byte for byte (read by the yaml library)', async () => {
  const odd =
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: odd\n  labels: &l {a: b}\ndata:\n  folded: >\n    some\n    text\n  copy: *l\n';
  const input = list({ Kptfile: KPTFILE, 'space.yaml': SPACE, 'odd.yaml': odd, 'a.yaml': claim('a') });
  const out = await runFunction(input, factory);
  assert.is(out.exitCode, 0, out.stdout);
  const oddItem = (t: string) => t.split('\n- ').find((x) => x.includes('name: odd'));
  assert.is(oddItem(withoutResults(out.stdout)), oddItem(input));
});

// A shared server scopes owners by package; the Kptfile's name is the default identity, an
// explicit setting (config, then IPAM_INJECTOR_PACKAGE) wins. The factory records what the
// grpc backend would be given and answers with the builtin allocator.
test('backend grpc: the package identity defaults to the Kptfile name; package= and the environment win', async () => {
  const seen: unknown[] = [];
  const recording: BackendFactory = (cfg) => {
    seen.push(cfg.backendOptions.package);
    return createBackend('builtin', {});
  };
  const pkg = { Kptfile: KPTFILE, 'space.yaml': SPACE, 'claim.yaml': claim('c1') };
  const cm = (data: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  backend: grpc\n${data}`;
  const saved = process.env.IPAM_INJECTOR_PACKAGE;
  delete process.env.IPAM_INJECTOR_PACKAGE;
  try {
    await runFunction(list(pkg, cm('')), recording);
    await runFunction(list(pkg, cm('  package: team-a/upf\n')), recording);
    process.env.IPAM_INJECTOR_PACKAGE = 'from-env';
    await runFunction(list(pkg, cm('')), recording);
  } finally {
    if (saved === undefined) delete process.env.IPAM_INJECTOR_PACKAGE;
    else process.env.IPAM_INJECTOR_PACKAGE = saved;
  }
  assert.equal(seen, ['pkg', 'team-a/upf', undefined]);
});

test('dryRun: the backend is told (a shared server evaluates on a copy) and asked to release nothing', async () => {
  const runs: BackendRun[] = [];
  const recording: BackendFactory = async () => {
    const inner = await createBackend('builtin', {});
    return { run: (input) => (runs.push(input), inner.run(input)), close: () => inner.close() };
  };
  const pkg = { Kptfile: KPTFILE, 'space.yaml': SPACE, 'claim.yaml': claim('c1') + 'status:\n  prefix: 10.0.1.2/24\n' };
  const out = await runFunction(list(pkg, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  dryRun: "true"\n'), recording);
  assert.is(runs.length, 1);
  assert.is(runs[0]!.dryRun, true);
  assert.equal(runs[0]!.release, []);
  assert.ok(!runs[0]!.lookups?.some(Boolean), 'requests are not turned into lookups');
  assert.is(out.exitCode, 0);
  assert.ok(
    out.results.some((r) => /10\.0\.1\.2/.test(r.message)),
    'the dry run reports what the claim gets',
  );
});

test.run();
