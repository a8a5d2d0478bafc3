// Hostile input to the function (issue 12): every run answers, in bounded time, with the input
// items unchanged and an error result naming the item, file and line; stdout is never empty.
import { test } from '../support/uvu.js';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { runFunction, type BackendFactory } from '../../src/krm/run.js';
import { createBackend } from '../../src/backends/index.js';
import { list, KPTFILE, SPACE, claim, withoutResults } from '../support/resource-list.js';

const factory: BackendFactory = (cfg) => createBackend(cfg.backend, cfg.backendOptions);
// Only the results section is parsed: the items are hostile to any YAML reader.
interface ResultShape {
  message: string;
  severity: string;
  resourceRef?: { kind?: string };
  file?: { path: string; index?: number };
  field?: { path: string };
}
const results = (text: string): ResultShape[] =>
  (parse(text.slice(withoutResults(text).length)) as { results?: ResultShape[] } | null)?.results ?? [];
/** spec.config of the NetworkAttachmentDefinition in a function output. */
const nadConfig = (text: string): string =>
  (parse(withoutResults(text)) as { items: { kind: string; spec: { config: string } }[] }).items.find(
    (i) => i.kind === 'NetworkAttachmentDefinition',
  )!.spec.config;

/** Runs and asserts: exit 1, the input echoed, one error result matching `re`; returns that result. */
async function refused(input: string, re: RegExp, ms = 5000, backends = factory): Promise<ResultShape> {
  const started = Date.now();
  const out = await runFunction(input, backends);
  assert.ok(Date.now() - started < ms, `answered in ${Date.now() - started} ms`);
  assert.is(out.exitCode, 1, out.stdout.slice(-2000));
  assert.is(withoutResults(out.stdout), input, 'the input comes back unchanged');
  const errs = results(out.stdout).filter((r) => r.severity === 'error');
  assert.ok(
    errs.some((r) => re.test(r.message)),
    JSON.stringify(errs),
  );
  return errs.find((r) => re.test(r.message))!;
}

const configMap = (data: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata:\n  x: ${data}\n`;

test('5,000 levels of flow nesting in a resource the function does not own: refused with a result, not a crash', async () => {
  const input = list({ Kptfile: KPTFILE, 'cm.yaml': configMap('['.repeat(5000) + ']'.repeat(5000)) });
  const r = await refused(
    input,
    /ConfigMap deep in cm\.yaml\) is refused at line \d+, column \d+ of the input: collections nested more than 1000 levels deep/,
  );
  assert.equal(r.file, { path: 'cm.yaml', index: 0 });
});

test('5,000 levels of block nesting (maps and compact lists): refused with a result', async () => {
  let body = '';
  for (let i = 0; i < 5000; i++) body += '\n' + '  '.repeat(i + 2) + `k${i}:`;
  await refused(
    list({ Kptfile: KPTFILE, 'cm.yaml': configMap(body.slice(1).trimStart() + ' v') }).replace('  x: k0:', '  x:\n    k0:'),
    /nested more than 1000 levels/,
  );
  await refused(list({ Kptfile: KPTFILE, 'cm.yaml': configMap('\n' + '    ' + '- '.repeat(5000) + 'a') }), /nested more than 1000 levels/);
});

test('deep nesting the fast reader does not take (anchors force the yaml library) is refused too', async () => {
  await refused(list({ 'cm.yaml': configMap('&a ' + '{k: '.repeat(3000) + 'v' + '}'.repeat(3000)) }), /nested more than 1000 levels/);
});

test('nesting up to the limit is read (a deep but legal resource passes through unchanged)', async () => {
  const input = list({ Kptfile: KPTFILE, 'cm.yaml': configMap('['.repeat(900) + ']'.repeat(900)) });
  const out = await runFunction(input, factory);
  assert.is(out.exitCode, 0, out.stdout.slice(-500));
  assert.is(withoutResults(out.stdout), input);
});

test('alias expansion is capped: a 2 KB claim whose aliases double eight times answers at once with a result', async () => {
  let anchors = '  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n';
  for (let i = 1; i <= 8; i++)
    anchors += `  a${i}: &a${i} [${Array(9)
      .fill(`*a${i - 1}`)
      .join(', ')}]\n`;
  const bomb = claim('bomb', `  labels:\n    x: y\nextra:\n${anchors}`);
  const input = list({ Kptfile: KPTFILE, 'space.yaml': SPACE, 'bomb.yaml': bomb });
  assert.ok(input.length < 3000);
  const r = await refused(
    input,
    /IPClaim bomb in bomb\.yaml\) is refused at line \d+, column \d+ of the input: more than 1000 alias references/,
    3000,
  );
  assert.is(r.resourceRef?.kind, 'IPClaim');
  // a resource the function does not own is checked, never expanded: it passes through unchanged, at once
  const cm = list({ 'cm.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n${anchors}` });
  const started = Date.now();
  const out = await runFunction(cm, factory);
  assert.ok(Date.now() - started < 3000);
  assert.is(out.exitCode, 0);
  assert.is(withoutResults(out.stdout), cm);
});

