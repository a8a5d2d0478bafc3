import { test } from '../support/uvu.js';
import * as assert from 'uvu/assert';
import { parsePath, setInDoc, PathError } from '../../src/krm/field-path.js';
import { docToText, parseYaml, type YAMLMap } from '../../src/krm/yaml-doc.js';
import { loadYaml } from '../../src/krm/yaml-lib.js';

await loadYaml();

test('parses the path syntax', () => {
  assert.equal(parsePath('spec.interfaces.[name=n3].ipv4.address').segments, [
    { t: 'key', key: 'spec' },
    { t: 'key', key: 'interfaces' },
    { t: 'match', field: 'name', value: 'n3' },
    { t: 'key', key: 'ipv4' },
    { t: 'key', key: 'address' },
  ]);
  assert.equal(parsePath('metadata.annotations.[example.com/x]').segments.at(-1), { t: 'key', key: 'example.com/x' });
  assert.equal(parsePath('spec.config.(json).plugins.0.ipam').segments.slice(2, 4), [{ t: 'json' }, { t: 'key', key: 'plugins' }]);
  for (const bad of ['', 'a..b', 'a.', 'a.[b', 'a.[name=x]', 'a.(json)', 'a.[=x].b']) assert.throws(() => parsePath(bad), undefined, bad);
});

const set = (yaml: string, path: string, v: string | number, create = false, preferString = false): string => {
  const d = parseYaml(yaml);
  setInDoc(d.contents as YAMLMap, parsePath(path), v, create, preferString);
  return docToText(d);
};

test('sets scalars, keeps style, creates only when asked', () => {
  assert.is(set('data:\n  a: "x"\n  m: 0755\n', 'data.a', '10.0.1.2'), 'data:\n  a: "10.0.1.2"\n  m: 0755\n');
  assert.is(set('data: {}\n', 'data.b', 24, true, true), 'data: { b: "24" }\n');
  assert.is(set('spec:\n  n: 1\n', 'spec.n', 24), 'spec:\n  n: 24\n');
  assert.throws(
    () => set('data: {}\n', 'data.b', 'x'),
    (e: unknown) => e instanceof PathError,
  );
  assert.throws(
    () => set('spec:\n  l: [{name: a}]\n', 'spec.l.[name=b].x', 'v'),
    (e: unknown) => e instanceof PathError && /no item with name=b/.test((e as Error).message),
  );
  assert.is(set('spec:\n  l:\n  - name: a\n', 'spec.l.[name=b].x', 'v', true), 'spec:\n  l:\n  - name: a\n  - name: b\n    x: v\n');
  assert.is(set('spec:\n  l:\n  - a\n  - b\n', 'spec.l.1', 'c'), 'spec:\n  l:\n  - a\n  - c\n');
});

test('JSON inside a string: compact stays compact, pretty stays pretty', () => {
  const compact = set(`spec:\n  config: '{"a":[{"x":1}],"b":"c"}'\n`, 'spec.config.(json).a.0.x', '10.0.0.1');
  assert.is(compact, `spec:\n  config: '{"a":[{"x":"10.0.0.1"}],"b":"c"}'\n`);
  const pretty = set('spec:\n  config: |\n    {\n      "a": {\n        "x": "old"\n      }\n    }\n', 'spec.config.(json).a.x', 'new');
  assert.is(pretty, 'spec:\n  config: |\n    {\n      "a": {\n        "x": "new"\n      }\n    }\n');
  assert.throws(
    () => set("spec:\n  config: 'not json'\n", 'spec.config.(json).a', 'x'),
    (e: unknown) => e instanceof PathError && /not JSON/.test((e as Error).message),
  );
});

test.run();
