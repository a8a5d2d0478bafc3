// The data directory as the shipped CLI (bin/ipam-injector) treats it: one server per
// directory, even across PID namespaces (two containers on one volume), and a start that
// fails leaves the directory exactly as it found it; a log that lost records is refused.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { decodeFrames } from '../../src/server/store/frame.js';
import { cleanup, root, tmp, writeSeed } from './helpers.js';

const bin = join(root, 'bin/ipam-injector');
if (!existsSync(join(root, 'dist/ipam-injector.mjs'))) throw new Error('dist/ is not built: run npm run build (npm test does)');

/** Each server in a PID namespace of its own, where it is pid 1, when this machine allows it. */
const unshare = spawnSync('unshare', ['--pid', '--fork', 'true']).status === 0;
const command = (args: string[], own: boolean) =>
  (own && unshare
    ? ['unshare', ['--pid', '--fork', '--kill-child', process.execPath, bin, ...args]]
    : [process.execPath, [bin, ...args]]) as [string, string[]];

interface Run {
  log: () => string;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): void;
}

/** `serve` with args; `ownPidNamespace`: under unshare, which passes on no signal, so stop()
 *  signals the server inside (unshare's child) and unshare exits with its status. */
function serve(args: string[], ownPidNamespace = false): Run {
  const [cmd, argv] = command(['serve', ...args], ownPidNamespace);
  const proc = spawn(cmd, argv);
  let log = '';
  proc.stderr.on('data', (d) => (log += d));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  const inside = () => {
    if (!(ownPidNamespace && unshare)) return proc.pid!;
    const children = readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, 'utf8').trim();
    return Number(children.split(' ')[0]) || proc.pid!;
  };
  return { log: () => log, exited, stop: (signal = 'SIGTERM') => process.kill(inside(), signal) };
}

async function serving(r: Run): Promise<void> {
  for (let t = 0; !/"msg":"serving"/.test(r.log()); t++) {
    if (t > 400) throw new Error(`not serving after 20 s:\n${r.log()}`);
    await new Promise((ok) => setTimeout(ok, 50));
  }
}

/** Every file under dir with a hash of its bytes: equal listings mean nothing changed. */
function listing(dir: string): string[] {
  if (!existsSync(dir)) return ['(no directory)'];
  return readdirSync(dir)
    .sort()
    .map(
      (f) =>
        `${f} ${createHash('sha256')
          .update(readFileSync(join(dir, f)))
          .digest('hex')}`,
    );
}

/** A port something else listens on. */
async function takenPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, server };
}

test(`two servers on one data directory${unshare ? ', each pid 1 in its own PID namespace' : ''}: the second is refused, saying why`, async () => {
  const dir = tmp();
  const data = join(dir, 'data');
  const first = serve(['--listen', '127.0.0.1:0', '--data', data, '--seed', writeSeed(dir)], true);
  try {
    await serving(first);
    const second = serve(['--listen', '127.0.0.1:0', '--data', data], true);
    const code = await Promise.race([second.exited, new Promise((r) => setTimeout(() => r('still running'), 20_000))]);
    if (code === 'still running') {
      second.stop();
      await second.exited;
    }
    assert.is(code, 1, `the second server must refuse to start:\n${second.log()}`);
    assert.match(second.log(), /data directory .* is in use by another server/);
  } finally {
    first.stop();
  }
  assert.is(await first.exited, 0, first.log());
  // once the first has stopped, the directory is free again
  const third = serve(['--listen', '127.0.0.1:0', '--data', data]);
  try {
    await serving(third);
  } finally {
    third.stop();
  }
  assert.is(await third.exited, 0, third.log());
});

test('a start that fails (gRPC port taken, metrics port taken) leaves a new data directory absent and an empty one empty', async () => {
  const dir = tmp();
  const taken = await takenPort();
  try {
    const absent = join(dir, 'absent');
    const r1 = serve(['--listen', `127.0.0.1:${taken.port}`, '--data', absent, '--seed', writeSeed(dir)]);
    assert.is(await r1.exited, 1, r1.log());
    assert.match(r1.log(), /cannot start/);
    assert.not.ok(existsSync(absent), `the directory it made is gone: ${listing(absent).join(', ')}`);
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    const r2 = serve(['--listen', '127.0.0.1:0', '--metrics', `127.0.0.1:${taken.port}`, '--data', empty]);
    assert.is(await r2.exited, 1, r2.log());
    assert.equal(readdirSync(empty), [], 'nothing left behind (no LOCK, no segments)');
  } finally {
    taken.server.close();
  }
});

test('a start that fails leaves a used data directory unchanged, after a clean stop and after kill -9', async () => {
  const dir = tmp();
  const data = join(dir, 'data');
  const seed = writeSeed(dir);
  const taken = await takenPort();
  try {
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      const s = serve(['--listen', '127.0.0.1:0', '--data', data, '--seed', seed]);
      await serving(s);
      s.stop(signal);
      await s.exited;
      const before = listing(data);
      const r = serve(['--listen', `127.0.0.1:${taken.port}`, '--data', data, '--seed', seed]);
      assert.is(await r.exited, 1, r.log());
      assert.equal(listing(data), before, `after ${signal}: the failed start changed the directory`);
    }
  } finally {
    taken.server.close();
  }
});

test('serve refuses a log that lost acknowledged records, naming the file; --repair starts and says what it dropped', async () => {
  const dir = tmp();
  const data = join(dir, 'data');
  const first = serve(['--listen', '127.0.0.1:0', '--data', data, '--seed', writeSeed(dir)]);
  await serving(first);
  first.stop();
  assert.is(await first.exited, 0);
  // the seed's record and the close marker: cut the close marker off (a cut at a frame boundary)
  const seg = readdirSync(data)
    .filter((f) => /^wal-\d+\.log$/.test(f))
    .sort()
    .at(-1)!;
  const buf = readFileSync(join(data, seg));
  const frames = decodeFrames(buf, 16);
  writeFileSync(join(data, seg), buf.subarray(0, frames.end - 8 - frames.payloads.at(-1)!.length));
  const refused = serve(['--listen', '127.0.0.1:0', '--data', data]);
  assert.is(await refused.exited, 1, refused.log());
  assert.match(
    refused.log(),
    new RegExp(`"level":"error","msg":"cannot start".*${seg.replace('.', '\\.')}: ends at offset \\d+ right after a record`),
  );
  const repaired = serve(['--listen', '127.0.0.1:0', '--data', data, '--repair']);
  await serving(repaired);
  repaired.stop();
  assert.is(await repaired.exited, 0);
  assert.match(repaired.log(), /"level":"error","msg":"REPAIR: /);
  const again = serve(['--listen', '127.0.0.1:0', '--data', data]);
  await serving(again);
  again.stop();
  assert.is(await again.exited, 0, again.log());
});

test.after(() => cleanup());
test.run();