test('a few aliases are fine (resolved as YAML says)', async () => {
  const input = list({
    Kptfile: KPTFILE,
    'space.yaml': SPACE,
    'a.yaml': claim('a', '  selector:\n    matchLabels: &l {nephio.org/network-name: lan}\n  labels: *l\n'),
  });
  const out = await runFunction(input, factory);
  assert.is(out.exitCode, 0, out.stdout);
});

test('an unexpected failure inside the function still prints the input items and an error result', async () => {
  const input = list({ Kptfile: KPTFILE, 'space.yaml': SPACE, 'a.yaml': claim('a') });
  const broken: BackendFactory = async () => ({
    run: async () => [],
    close: () => {
      throw new RangeError('Maximum call stack size exceeded');
    },
  });
  await refused(input, /internal error: Maximum call stack size exceeded/, 5000, broken);
});

test('a request whose apiVersion or kind is a typo in one of our groups is an error naming it, not skipped and released', async () => {
  const input = list({ Kptfile: KPTFILE, 'space.yaml': SPACE, 'a.yaml': claim('a') });
  const first = await runFunction(input, factory);
  assert.is(first.exitCode, 0);
  // the package now holds a's address; a typo must not make it look deleted
  const held = withoutResults(first.stdout);
  for (const [from, to, re] of [
    [
      "ipam.resource.nephio.org/v1alpha1\n  kind: IPClaim\n  metadata:\n    annotations:\n      config.kubernetes.io/index: '0'\n      config.kubernetes.io/path: 'a.yaml'",
      "ipam.resource.nephio.org/v1beta1\n  kind: IPClaim\n  metadata:\n    annotations:\n      config.kubernetes.io/index: '0'\n      config.kubernetes.io/path: 'a.yaml'",
      /IPClaim a: apiVersion ipam\.resource\.nephio\.org\/v1beta1 is not one the function reads \(ipam\.resource\.nephio\.org has ipam\.resource\.nephio\.org\/v1alpha1\)/,
    ],
    [
      "kind: IPClaim\n  metadata:\n    annotations:\n      config.kubernetes.io/index: '0'\n      config.kubernetes.io/path: 'a.yaml'",
      "kind: IpClaim\n  metadata:\n    annotations:\n      config.kubernetes.io/index: '0'\n      config.kubernetes.io/path: 'a.yaml'",
      /IpClaim a: kind "IpClaim" is not a ipam\.resource\.nephio\.org\/v1alpha1 kind \(IPClaim, NetworkInstance, IPPrefix\) \(did you mean IPClaim\?\)/,
    ],
  ] as const) {
    assert.ok(held.includes(from));
    const r = await refused(held.replace(from, to), re);
    assert.equal(r.file, { path: 'a.yaml', index: 0 });
  }
  // VLAN requests are read too: one without its index is an error naming the field
  const vlan = list({
    Kptfile: KPTFILE,
    'v.yaml': 'apiVersion: vlan.resource.nephio.org/v1alpha1\nkind: VLANClaim\nmetadata:\n  name: v\nspec: {}\n',
  });
  await refused(vlan, /VLANClaim v: spec\.vlanIndex\.name is required/);
  // a near group is another group (vxlan), not a typo
  const vx = list({
    Kptfile: KPTFILE,
    'v.yaml': 'apiVersion: vxlan.resource.nephio.org/v1alpha1\nkind: VXLANClaim\nmetadata:\n  name: v\n',
  });
  assert.is((await runFunction(vx, factory)).exitCode, 0);
});

