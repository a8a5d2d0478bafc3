import { test } from '../support/uvu.js';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { parseBlock, parseItem, Unsupported } from '../../src/krm/block-yaml.js';
import { parseYaml, toJS } from '../../src/krm/yaml-doc.js';
import { loadYaml } from '../../src/krm/yaml-lib.js';

await loadYaml();

const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v));
const viaLibrary = (text: string): unknown => {
  const d = parseYaml(text);
  return plain(toJS(d.contents, d));
};

test('reads kpt-style resources like the yaml library does', () => {
  const text = `# head comment
apiVersion: v1 # trailing
kind: ConfigMap
metadata:
  name: a
  annotations:
    config.kubernetes.io/index: '0'
    "quoted key": "x\\ty"
data:
  mode: 0755
  date: 2021-01-01
  t: "true"
  b: 'it''s'
  n: ~
  e:
  i: 42
  f: 1.5
  neg: -3
  hex: 0x1F
  url: http://example.com/a#b
  flow: {a: 1, b: [x, "y z"], c: {}}
  empty: []
  lit: |
    line1
      line2

    line4
  strip: |-
    a
    b
list:
- name: x   # c
  v: 1
-   name: y
    v: [1, 2]
- plain item
- - - nested
`;
  assert.equal(plain(parseBlock(text).value), viaLibrary(text));
});

test('compact and indented sequences, nested maps in lists', () => {
  const text = `a:
- b: 1
  c:
  - d
  - e: f
    g: h
x:
  - 1
  - y: 2
    z:
      w: v
`;
  assert.equal(plain(parseBlock(text).value), viaLibrary(text));
});

test('values that stay strings: 0755, dates, yes/no, dotted quads, IPv6', () => {
  const v = parseBlock('a: 0755\nb: 2021-01-01\nc: yes\nd: 10.0.1.2\ne: 2001:db8::1/64\nf: "10"\ng: 10\n').value as Record<string, unknown>;
  assert.equal(
    v,
    Object.assign(Object.create(null), { a: '0755', b: '2021-01-01', c: 'yes', d: '10.0.1.2', e: '2001:db8::1/64', f: '10', g: 10 }),
  );
});

test('anything outside the subset is Unsupported, not misread', () => {
  for (const text of [
    'a: &x 1\nb: *x\n',
    'a: !!str 1\n',
    'a: >\n  folded\n  text\n',
    'a: multi\n  line plain\n',
    'a: "multi\n  line"\n',
    'a: |+\n  keep\n\n',
    '? complex\n: key\n',
    'a: 1\na: 2\n',
    'a:\n\tb: 1\n',
    'a: {b: 1,\n  c: 2}\n',
    'a: b: c\n',
  ]) {
    assert.throws(
      () => parseBlock(text),
      (e: unknown) => e instanceof Unsupported,
      text,
    );
  }
});

test('offsets point at the value text', () => {
  const text = '- apiVersion: v1\n  status:\n    prefix: "10.0.1.2/24" # c\n';
  const { node } = parseItem(text, 0);
  assert.is(node.type, 'map');
  if (node.type !== 'map') return;
  const st = node.entries.find((e) => e.key === 'status')!;
  assert.is(st.value.type, 'map');
  if (st.value.type !== 'map') return;
  const p = st.value.entries[0];
  assert.is(text.slice(p.value.start, p.value.end), '"10.0.1.2/24"');
  assert.is(text.slice(st.lineStart, st.end), '  status:\n    prefix: "10.0.1.2/24" # c\n');
});

test('items with a comment on the dash line', () => {
  const text = '- # top comment\n  apiVersion: v1\n  kind: X # k\n';
  const { node } = parseItem(text, 0);
  assert.equal(plain(node.value), { apiVersion: 'v1', kind: 'X' });
});

// Property: for data the yaml library writes in block style, both readers agree.
const key = fc.oneof(
  fc.constantFrom('a', 'b', 'name', 'nephio.org/x', 'with space', 'x:y', '0755', 'true', 'k-1', '#h', '-d', "q'uote", 'q"d'),
  fc.string({ maxLength: 8 }),
);
const scalar = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constantFrom(
    '0755',
    '2021-01-01',
    'yes',
    'true',
    'null',
    '~',
    '',
    ' lead',
    'trail ',
    'a: b',
    'x #y',
    '- z',
    '10.0.1.2/24',
    'line\nbreak',
    '"q"',
    "'s'",
    '[1]',
    '{a}',
  ),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const value = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, scalar, tie('m'), tie('s')),
  m: fc.dictionary(key, tie('v'), { maxKeys: 4 }),
  s: fc.array(tie('v'), { maxLength: 4 }),
})).m;

test('property: block reader == yaml library on library-written documents', () => {
  let read = 0;
  let unsupported = 0;
  fc.assert(
    fc.property(value, fc.boolean(), fc.constantFrom(0, 40), (v, indentSeq, lineWidth) => {
      const text = stringify(v, { indentSeq, lineWidth, version: '1.1' });
      let fast: unknown;
      try {
        fast = parseBlock(text).value;
      } catch (e) {
        if (!(e instanceof Unsupported)) throw e;
        unsupported++;
        return;
      }
      read++;
      assert.equal(plain(fast), viaLibrary(text), text);
    }),
    { numRuns: 1500 },
  );
  assert.ok(read > unsupported * 3, `fast reader took ${read}, left ${unsupported} to the library`);
});

/** A block document as a ResourceList item (dash at column 0). */
const asItem = (text: string): string =>
  text
    .replace(/\n$/, '')
    .split('\n')
    .map((l, i) => (i === 0 ? '- ' : l === '' ? '' : '  ') + l)
    .join('\n') + '\n';

/** 'ok' or 'unsupported' for one reading mode. */
function outcome(text: string, values: boolean): string {
  try {
    parseItem(asItem(text), 0, values);
    return 'ok';
  } catch (e) {
    if (!(e instanceof Unsupported)) throw e;
    return 'unsupported';
  }
}

test('checking an item without building values accepts and refuses exactly what reading does', () => {
  const many = Array.from({ length: 80 }, (_, i) => `k${i}: v`).join('\n');
  for (const text of [
    'a: 1\nb:\n  c: [1, 2]\n  d: |\n    x\n',
    'a: 1\na: 2\n',
    'a:\n  b: 1\n  c:\n  - x: 1\n    x: 2\n',
    `${many}\nk3: again\n`,
    `${many}\nk80: new\n`,
    'a: {b: 1, b: 2}\n',
    'a:\n\tb: 1\n',
    'a: b: c\n',
  ]) {
    assert.is(outcome(text, false), outcome(text, true), text);
  }
  fc.assert(
    fc.property(value, fc.boolean(), (v, indentSeq) => {
      const text = stringify(v, { indentSeq, version: '1.1' });
      assert.is(outcome(text, false), outcome(text, true), text);
    }),
    { numRuns: 500 },
  );
});

test.run();
