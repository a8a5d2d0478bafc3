#!/usr/bin/env node
// docs/performance.md's figures come from recorded benchmark output, never by hand.
//
//   node scripts/perf-doc.mjs record SUITE [RUNS]   runs `npm run bench -- SUITE` RUNS times
//                                                  (default 3) and appends the output, with the
//                                                  date, load and commit of each run, to
//                                                  docs/bench/SUITE.txt (on a machine nothing else
//                                                  is using: the figures are only as quiet as it)
//   node scripts/perf-doc.mjs                      rewrites every generated table in the doc
//   node scripts/perf-doc.mjs --check              exits 1 when a table differs from what the
//                                                  recorded output gives (test/docs runs this)
//
// A table is generated between `<!-- bench-table: SUITE -->` and `<!-- /bench-table -->`: one
// row per benchmark of the recorded runs, each figure the median over the runs and, when the
// runs differ, their range.
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
export const DOC = join(root, 'docs/performance.md');
export const RECORDS = join(root, 'docs/bench');

/** Every `BENCH name n=N k=v ...` line of a recording, grouped by benchmark and n, in first-seen order. */
export function parseRecording(text) {
  const byName = new Map();
  const loads = [];
  let runs = 0;
  for (const line of text.split('\n')) {
    if (/^# run /.test(line)) {
      runs++;
      const load = / load ([\d.]+)/.exec(line);
      if (load) loads.push(Number(load[1]));
    }
    const m = /^BENCH (\S+) (.*)$/.exec(line.trim());
    if (!m) continue;
    const fields = Object.fromEntries(m[2].split(/\s+/).map((kv) => kv.split('=')));
    // one row per benchmark and size: alloc runs each at n=1000 and n=1000000
    const key = fields.n === undefined ? m[1] : `${m[1]} n=${fields.n}`;
    if (!byName.has(key)) byName.set(key, []);
    byName.get(key).push(fields);
  }
  return { runs, loads, byName };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** A number as the bench printed it, with thousands separators for big ones. */
function fmt(x) {
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  if (Number.isInteger(x)) return String(x);
  return String(Number(x.toPrecision(3)));
}

/** The table of one recorded suite. */
export function table(text, suite) {
  const { runs, loads, byName } = parseRecording(text);
  if (byName.size === 0) throw new Error('no BENCH lines recorded');
  const keys = [];
  for (const rows of byName.values()) for (const r of rows) for (const k of Object.keys(r)) if (!keys.includes(k)) keys.push(k);
  const cols = keys.filter((k) => k !== 'n');
  const lines = [`| benchmark | runs | ${cols.join(' | ')} |`, `|---|---|${cols.map(() => '---|').join('')}`];
  for (const [name, rows] of byName) {
    const cells = cols.map((k) => {
      const xs = rows.map((r) => Number(r[k])).filter((x) => Number.isFinite(x));
      if (xs.length === 0) return '';
      const lo = Math.min(...xs);
      const hi = Math.max(...xs);
      return lo === hi ? fmt(lo) : `${fmt(median(xs))} (${fmt(lo)}–${fmt(hi)})`;
    });
    const [bench, n] = name.split(' ');
    lines.push(`| \`${bench}\`${n ? ` ${n}` : ''} | ${rows.length} | ${cells.join(' | ')} |`);
  }
  const load = loads.length
    ? `; load average ${fmt(Math.min(...loads))}${Math.min(...loads) === Math.max(...loads) ? '' : `–${fmt(Math.max(...loads))}`} at their start (2 cores)`
    : '';
  return `${lines.join('\n')}\n\nMedians of ${runs} recorded run(s), range in brackets${load}: [bench/${suite}.txt](bench/${suite}.txt).`;
}

/** The doc with every generated table rewritten from docs/bench/. */
export function generate(
  doc,
  read = (suite) => (existsSync(join(RECORDS, `${suite}.txt`)) ? readFileSync(join(RECORDS, `${suite}.txt`), 'utf8') : undefined),
) {
  return doc.replace(/(<!-- bench-table: ([\w-]+) -->\n)[\s\S]*?(<!-- \/bench-table -->)/g, (_, open, suite, close) => {
    const text = read(suite);
    const body = text === undefined ? `Not recorded yet (\`node scripts/perf-doc.mjs record ${suite}\`).` : table(text, suite);
    return `${open}${body}\n${close}`;
  });
}

function record(suite, runs) {
  mkdirSync(RECORDS, { recursive: true });
  const file = join(RECORDS, `${suite}.txt`);
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim();
  for (let i = 0; i < runs; i++) {
    const head = `# run ${new Date().toISOString()} commit ${commit} load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} (npm run bench -- ${suite})\n`;
    const r = spawnSync(process.execPath, [join(root, 'scripts/bench.mjs'), suite], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    process.stdout.write(head + r.stdout);
    if (r.status !== 0) {
      console.error(`perf-doc: npm run bench -- ${suite} failed (${r.status}); nothing recorded for this run`);
      process.exit(1);
    }
    appendFileSync(
      file,
      head +
        r.stdout
          .split('\n')
          .filter((l) => /^(BENCH|#)/.test(l))
          .join('\n') +
        '\n',
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [cmd, a, b] = process.argv.slice(2);
  if (cmd === 'record') {
    if (!a) throw new Error('usage: node scripts/perf-doc.mjs record SUITE [RUNS]');
    record(a, Number(b ?? 3));
  } else {
    const doc = readFileSync(DOC, 'utf8');
    const next = generate(doc);
    if (cmd === '--check') {
      if (next !== doc) {
        console.error('docs/performance.md: a generated table differs from docs/bench/ (node scripts/perf-doc.mjs rewrites it)');
        process.exit(1);
      }
    } else if (next !== doc) {
      writeFileSync(DOC, next);
      console.log('docs/performance.md rewritten from docs/bench/');
    }
  }
}