test('an item that is not a mapping (a bare string, a list, nothing) is an error naming the item and line', async () => {
  const base = list({ Kptfile: KPTFILE });
  await refused(base + '- just a string\n', /item 1 of the ResourceList at line 12, column 1 of the input is not a resource/);
  await refused(base + '- [a, b]\n', /item 1 of the ResourceList at line 12, column 1 of the input is not a resource/);
  await refused(base + '-\n', /item 1 of the ResourceList at line 12, column 1 of the input is not a resource/);
});

test('selector and label values that are not strings are errors naming the field; __proto__ is a key like any other', async () => {
  const cases: [string, RegExp][] = [
    [
      '  selector:\n    matchLabels:\n      nephio.org/cluster: [c2]\n',
      /spec\.selector\.matchLabels\.\[nephio\.org\/cluster\] must be a string, not a list \["c2"\]/,
    ],
    [
      '  selector:\n    matchLabels:\n      nephio.org/cluster: {name: c2}\n',
      /spec\.selector\.matchLabels\.\[nephio\.org\/cluster\] must be a string, not a mapping/,
    ],
    [
      '  selector:\n    matchLabels:\n      nephio.org/cluster: 2\n',
      /spec\.selector\.matchLabels\.\[nephio\.org\/cluster\] must be a string, not a number 2 \(quote it: "2"\)/,
    ],
    [
      '  selector:\n    matchExpressions:\n    - {key: nephio.org/cluster, operator: In, values: [[c2]]}\n',
      /spec\.selector\.matchExpressions\[0\]\.values\[0\] must be a string, not a list/,
    ],
    [
      '  labels:\n    nephio.org/gateway: true\n',
      /spec\.labels\.\[nephio\.org\/gateway\] must be a string, not a boolean true \(quote it: "true"\)/,
    ],
    ['  labels: [a]\n', /spec\.labels must be a map of strings, not a list/],
  ];
  for (const [extra, re] of cases) {
    const r = await refused(list({ Kptfile: KPTFILE, 'space.yaml': SPACE, 'a.yaml': claim('a', extra) }), re);
    assert.equal(r.file, { path: 'a.yaml', index: 0 });
    assert.ok(r.field?.path.startsWith('spec.'), String(r.field?.path));
  }
  const labelled = claim('a').replace('  name: a\n', '  name: a\n  labels:\n    nephio.org/owner-nsn-name: [x]\n');
  await refused(
    list({ Kptfile: KPTFILE, 'space.yaml': SPACE, 'a.yaml': labelled }),
    /metadata\.labels\.\[nephio\.org\/owner-nsn-name\] must be a string/,
  );
  // a prefix's labels too
  await refused(
    list({
      Kptfile: KPTFILE,
      'space.yaml': SPACE.replace('  network: lan\n', '  network: lan\n  labels:\n    nephio.org/cluster: [c1]\n'),
    }),
    /IPPrefix lan: spec\.labels\.\[?nephio\.org\/cluster\]? must be a string/,
  );
  // __proto__ is kept as a selector key: nothing carries it, so nothing matches (it was dropped, and c1's prefix matched)
  await refused(
    list({ Kptfile: KPTFILE, 'space.yaml': SPACE, 'a.yaml': claim('a', '  selector:\n    matchLabels:\n      __proto__: x\n') }),
    /no prefix matches selector \{__proto__=x\}/,
  );
});

test('owners are unambiguous: a "/" in a name or a namespace that is not a DNS label is an error, not a shared owner', async () => {
  const a = claim('b/IPClaim/c').replace('  name: b/IPClaim/c\n', '  name: b/IPClaim/c\n  namespace: a\n');
  const b = claim('c').replace('  name: c\n', '  name: c\n  namespace: a/IPClaim/b\n');
  const r = await refused(
    list({ Kptfile: KPTFILE, 'space.yaml': SPACE, 'a.yaml': a }),
    /IPClaim a\/b\/IPClaim\/c: metadata\.name must not contain "\/"/,
  );
  assert.is(r.field?.path, 'metadata.name');
  await refused(
    list({ Kptfile: KPTFILE, 'space.yaml': SPACE, 'b.yaml': b }),
    /metadata\.namespace "a\/IPClaim\/b" is not a namespace name/,
  );
  // a dotted namespace would be misread from the original condition format (<name>.<namespace>.Injected)
  await refused(
    list({ Kptfile: KPTFILE, 'space.yaml': SPACE, 'b.yaml': claim('c').replace('  name: c\n', '  name: c\n  namespace: x.y\n') }),
    /is not a namespace name/,
  );
});

