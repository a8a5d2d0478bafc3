#!/usr/bin/env node
// Runs every bench/*.bench.ts, one after another, each in its own Node process
// (`node --import tsx --expose-gc`), passing its output through. Benchmarks print lines
// `BENCH <name> n=<N> ...`.
// Usage: npm run bench [-- <substring> ...]: a substring picks bench files by name; when no
// file name matches, it is handed to every file (BENCH_FILTER) to pick benchmarks by name.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dir = join(root, 'bench');
const filters = process.argv.slice(2);
const all = readdirSync(dir).filter((f) => f.endsWith('.bench.ts')).sort();
let files = all.filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
const env = { ...process.env };
if (files.length === 0 && filters.length > 0) {
  files = all;
  env.BENCH_FILTER = filters.join(',');
}
let failed = 0;
for (const f of files) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', join(dir, f)], { cwd: root, env, stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.error(`bench: ${f} exited with ${r.status ?? r.signal}`);
  }
}
process.exit(failed ? 1 : 0);
