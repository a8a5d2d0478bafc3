import { test } from '../support/uvu.js';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Item } from '../../src/krm/item.js';
import { loadYaml } from '../../src/krm/yaml-lib.js';
import type { ListEdit } from '../../src/krm/block-edit.js';

await loadYaml();

const item = (text: string, dash = 0) => new Item({ index: 0, text, dash });
const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

const CLAIM = `- apiVersion: ipam.resource.nephio.org/v1alpha1
  kind: IPClaim
  metadata:
    name: n3 # the N3 interface
    annotations:
      config.kubernetes.io/path: 'claim.yaml'
  spec:
    kind: network
    mode: 0755
    date: 2021-01-01
`;

test('adds a status block at the end, nothing else changes', () => {
  const it = item(CLAIM);
  it.setFields('status', { prefix: '10.0.1.2/24', gateway: '10.0.1.1' });
  assert.is(it.text, CLAIM + '  status:\n    prefix: 10.0.1.2/24\n    gateway: 10.0.1.1\n');
  assert.not.ok(it.usedLibrary);
});

test('updates values in place and keeps their quoting', () => {
  const it = item(CLAIM + '  status:\n    gateway: "10.0.1.1" # gw\n    prefix: \'10.0.1.9/24\'\n    other: x\n');
  it.setFields('status', { prefix: '10.0.1.2/24', gateway: '10.0.1.1' });
  assert.is(it.text, CLAIM + '  status:\n    gateway: "10.0.1.1" # gw\n    prefix: \'10.0.1.2/24\'\n    other: x\n');
});

test('removes a gateway that no longer applies; empty status goes away', () => {
  const it = item(CLAIM + '  status:\n    prefix: 10.0.1.2/24\n    gateway: 10.0.1.1\n');
  it.setFields('status', { prefix: '10.0.0.0/16', gateway: undefined });
  assert.is(it.text, CLAIM + '  status:\n    prefix: 10.0.0.0/16\n');
  it.setFields('status', { prefix: undefined, gateway: undefined });
  assert.is(it.text, CLAIM);
});

test('status: {} and status: (null) are replaced by a block', () => {
  for (const st of ['  status: {}\n', '  status:\n', '  status: {} # c\n']) {
    const it = item(CLAIM + st);
    it.setFields('status', { prefix: '10.0.1.2/24' });
    assert.is(it.text, CLAIM + '  status:\n    prefix: 10.0.1.2/24\n', st);
  }
});

test('values that need quotes get them', () => {
  const it = item(CLAIM);
  it.setFields('status', { prefix: '::1/128', gateway: 'true' });
  assert.ok(it.text.endsWith('  status:\n    prefix: "::1/128"\n    gateway: "true"\n'), it.text);
});

test('falls back to the yaml library for what the fast path does not take, keeping scalars', () => {
  const text = CLAIM + '  note: >\n    folded\n    text\n  status: {prefix: 10.0.0.9/24, x: y}\n';
  const it = item(text);
  it.setFields('status', { prefix: '10.0.1.2/24' });
  assert.ok(it.usedLibrary);
  const v = plain(it.value()) as Record<string, unknown>;
  assert.equal(v.status, { prefix: '10.0.1.2/24', x: 'y' });
  assert.ok(it.text.includes('mode: 0755'));
  assert.ok(it.text.includes('date: 2021-01-01'));
  assert.ok(it.text.includes('# the N3 interface'));
  assert.ok(it.text.startsWith('- apiVersion: ipam.resource.nephio.org/v1alpha1\n  kind: IPClaim\n'));
});

const KPTFILE = `- apiVersion: kpt.dev/v1
  kind: Kptfile
  # comment A
  metadata:
    name: pkg-upf
  pipeline: {}
`;

const edit = (e: Partial<ListEdit>): ListEdit => ({ update: new Map(), remove: new Set(), append: [], ...e });

test('conditions: create, update, remove', () => {
  const it = item(KPTFILE);
  it.editList(
    'status',
    'conditions',
    edit({
      append: [
        { type: 'a', status: 'True', message: 'update done' },
        { type: 'b', status: 'False', message: 'bad: x' },
      ],
    }),
  );
  assert.is(
    it.text,
    KPTFILE +
      '  status:\n    conditions:\n    - type: a\n      status: "True"\n      message: update done\n    - type: b\n      status: "False"\n      message: "bad: x"\n',
  );
  it.editList('status', 'conditions', edit({ update: new Map([[1, { status: 'True', message: 'update done' }]]), remove: new Set([0]) }));
  // the message keeps the quoting it had
  assert.is(it.text, KPTFILE + '  status:\n    conditions:\n    - type: b\n      status: "True"\n      message: "update done"\n');
  it.editList('status', 'conditions', edit({ remove: new Set([0]) }));
  assert.is(it.text, KPTFILE);
  assert.not.ok(it.usedLibrary);
});

test('conditions of other functions are kept byte for byte', () => {
  const others =
    '  status:\n    conditions:\n      - message: create resource\n        reason: req.nephio.org/v1alpha1.Interface.n3\n        status: "True"\n        type: x\n    foo: bar\n';
  const it = item(KPTFILE + others);
  it.editList('status', 'conditions', edit({ append: [{ type: 'mine', status: 'True', message: 'update done' }] }));
  assert.is(
    it.text,
    KPTFILE + others.replace('    foo: bar\n', '      - type: mine\n        status: "True"\n        message: update done\n    foo: bar\n'),
  );
});

// Property: the fast splices and the library path agree on the resulting data.
const condition = fc.record({
  type: fc.constantFrom('a', 'b', 'c', 'd'),
  status: fc.constantFrom('True', 'False'),
  message: fc.string({ maxLength: 12 }),
});
test('property: fast edits == library edits', () => {
  fc.assert(
    fc.property(
      fc.array(condition, { maxLength: 4 }),
      fc.array(condition, { maxLength: 3 }),
      fc.array(fc.nat(5), { maxLength: 3 }),
      fc.option(fc.constantFrom('10.0.1.2/24', 'true', '2001:db8::2/64', "it's"), { nil: undefined }),
      (existing, append, removeIdx, prefix) => {
        let base = KPTFILE;
        if (existing.length) {
          base +=
            '  status:\n    conditions:\n' +
            existing
              .map((c) => `    - type: ${c.type}\n      status: "${c.status}"\n      message: ${JSON.stringify(c.message)}\n`)
              .join('');
        }
        const e = edit({
          append,
          remove: new Set(removeIdx.filter((i) => i < existing.length)),
          update: new Map(existing.length ? [[0, { message: 'updated' }]] : []),
        });
        if (e.remove.has(0)) e.update.clear();
        const fast = item(base);
        fast.editList('status', 'conditions', e);
        fast.setFields('info', { prefix });
        const slow = item(base.replace('  pipeline: {}\n', '  pipeline: {}\n  folded: >\n    x\n'));
        slow.editList('status', 'conditions', e);
        slow.setFields('info', { prefix });
        assert.ok(slow.usedLibrary);
        const a = plain(fast.value()) as Record<string, unknown>;
        const b = plain(slow.value()) as Record<string, unknown>;
        delete b.folded;
        assert.equal(a, b);
      },
    ),
    { numRuns: 300 },
  );
});

test.run();