test('the same request in two files of one package is an error naming both files', async () => {
  const r = await refused(
    list({ Kptfile: KPTFILE, 'space.yaml': SPACE, 'a.yaml': claim('n3'), 'sub/b.yaml': claim('n3') }),
    /IPClaim n3 is defined twice, in a\.yaml \(document 0\) and in sub\/b\.yaml \(document 0\)/,
  );
  assert.equal(r.file, { path: 'sub/b.yaml', index: 0 });
  await refused(
    list({ Kptfile: KPTFILE, 'space.yaml': SPACE, 'a.yaml': claim('n3') + '---\n' + claim('n3') }),
    /defined twice, in a\.yaml \(document 0\) and in a\.yaml \(document 1\)/,
  );
  await refused(list({ Kptfile: KPTFILE, 'space.yaml': SPACE + '---\n' + SPACE.split('---\n')[1] }), /IPPrefix lan is defined twice/);
  // other namespaces, other kinds: other owners
  const ns = claim('n3').replace('  name: n3\n', '  name: n3\n  namespace: other\n');
  const ok = await runFunction(list({ Kptfile: KPTFILE, 'space.yaml': SPACE, 'a.yaml': claim('n3'), 'b.yaml': ns }), factory);
  assert.is(ok.exitCode, 0, ok.stdout);
});

const injecting = (select: string, path: string, create = true) => `apiVersion: fn.ipam-injector.dev/v1alpha1
kind: IPAMInjector
metadata:
  name: ipam
spec:
  injections:
  - source: {name: a, value: address}
    targets:
    - select: ${select}
      fieldPaths: ["${path}"]
      options: {create: ${create}}
`;

