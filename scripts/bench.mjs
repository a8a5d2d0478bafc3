#!/usr/bin/env node
// Runs every bench/*.bench.ts, one after another, each in its own Node process
// (`node --import tsx --expose-gc`), passing its output through. Benchmarks print lines
// `BENCH <name> n=<N> ...`.
// Usage: npm run bench [-- <substring> ...]: a substring picks bench files by name; when no
// file name matches, it picks benchmarks by name: the files whose source mentions it run, with
// BENCH_FILTER set so that they run only the matching benchmarks.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dir = join(root, 'bench');
const filters = process.argv.slice(2);
const all = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .sort();
let files = all.filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
const env = { ...process.env };
if (files.length === 0 && filters.length > 0) {
  files = all.filter((f) => filters.some((s) => readFileSync(join(dir, f), 'utf8').includes(s)));
  env.BENCH_FILTER = filters.join(',');
}
if (files.length === 0) {
  console.error(`bench: nothing matches ${filters.join(', ')}`);
  process.exit(1);
}
// The servers the benchmarks start run dist/: build it, so that they never measure older code.
const build = spawnSync(process.execPath, [join(root, 'scripts/build.mjs')], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(1);
let failed = 0;
for (const f of files) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', join(dir, f)], { cwd: root, env, stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.error(`bench: ${f} exited with ${r.status ?? r.signal}`);
  }
}
process.exit(failed ? 1 : 0);
