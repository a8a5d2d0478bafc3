// The shipped CLI (bin/ipam-injector, the esbuild bundle): serve's flags and failures,
// get's table / yaml / json output, graceful SIGTERM.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { cleanup, root, tmp, writeSeed } from './helpers.js';

const bin = join(root, 'bin/ipam-injector');
if (!existsSync(join(root, 'dist/ipam-injector.mjs'))) throw new Error('dist/ is not built: run npm run build (npm test does)');

const run = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 20_000 });
/** Async, for calls to a server this test runs as a child (the event loop must stay free). */
const runAsync = (args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    const c = spawn(process.execPath, [bin, ...args]);
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    c.on('close', (status) => resolve({ status, stdout, stderr }));
  });

test('serve: --help, bad flags (2), bad settings (1, a JSON log line saying why)', () => {
  const help = run(['serve', '--help']);
  assert.is(help.status, 0);
  assert.match(help.stdout, /--token-file F/);
  const bad = run(['serve', '--no-such-flag']);
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /no-such-flag/);
  const store = run(['serve', '--store', 'nope', '--listen', '127.0.0.1:0']);
  assert.is(store.status, 1);
  const line = JSON.parse(store.stderr.trim().split('\n').pop()!);
  assert.is(line.level, 'error');
  assert.match(line.error, /--store must be file/);
});

test('serve refuses a damaged data directory and names the file', () => {
  const data = join(tmp(), 'data');
  mkdirSync(data);
  writeFileSync(join(data, 'wal-0000000001.log'), 'definitely not a log segment');
  const r = run(['serve', '--listen', '127.0.0.1:0', '--data', data]);
  assert.is(r.status, 1);
  assert.match(r.stderr, /wal-0000000001\.log: not an ipam-injector log segment/);
});

test('serve (bundled) + get: table, yaml, json; graceful SIGTERM', async () => {
  const dir = tmp();
  const server = spawn(process.execPath, [bin, 'serve', '--listen', '127.0.0.1:0', '--data', join(dir, 'data'), '--seed', writeSeed(dir)]);
  let log = '';
  server.stderr.on('data', (d) => (log += d));
  const exited = new Promise<number | null>((r) => server.on('exit', r));
  const address = await new Promise<string>((ok, ko) => {
    const t = setTimeout(() => ko(new Error(log)), 20_000);
    server.stderr.on('data', () => {
      const m = /"msg":"serving","address":"([^"]+)"/.exec(log);
      if (m) {
        clearTimeout(t);
        ok(m[1]!);
      }
    });
  });
  try {
    const empty = await runAsync(['get', 'allocations', '--server', address]);
    assert.is(empty.status, 0, empty.stderr);
    assert.is(empty.stdout, 'No allocations found.\n');
    const pfx = await runAsync(['get', 'prefixes', '--server', address]);
    assert.is(pfx.status, 0, pfx.stderr);
    const lines = pfx.stdout.trim().split('\n');
    assert.match(lines[0]!, /^NETWORK-INSTANCE\s+PREFIX\s+KIND\s+FAMILY\s+USED\s+FREE\s+TOTAL\s+UTILIZATION\s+OWNER$/);
    assert.ok(lines.some((l) => /^default\/vpc\s+10\.0\.1\.0\/24\s+network\s+ipv4\s+3\s+253\s+256\s+1\.1%\s+seed\|default\/IPPrefix\/n3$/.test(l)), pfx.stdout);
    assert.ok(lines.some((l) => /2001:db8::\/32\s+aggregate\s+ipv6\s+0\s+79228162514264337593543950336\s+79228162514264337593543950336\s+0\.0%/.test(l)), pfx.stdout);
    const ni = await runAsync(['get', 'network-instances', '--server', address, '-o', 'yaml']);
    assert.is(ni.status, 0);
    const doc = parse(ni.stdout);
    assert.is(doc.kind, 'List');
    assert.equal(doc.items.map((x: { name: string }) => x.name), ['vpc']);
    const json = await runAsync(['get', 'prefixes', '--server', address, '-o', 'json', '--network-instance', 'vpc']);
    const pj = JSON.parse(json.stdout);
    assert.is(pj.items.find((p: { prefix: string }) => p.prefix === '10.0.1.0/24').utilization.total, '256');
    const what = await runAsync(['get', 'things', '--server', address]);
    assert.is(what.status, 2);
  } finally {
    server.kill('SIGTERM');
  }
  assert.is(await exited, 0);
  assert.match(log, /"msg":"stopped"/);
  const down = await runAsync(['get', 'allocations', '--server', address, '--timeout', '1s']);
  assert.is(down.status, 1);
  assert.match(down.stderr, /get: /);
});

test.after(() => cleanup());
test.run();