test('injections may not rewrite identity, kpt bookkeeping, the Kptfile conditions or request statuses', async () => {
  const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  x: y\n';
  const files = { Kptfile: KPTFILE, 'space.yaml': SPACE, 'a.yaml': claim('a'), 'b.yaml': claim('b'), 'cm.yaml': cm };
  const cases: [string, string, RegExp][] = [
    [
      '{kind: Kptfile}',
      'metadata.name',
      /injection target Kptfile pkg: field path metadata\.name may not be written: it is the resource's identity/,
    ],
    [
      '{kind: Kptfile}',
      'status.conditions.[type=x].type',
      /Kptfile pkg: field path status\.conditions\.\[type=x\]\.type may not be written: the Kptfile's status holds the package's conditions/,
    ],
    [
      '{kind: IPClaim, name: b}',
      'status.prefix',
      /IPClaim b: field path status\.prefix may not be written: the function writes the status of requests itself/,
    ],
    ['{kind: IPClaim, name: b}', 'metadata.name', /IPClaim b: field path metadata\.name may not be written/],
    ['{kind: ConfigMap}', 'kind', /ConfigMap cm: field path kind may not be written: it is the resource's type/],
    ['{kind: ConfigMap}', 'apiVersion', /field path apiVersion may not be written/],
    ['{kind: ConfigMap}', 'metadata.namespace', /field path metadata\.namespace may not be written/],
    [
      '{kind: ConfigMap}',
      'metadata.annotations.[config.kubernetes.io/path]',
      /field path metadata\.annotations\.\[config\.kubernetes\.io\/path\] may not be written: kpt keeps it/,
    ],
    ['{kind: ConfigMap}', 'metadata.annotations.[internal.config.kubernetes.io/index]', /may not be written: kpt keeps it/],
  ];
  for (const [select, path, re] of cases) {
    const r = await refused(list(files, injecting(select, path)), re);
    assert.is(r.field?.path, path);
    assert.ok(r.file?.path, JSON.stringify(r));
  }
  // other annotations and data are fine
  const ok = await runFunction(list(files, injecting('{kind: ConfigMap}', 'metadata.annotations.[example.com/n3]')), factory);
  assert.is(ok.exitCode, 0, ok.stdout);
});

test('(json) injection changes only the injected value: big numbers, 1500.0, 1e2, escapes, duplicate keys and layout stay', async () => {
  const json =
    '{"cniVersion": "0.3.1", "big": 12345678901234567890, "mtu": 1500.0, "e": 1e2, "sep": "a\\u2028b", "dup": 1, "dup": 2,\n  "plugins": [{"ipam": {"addresses": [{"address": "0.0.0.0/0"}]}}]}';
  const nad = `apiVersion: k8s.cni.cncf.io/v1\nkind: NetworkAttachmentDefinition\nmetadata:\n  name: n3\nspec:\n  config: ${JSON.stringify(json)}\n`;
  const cfg = (path: string) => injecting('{kind: NetworkAttachmentDefinition}', path).replace('value: address', 'value: prefix');
  const out = await runFunction(
    list(
      { Kptfile: KPTFILE, 'space.yaml': SPACE, 'a.yaml': claim('a'), 'nad.yaml': nad },
      cfg('spec.config.(json).plugins.0.ipam.addresses.0.address'),
    ),
    factory,
  );
  assert.is(out.exitCode, 0, out.stdout);
  const config = nadConfig(out.stdout);
  assert.is(config, json.replace('0.0.0.0/0', '10.0.1.1/24'));
  // created members and items follow the object's own layout; nothing else moves
  const created = await runFunction(
    list(
      { Kptfile: KPTFILE, 'space.yaml': SPACE, 'a.yaml': claim('a'), 'nad.yaml': nad },
      cfg('spec.config.(json).plugins.[type=static].ipam.address'),
    ),
    factory,
  );
  assert.is(created.exitCode, 0, created.stdout);
  const c2 = nadConfig(created.stdout);
  assert.is(c2, json.slice(0, -2) + ',{"type":"static","ipam":{"address":"10.0.1.1/24"}}]}');
  const member = await runFunction(
    list({ Kptfile: KPTFILE, 'space.yaml': SPACE, 'a.yaml': claim('a'), 'nad.yaml': nad }, cfg('spec.config.(json).gw')),
    factory,
  );
  const c3 = nadConfig(member.stdout);
  assert.is(c3, json.slice(0, -1) + ',\n  "gw": "10.0.1.1/24"}');
});

test('prefixLength: 024 is an error (octal 20 for kpt and kubectl, 24 for YAML 1.2 readers), not silently 24', async () => {
  const r = await refused(
    list({ Kptfile: KPTFILE, 'space.yaml': SPACE, 'a.yaml': claim('a', '  prefixLength: 024\n') }),
    /IPClaim a: spec\.prefixLength 024 has a leading zero: kpt and kubectl read it as octal \(20\), other readers as 24/,
  );
  assert.is(r.field?.path, 'spec.prefixLength');
  await refused(
    list({ Kptfile: KPTFILE, 'space.yaml': SPACE, 'a.yaml': claim('a', '  prefixLength: "09"\n') }),
    /spec\.prefixLength 09 has a leading zero: kpt and kubectl read it as an invalid octal number/,
  );
});

test('errors outside the items name the line, and the items are still echoed (duplicate config key, tab, "...", a second document)', async () => {
  const items = list({ Kptfile: KPTFILE, 'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n' });
  const lines = items.split('\n').length;
  const dup = items + 'functionConfig:\n  apiVersion: v1\n  kind: ConfigMap\n  data:\n    dryRun: "true"\n    dryRun: "false"\n';
  await refused(
    dup,
    new RegExp(
      `outside its items \\(apiVersion, kind, functionConfig\\) is not valid YAML at line ${lines + 5}, column 5 of the input: Map keys must be unique`,
    ),
  );
  const tab = items.replace('    name: c\n', '\tname: c\n');
  const r = await refused(
    tab,
    /item 1 of the ResourceList \(ConfigMap in cm\.yaml\) is not valid YAML at line \d+, column \d+ of the input: /,
  );
  assert.equal(r.file, { path: 'cm.yaml', index: 0 });
  // a document end marker followed by comments is one document: results go before it
  const ended = await runFunction(items + '...\n# end\n', factory);
  assert.is(ended.exitCode, 0, ended.stdout);
  assert.ok(ended.stdout.startsWith(items + 'results:\n') && ended.stdout.endsWith('...\n# end\n'), ended.stdout);
  for (const [extra, re] of [
    ['...\nkind: ConfigMap\n', new RegExp(`more than one YAML document \\(the first ends at line ${lines}, column 1\\)`)],
    ['---\nkind: ConfigMap\n', new RegExp(`more than one YAML document \\(a second starts at line ${lines}, column 1\\)`)],
  ] as const) {
    const out = await runFunction(items + extra, factory);
    assert.is(out.exitCode, 1);
    assert.match(results(out.stdout)[0].message, re);
    assert.not.match(out.stdout, /parseAllDocuments/);
  }
});

test.run();
