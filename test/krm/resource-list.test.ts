import { test } from '../support/uvu.js';
import * as assert from 'uvu/assert';
import { joinResourceList, splitResourceList, ResourceListError } from '../../src/krm/resource-list.js';
import { renderResults } from '../../src/krm/results.js';
import { loadYaml } from '../../src/krm/yaml-lib.js';
import { parse } from 'yaml';

await loadYaml();

const roundTrip = (text: string): string => {
  const rl = splitResourceList(text);
  return joinResourceList(
    rl,
    rl.items.map((i) => i.text),
    '',
  );
};

const KPT = `apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- # top comment
  apiVersion: v1
  kind: ConfigMap
  metadata:
    name: a # trailing
  data:
    mode: 0755
    date: 2021-01-01
    t: "true"
    b: 'bar'
    script: |
      #!/bin/sh
      echo hi

      exit 0
# between items
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: a
  data: {x: y}
functionConfig:
  metadata:
    name: function-input
  data: {a: b, c: "0755"}
  kind: ConfigMap
  apiVersion: v1
`;

test('splits kpt output into items, byte for byte', () => {
  const rl = splitResourceList(KPT);
  assert.is(rl.items.length, 2);
  assert.ok(rl.items[0].text.startsWith('- # top comment\n'));
  assert.ok(rl.items[0].text.endsWith('# between items\n'));
  assert.equal(JSON.parse(JSON.stringify(rl.functionConfig)), {
    metadata: { name: 'function-input' },
    data: { a: 'b', c: '0755' },
    kind: 'ConfigMap',
    apiVersion: 'v1',
  });
  assert.is(roundTrip(KPT), KPT);
});

test('indented items, functionConfig first, no trailing newline', () => {
  const text =
    'functionConfig:\n  kind: ConfigMap\n  apiVersion: v1\nitems:\n  - kind: A\n    metadata: {name: x}\n  - kind: B\nkind: ResourceList\napiVersion: config.kubernetes.io/v1';
  const rl = splitResourceList(text);
  assert.is(rl.items.length, 2);
  assert.is(rl.items[0].dash, 2);
  assert.equal(parse(roundTrip(text)), parse(text));
});

test('empty and missing item lists stay explicit lists', () => {
  for (const text of [
    'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\n',
    'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n',
  ]) {
    const rl = splitResourceList(text);
    assert.is(rl.items.length, 0);
    assert.equal(parse(joinResourceList(rl, [], '')).items, []);
  }
});

test('incoming results are kept and ours appended once', () => {
  const text = KPT + 'results:\n- message: earlier\n  severity: info\n';
  const rl = splitResourceList(text);
  assert.equal(JSON.parse(JSON.stringify(rl.results)), [{ message: 'earlier', severity: 'info' }]);
  const out = joinResourceList(
    rl,
    rl.items.map((i) => i.text),
    renderResults([...rl.results, { message: 'mine: x', severity: 'warning' }]),
  );
  assert.equal(parse(out).results, [
    { message: 'earlier', severity: 'info' },
    { message: 'mine: x', severity: 'warning' },
  ]);
  assert.is(out.match(/^results:/gm)?.length, 1);
});

test('JSON and flow-style lists are normalized, values kept', () => {
  const json = JSON.stringify({
    apiVersion: 'config.kubernetes.io/v1',
    kind: 'ResourceList',
    items: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' }, data: { mode: '0755' } }],
    functionConfig: { apiVersion: 'v1', kind: 'ConfigMap', data: { dryRun: 'true' } },
  });
  const rl = splitResourceList(json);
  assert.is(rl.items.length, 1);
  assert.equal(JSON.parse(JSON.stringify((rl.functionConfig as { data?: unknown }).data)), { dryRun: 'true' });
  assert.equal(
    parse(
      joinResourceList(
        rl,
        rl.items.map((i) => i.text),
        '',
      ),
    ),
    JSON.parse(json),
  );
});

test('what is not a ResourceList is refused with a message', () => {
  assert.throws(
    () => splitResourceList('apiVersion: v1\nkind: ConfigMap\nitems: []\n'),
    (e: unknown) => e instanceof ResourceListError && /not ResourceList/.test((e as Error).message),
  );
  assert.throws(
    () => splitResourceList('items: [\n'),
    (e: unknown) => e instanceof ResourceListError,
  );
  assert.throws(
    () => splitResourceList('- just\n- a list\n'),
    (e: unknown) => e instanceof ResourceListError,
  );
});

test('a document start marker is fine', () => {
  const text = '---\n' + KPT;
  assert.is(roundTrip(text), text);
});

test.run();
