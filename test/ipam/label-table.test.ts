// The allocator's interned label sets: equal sets share one id whatever their key order, sets
// whose hashes collide stay apart, and a set is forgotten with its last reference.
import { test } from '../support/uvu.js';
import * as assert from 'uvu/assert';
import { LabelTable } from '../../src/ipam/labels.js';

test('equal sets share an id, whatever the order of their keys', () => {
  const t = new LabelTable();
  const a = t.intern({ b: '2', a: '1' });
  assert.is(t.intern({ a: '1', b: '2' }), a);
  assert.equal(Object.keys(t.get(a)), ['a', 'b']);
  assert.ok(Object.isFrozen(t.get(a)));
  assert.is.not(t.intern({ a: '1', b: '3' }), a);
  assert.is.not(t.intern({ a: '1' }), a);
  assert.is.not(t.intern({ a: '1', b: '2', c: '' }), a);
  assert.is(t.intern({}), 0);
  assert.is(t.intern(undefined), 0);
});

test('sets whose hashes collide keep their own ids', () => {
  // app=n90239 and app=n397046 have the same 32-bit hash
  const t = new LabelTable();
  const x = t.intern({ app: 'n90239' });
  const y = t.intern({ app: 'n397046' });
  assert.is.not(x, y);
  assert.equal(t.get(x), { app: 'n90239' });
  assert.equal(t.get(y), { app: 'n397046' });
  assert.is(t.intern({ app: 'n397046' }), y);
  t.unref(x);
  assert.is(t.intern({ app: 'n397046' }), y);
  const x2 = t.intern({ app: 'n90239' });
  assert.equal(t.get(x2), { app: 'n90239' });
  assert.is(t.intern({ app: 'n90239' }), x2);
});

test('a set is forgotten with its last reference, and its id is used again', () => {
  const t = new LabelTable();
  const a = t.intern({ role: 'a' });
  assert.is(t.intern({ role: 'a' }), a);
  t.unref(a);
  assert.equal(t.get(a), { role: 'a' }, 'one reference is left');
  t.unref(a);
  assert.equal(t.get(a), {});
  const b = t.intern({ role: 'b' });
  assert.is(b, a, 'the freed id');
  assert.is.not(t.intern({ role: 'a' }), b);
});

test('numeric-looking keys and non-string values compare as the strings they are stored as', () => {
  const t = new LabelTable();
  const a = t.intern({ '10': 'x', '9': 'y', z: '1' });
  assert.is(t.intern({ z: '1', '9': 'y', '10': 'x' }), a);
  const n = t.intern({ port: 80 as unknown as string });
  assert.is(t.intern({ port: '80' }), n);
  assert.is(t.get(n).port, '80');
});

test.run();
