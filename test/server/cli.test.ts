// The shipped CLI (bin/ipam-injector, the esbuild bundle): serve's flags and failures,
// get's table / yaml / json output, graceful SIGTERM.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { credentials } from '@grpc/grpc-js';
import { clientConstructor } from '../../src/protocol/load.js';
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

/** The bundled server on a free port; resolves once it serves. */
async function serveBundled(args: string[]) {
  const server = spawn(process.execPath, [bin, 'serve', '--listen', '127.0.0.1:0', ...args]);
  const out = { log: '' };
  server.stderr.on('data', (d) => (out.log += d));
  const exited = new Promise<number | null>((r) => server.on('exit', r));
  const address = await new Promise<string>((ok, ko) => {
    const t = setTimeout(() => ko(new Error(out.log)), 20_000);
    server.stderr.on('data', () => {
      const m = /"msg":"serving","address":"([^"]+)"/.exec(out.log);
      if (m) {
        clearTimeout(t);
        ok(m[1]!);
      }
    });
  });
  return { server, out, exited, address };
}

test('serve (bundled) + get: table, yaml, json; graceful SIGTERM', async () => {
  const dir = tmp();
  const { server, out, exited, address } = await serveBundled(['--data', join(dir, 'data'), '--seed', writeSeed(dir)]);
  try {
    const empty = await runAsync(['get', 'allocations', '--server', address]);
    assert.is(empty.status, 0, empty.stderr);
    assert.is(empty.stdout, 'No allocations found.\n');
    const pfx = await runAsync(['get', 'prefixes', '--server', address]);
    assert.is(pfx.status, 0, pfx.stderr);
    const lines = pfx.stdout.trim().split('\n');
    assert.match(lines[0]!, /^NETWORK-INSTANCE\s+PREFIX\s+KIND\s+FAMILY\s+USED\s+FREE\s+TOTAL\s+UTILIZATION\s+OWNER$/);
    assert.ok(
      lines.some((l) => /^default\/vpc\s+10\.0\.1\.0\/24\s+network\s+ipv4\s+3\s+253\s+256\s+1\.1%\s+seed\|default\/IPPrefix\/n3$/.test(l)),
      pfx.stdout,
    );
    assert.ok(
      lines.some((l) =>
        /2001:db8::\/32\s+aggregate\s+ipv6\s+0\s+79228162514264337593543950336\s+79228162514264337593543950336\s+0\.0%/.test(l),
      ),
      pfx.stdout,
    );
    const ni = await runAsync(['get', 'network-instances', '--server', address, '-o', 'yaml']);
    assert.is(ni.status, 0);
    const doc = parse(ni.stdout);
    assert.is(doc.kind, 'List');
    assert.equal(
      doc.items.map((x: { name: string }) => x.name),
      ['vpc'],
    );
    const json = await runAsync(['get', 'prefixes', '--server', address, '-o', 'json', '--network-instance', 'vpc']);
    const pj = JSON.parse(json.stdout);
    assert.is(pj.items.find((p: { prefix: string }) => p.prefix === '10.0.1.0/24').utilization.total, '256');
    const what = await runAsync(['get', 'things', '--server', address]);
    assert.is(what.status, 2);
  } finally {
    server.kill('SIGTERM');
  }
  assert.is(await exited, 0);
  assert.match(out.log, /"msg":"stopped"/);
  const down = await runAsync(['get', 'allocations', '--server', address, '--timeout', '1s']);
  assert.is(down.status, 1);
  assert.match(down.stderr, /get: /);
});

test('serve (bundled): snapshots are rebuilt from the log in the background, logged, and a restart starts from them', async () => {
  const dir = tmp();
  const data = join(dir, 'data');
  const seed = writeSeed(dir);
  const first = await serveBundled(['--data', data, '--seed', seed, '--compact-bytes', '4096']);
  const Admin = clientConstructor('admin');
  const client = new Admin(first.address, credentials.createInsecure()) as unknown as {
    Batch(req: unknown, cb: (e: Error | null, r: unknown) => void): void;
    close(): void;
  };
  try {
    for (let b = 0; b < 20; b++) {
      const requests = Array.from({ length: 10 }, (_, k) => ({
        owner: `default/IPClaim/c${b}-${k}`,
        networkInstance: { name: 'vpc' },
        kind: 'network',
        selector: { matchLabels: { 'nephio.org/network-name': 'n3' } },
      }));
      await new Promise((ok, ko) => client.Batch({ package: 'pkg', requests }, (e: Error | null, r: unknown) => (e ? ko(e) : ok(r))));
    }
  } finally {
    client.close();
    first.server.kill('SIGTERM'); // waits for a compaction in flight
  }
  assert.is(await first.exited, 0);
  assert.match(first.out.log, /"msg":"compacted: snap-\d+\.snap written, older segments deleted"/);
  assert.not.match(first.out.log, /"level":"error"/);
  assert.ok(
    readdirSync(data).some((f) => f.endsWith('.snap')),
    readdirSync(data).join(' '),
  );
  const again = await serveBundled(['--data', data]);
  try {
    assert.match(again.out.log, /recovered snapshot snap-/);
    const got = await runAsync(['get', 'allocations', '--server', again.address, '-o', 'json']);
    assert.is(got.status, 0, got.stderr);
    assert.is(JSON.parse(got.stdout).items.length, 200);
  } finally {
    again.server.kill('SIGTERM');
  }
  assert.is(await again.exited, 0);
});

test.after(() => cleanup());
test.run();
