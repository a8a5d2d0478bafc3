#!/usr/bin/env node
// Runs every test/**/*.test.ts file in its own Node process (uvu + tsx), two at a time,
// lists every skipped test with its reason, and ends with the plain line
// "N passed, N failed, N skipped" that CI reads (always the very last line).
// A test file says why it skipped with a line `SKIP "<test>": <reason>` (test/support/uvu.ts).
// Usage: npm test [-- <substring filter> ...]
// TEST_DIR=<dir> runs the test files under dir instead of test/, and TEST_NO_BUILD=1 skips the
// build (test/support/test-runner.test.ts runs this runner on files of its own that way).
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { cpus } from 'node:os';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

// The function is run by kpt as a built executable, so tests need a fresh build.
const build =
  process.env.TEST_NO_BUILD === '1' ? { status: 0 } : spawnSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: 'inherit' });
if (build.status !== 0) {
  console.log('0 passed, 1 failed, 0 skipped');
  process.exit(1);
}

const files = walk(process.env.TEST_DIR || join(root, 'test')).filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
const parallel = Math.max(1, Math.min(Number(process.env.TEST_JOBS) || cpus().length, 4));
// A test file that hangs fails the run instead of stopping it (CI has a time limit of its own).
const FILE_TIMEOUT_S = Number(process.env.TEST_FILE_TIMEOUT_S) || 300;
let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];
const skips = [];

/** Test files running now, each in its own process group. */
const running = new Set();
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const c of running) {
      try {
        process.kill(-c.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    process.exit(130);
  });
}

function runFile(file) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
      // its own process group: a file that hangs is killed with the servers it started
      detached: true,
    });
    running.add(child);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, FILE_TIMEOUT_S * 1000);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => {
      running.delete(child);
      clearTimeout(timer);
      if (timedOut) out += `\nkilled: the file ran longer than ${FILE_TIMEOUT_S} s (TEST_FILE_TIMEOUT_S)\n`;
      const total = /Total:\s+(\d+)/.exec(out);
      const pass = /Passed:\s+(\d+)/.exec(out);
      const skip = /Skipped:\s+(\d+)/.exec(out);
      const name = relative(root, file);
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      if (total && pass) {
        const t = Number(total[1]);
        const p = Number(pass[1]);
        const s = skip ? Number(skip[1]) : 0;
        // uvu's Total does not include skipped tests
        const f = Math.max(0, t - p);
        passed += p;
        failed += f;
        skipped += s;
        const reasons = [...out.matchAll(/^SKIP "(.+?)": (.*)$/gm)].map((m) => `${m[1]}: ${m[2]}`);
        for (let i = 0; i < s; i++) skips.push(`${name}: ${reasons[i] ?? 'a test was skipped without saying why'}`);
        if (f > 0 || code !== 0) {
          if (f === 0) failed += 1; // crashed after its totals
          failures.push({ name, out });
        }
        console.log(`${f > 0 || code !== 0 ? 'FAIL' : 'ok  '} ${name}  (${p}/${t} passed${s ? `, ${s} skipped` : ''}, ${secs}s)`);
        if (f > 0 || code !== 0) console.log(gist(out));
      } else {
        failed += 1;
        failures.push({ name, out });
        console.log(`FAIL ${name}  (no uvu totals, ${timedOut ? 'timed out' : `exit ${code}`}, ${secs}s)`);
      }
      resolve();
    });
  });
}

/** The first lines of each failed test in uvu's output, printed beside the FAIL line: a CI log
 *  that is cut short still says why (the whole output follows at the end). */
function gist(out) {
  const lines = out.split('\n');
  const picked = [];
  for (let i = 0; i < lines.length && picked.length < 60; i++) {
    if (!/^\s*FAIL\s+"/.test(lines[i])) continue;
    let end = i + 1;
    while (end < lines.length && end < i + 30 && !/^\s*(FAIL\s+"|Total:)/.test(lines[end])) end++;
    const block = lines.slice(i, end).filter((l) => l.trim() && !/^\s+at /.test(l));
    picked.push(...block.map((l) => `    | ${l.trim().slice(0, 400)}`));
  }
  return picked.length ? picked.join('\n') : `    | ${out.trim().split('\n').slice(-8).join('\n    | ')}`;
}

// Tests that time a failover (no call over 2 s while a replica dies) measure the machine as
// much as the code when another test file shares its 2 cores: they run after the others, alone.
const ALONE = ['test/etcd/replicas.test.ts'];
const alone = (f) => ALONE.some((a) => f.endsWith(a));
const queue = files.filter((f) => !alone(f));
await Promise.all(
  Array.from({ length: parallel }, async () => {
    while (queue.length) await runFile(queue.shift());
  }),
);
for (const f of files.filter(alone)) await runFile(f);

for (const f of failures) {
  console.log(`\n===== ${f.name} =====\n${f.out.trim()}`);
}
if (skips.length) console.log(`\nSkipped:\n${skips.map((s) => `  ${s}`).join('\n')}`);
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || files.length === 0 ? 1 : 0);
