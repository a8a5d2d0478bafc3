import { test } from 'uvu';
import * as assert from 'uvu/assert';

test('bigint arithmetic is available for IPv6', () => {
  assert.is((1n << 128n) - 1n, 340282366920938463463374607431768211455n);
});

test.run();
