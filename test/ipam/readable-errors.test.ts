// An IpamError escaping a test must fail it readably (test/support/uvu.ts): uvu alone prints
// nothing for it and exits 0, because it reads the error's `details` object as a diff text.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { test } from './helpers.js';

const root = new URL('../..', import.meta.url).pathname;

function runTest(body: string) {
  const src = `import { test } from './test/support/uvu.ts';\nimport { IpamError } from './src/ipam/errors.ts';\n${body}\ntest.run();\n`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', src], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

test('an IpamError thrown in a test is reported with its code, message and details, and the run fails', () => {
  const r = runTest(
    `test('escapes', () => { throw new IpamError('NotFound', 'network instance default/nope not found', { networkInstance: 'default/nope' }); });`,
  );
  assert.is(r.status, 1, r.out);
  assert.match(r.out, 'FAIL  "escapes"');
  assert.match(r.out, 'IpamError NotFound: network instance default/nope not found');
  assert.match(r.out, '"networkInstance":"default/nope"');
});

test('an IpamError rejected by an async test is reported too; assertion failures keep their diff', () => {
  const r = runTest(
    `test('async', async () => { await Promise.resolve(); throw new IpamError('Exhausted', 'no free /24: exhausted'); });\n` +
      `import * as assert from 'uvu/assert';\ntest('assert', () => assert.is('10.0.0.1/24', '10.0.0.2/24'));\n` +
      `test('match', () => assert.match('10.0.0.1/24', /^192/));`,
  );
  assert.is(r.status, 1, r.out);
  assert.match(r.out, 'IpamError Exhausted: no free /24: exhausted');
  assert.match(r.out, 'Expected');
  assert.match(r.out, '10.0.0.2/24');
  assert.match(r.out, 'Expected value to match `/^192/` pattern  (match)');
  assert.not.match(r.out, 'details: false', 'assertion errors are not rewritten');
});

test('every allocator and function test file uses the readable test helper, not uvu directly', () => {
  for (const dir of ['test/ipam', 'test/krm', 'test/fn']) {
    for (const name of readdirSync(join(root, dir)).filter((n) => n.endsWith('.test.ts'))) {
      const text = readFileSync(join(root, dir, name), 'utf8');
      assert.not.match(text, /import\s*\{[^}]*\btest\b[^}]*\}\s*from\s*'uvu'/, `${dir}/${name} imports test from uvu`);
    }
  }
});

test.run();
