// scripts/test.mjs itself: it counts passes, failures and skips across files, lists every
// skip with its reason, and its very last line is "N passed, N failed, N skipped" (CI reads it).
import { test } from './uvu.js';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const uvu = join(root, 'test/support/uvu.ts');

test('the last line counts passed, failed and skipped tests; each skip is listed with its reason', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ipam-runner-'));
  try {
    writeFileSync(
      join(dir, 'a.test.ts'),
      `import { test, skipTest } from '${uvu}';\ntest('passes', () => {});\ntest('passes too', () => {});\nskipTest('needs a tool', 'the tool is not installed');\ntest.run();\n`,
    );
    writeFileSync(
      join(dir, 'b.test.ts'),
      `import { test } from '${uvu}';\ntest('fails', () => { throw new Error('boom'); });\ntest.run();\n`,
    );
    const r = spawnSync(process.execPath, [join(root, 'scripts/test.mjs')], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, TEST_DIR: dir, TEST_NO_BUILD: '1' },
    });
    assert.is(r.status, 1, r.stdout + r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.is(lines.at(-1), '2 passed, 1 failed, 1 skipped');
    assert.match(r.stdout, /\nSkipped:\n {2}\S*a\.test\.ts: needs a tool: the tool is not installed\n/);
    assert.match(r.stdout, /FAIL \S*b\.test\.ts/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file that hangs is killed after TEST_FILE_TIMEOUT_S, with the processes it started, and counts as failed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ipam-runner-'));
  try {
    // the hanging file starts a child that would outlive it; its pid goes to a file
    const pidFile = join(dir, 'child.pid');
    writeFileSync(
      join(dir, 'hang.test.ts'),
      `import { spawn } from 'node:child_process';\nimport { writeFileSync } from 'node:fs';\nconst c = spawn('sleep', ['300'], { stdio: 'ignore' });\nwriteFileSync(${JSON.stringify(pidFile)}, String(c.pid));\nsetInterval(() => {}, 1000);\n`,
    );
    writeFileSync(join(dir, 'ok.test.ts'), `import { test } from '${uvu}';\ntest('passes', () => {});\ntest.run();\n`);
    const started = Date.now();
    const r = spawnSync(process.execPath, [join(root, 'scripts/test.mjs')], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, TEST_DIR: dir, TEST_NO_BUILD: '1', TEST_FILE_TIMEOUT_S: '3' },
      timeout: 60_000,
    });
    assert.ok(Date.now() - started < 30_000, 'the runner ended');
    assert.is(r.status, 1, r.stdout + r.stderr);
    assert.is(r.stdout.trimEnd().split('\n').at(-1), '1 passed, 1 failed, 0 skipped');
    assert.match(r.stdout, /FAIL \S*hang\.test\.ts {2}\(no uvu totals, timed out/);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    // a killed child nobody reaped yet is a zombie ('Z'): dead too
    let state = 'gone';
    try {
      state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.charAt(0);
    } catch {
      // no such process
    }
    assert.ok(state === 'gone' || state === 'Z', `the child the hanging file started was killed too (state ${state})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
