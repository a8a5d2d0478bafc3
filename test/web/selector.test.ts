// The web view's filter reads label selectors as kubectl does (`-l`).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseSelector } from '../../src/server/web/selector.js';

test('equality, inequality, sets and existence', () => {
  assert.equal(parseSelector('nephio.org/cluster-name=edge1, tier==gold,env!=dev,zone in (a, b),x notin (y),has,!gone'), {
    matchLabels: { 'nephio.org/cluster-name': 'edge1', tier: 'gold' },
    matchExpressions: [
      { key: 'env', operator: 'NotIn', values: ['dev'] },
      { key: 'zone', operator: 'In', values: ['a', 'b'] },
      { key: 'x', operator: 'NotIn', values: ['y'] },
      { key: 'has', operator: 'Exists' },
      { key: 'gone', operator: 'DoesNotExist' },
    ],
  });
  assert.equal(parseSelector('  '), {});
});

test('what is not a selector is an error naming the part', () => {
  assert.throws(() => parseSelector('a=<b>'), /"<b>" in "a=<b>" is not a label value/);
  assert.throws(() => parseSelector('a b c'), /cannot read "a b c"/);
  assert.throws(() => parseSelector('__proto__=x'), /not a label key/);
});

test('keys like __proto__ cannot reach the object prototype', () => {
  const s = parseSelector('constructor=x');
  assert.is(s.matchLabels?.constructor, 'x');
  assert.is(Object.getPrototypeOf({}).x, undefined);
});

test.run();
