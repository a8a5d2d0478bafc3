// Performance figures live in one document, made from recorded benchmark output:
// docs/performance.md's tables are what scripts/perf-doc.mjs writes from docs/bench/*.txt, the
// recorded benchmarks still exist in bench/, and no other Markdown file quotes benchmark figures.
import { test } from '../support/uvu.js';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
// @ts-expect-error: a plain .mjs script without types
import { DOC, RECORDS, generate, parseRecording, table } from '../../scripts/perf-doc.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const doc: string = readFileSync(DOC, 'utf8');
const suites = [...doc.matchAll(/<!-- bench-table: ([\w-]+) -->/g)].map((m) => m[1]!);
const recorded = existsSync(RECORDS)
  ? readdirSync(RECORDS)
      .filter((f) => f.endsWith('.txt'))
      .map((f) => f.slice(0, -4))
  : [];
const benchSource = readdirSync(join(root, 'bench'))
  .map((f) => readFileSync(join(root, 'bench', f), 'utf8'))
  .join('\n');

test('every table of docs/performance.md is what the recorded runs give (node scripts/perf-doc.mjs)', () => {
  for (const r of recorded) assert.ok(suites.includes(r), `docs/bench/${r}.txt has no table in docs/performance.md`);
  assert.fixture(generate(doc), doc);
});

test('the recorded benchmarks still exist in bench/', () => {
  for (const suite of recorded) {
    const { byName } = parseRecording(readFileSync(join(RECORDS, `${suite}.txt`), 'utf8'));
    for (const key of byName.keys()) {
      const name = (key as string).split(' ')[0]!;
      assert.ok(benchSource.includes(name), `docs/bench/${suite}.txt records ${name}, which no bench/ file prints any more`);
    }
  }
});

test('a table: one row per benchmark and n, medians over the runs with their range', () => {
  const rec = [
    '# run 2026-01-01T00:00:00Z commit abc load 1.0 1.0 1.0',
    'BENCH a n=10 ms=3 ops_per_s=1000',
    'BENCH a n=1000 ms=30 ops_per_s=20000',
    '# a: a note',
    '# run 2026-01-01T00:01:00Z commit abc load 1.0 1.0 1.0',
    'BENCH a n=10 ms=5 ops_per_s=1000',
    '# run 2026-01-01T00:02:00Z commit abc load 3.5 1.0 1.0',
    'BENCH a n=10 ms=4.25 ops_per_s=1000',
  ].join('\n');
  assert.is(
    table(rec, 's'),
    [
      '| benchmark | runs | ms | ops_per_s |',
      '|---|---|---|---|',
      '| `a` n=10 | 3 | 4.25 (3–5) | 1,000 |',
      '| `a` n=1000 | 1 | 30 | 20,000 |',
      '',
      'Medians of 3 recorded run(s), range in brackets; load average 1–3.5 at their start (2 cores): [bench/s.txt](bench/s.txt).',
    ].join('\n'),
  );
});

test('no other Markdown file quotes benchmark figures: docs/performance.md is the one place', () => {
  const names = [
    ...new Set([...benchSource.matchAll(/BENCH (?:\$\{[^}]*\}|([a-z][\w-]+))/g)].map((m) => m[1]).filter(Boolean)),
  ] as string[];
  for (const suite of recorded)
    for (const key of parseRecording(readFileSync(join(RECORDS, `${suite}.txt`), 'utf8')).byName.keys())
      names.push((key as string).split(' ')[0]!);
  const files = spawnSync('git', ['ls-files', '*.md'], { cwd: root, encoding: 'utf8' })
    .stdout.split('\n')
    .filter((f) => f && f !== 'docs/performance.md');
  const quotes: string[] = [];
  for (const f of files) {
    readFileSync(join(root, f), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (names.some((n) => line.includes(n)) && /\d[\d,.]*\s*(ms|µs|us|MB|%|\/s|allocations\/s)\b/.test(line))
          quotes.push(`${f}:${i + 1}: ${line.trim()}`);
      });
  }
  assert.equal(quotes, []);
});

test.run();
