// Every way of losing acknowledged records from the file store's directory is detected: the
// store refuses to open, naming the file, and --repair keeps the log up to the loss (reported,
// the rest set aside), after which it opens normally. What a crash leaves is not a loss.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore, segmentName } from '../../src/server/store/file-store.js';
import { decodeFrames, encodeFrame } from '../../src/server/store/frame.js';
import type { Op } from '../../src/server/store/ops.js';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'ipam-loss-'));
  dirs.push(d);
  return d;
}

const alloc = (i: number): Op => ({
  op: 'allocate',
  req: { owner: `pkg|default/IPClaim/c${i}`, networkInstance: { name: 'vpc' }, kind: 'network' },
  prefix: `10.0.${i >> 8}.${i & 255}/32`,
});

/** Where frames start in a segment (after its header, whatever the version). */
const frameStart = (buf: Buffer) => (buf.subarray(0, 8).toString('latin1') === 'IPAMWAL2' ? 16 : 8);

/** Offsets just past each frame of segment `seq`. */
function frameEnds(dir: string, seq: number): number[] {
  const buf = readFileSync(join(dir, segmentName(seq)));
  const out: number[] = [];
  let off = frameStart(buf);
  for (const p of decodeFrames(buf, off).payloads) out.push((off += 8 + p.length));
  return out;
}

/** A store that logged `n` records, one per commit, and was closed (SIGTERM). */
async function logged(n: number, segmentSize?: number): Promise<string> {
  const dir = tmp();
  const s = new FileStore({ dir, ...(segmentSize ? { segmentSize } : {}) });
  await s.open();
  for (let i = 0; i < n; i++) await s.commit([alloc(i)]);
  await s.close();
  return dir;
}

const segs = (dir: string) =>
  readdirSync(dir)
    .filter((f) => /^wal-\d{10}\.log$/.test(f))
    .sort();

/** Opening must refuse, naming `file`; then --repair opens with an error report, and after it a plain open works. */
async function refusedThenRepaired(dir: string, file: RegExp, keep: number): Promise<void> {
  const err = await new FileStore({ dir }).open().then(
    () => undefined,
    (e: Error) => e,
  );
  assert.ok(err, 'the store must refuse to open');
  assert.match(err!.message, file);
  assert.match(err!.message, /--repair/);
  assert.not.ok(existsSync(join(dir, 'LOCK')), 'a refusal leaves no LOCK');
  const repaired = new FileStore({ dir, repair: true });
  const st = await repaired.open();
  assert.is(st.records.length, keep, 'repair keeps the records before the loss');
  assert.ok(
    st.report.some((n) => n.level === 'error' && /REPAIR/.test(n.msg)),
    'and says so at error level',
  );
  await repaired.commit([alloc(1000)]);
  await repaired.close();
  const again = new FileStore({ dir });
  const st2 = await again.open();
  assert.is(st2.records.length, keep + 1, 'a repaired log opens without --repair, the new record after the kept ones');
  await again.close();
}

test('the newest segment cut at a frame boundary after a clean close is refused', async () => {
  const dir = await logged(10);
  truncateSync(join(dir, segmentName(1)), frameEnds(dir, 1)[6]!);
  await refusedThenRepaired(dir, /wal-0000000001\.log/, 7);
});

test('the newest segment zeroed from a frame boundary after a clean close is refused', async () => {
  const dir = await logged(10);
  const path = join(dir, segmentName(1));
  const buf = readFileSync(path);
  buf.fill(0, frameEnds(dir, 1)[6]!);
  writeFileSync(path, buf);
  await refusedThenRepaired(dir, /wal-0000000001\.log/, 7);
});

test('a segment cut to its header is refused', async () => {
  const dir = await logged(10);
  const path = join(dir, segmentName(1));
  truncateSync(path, frameStart(readFileSync(path)));
  await refusedThenRepaired(dir, /wal-0000000001\.log/, 0);
});

test('the newest segment deleted is refused', async () => {
  const dir = await logged(150, 4096);
  const all = segs(dir);
  assert.ok(all.length >= 3, all.join(' '));
  rmSync(join(dir, all.at(-1)!));
  const kept = recordsIn(dir, all.slice(0, -1));
  await refusedThenRepaired(dir, new RegExp(all.at(-1)!.replace('.', '\\.')), kept);
});

test('a middle segment deleted is refused', async () => {
  const dir = await logged(150, 4096);
  const all = segs(dir);
  rmSync(join(dir, all[1]!));
  await refusedThenRepaired(dir, new RegExp(all[1]!.replace('.', '\\.')), recordsIn(dir, all.slice(0, 1)));
});

test('an older segment zeroed from a frame boundary (its size kept) is refused', async () => {
  const dir = await logged(150, 4096);
  const path = join(dir, segmentName(1));
  const ends = frameEnds(dir, 1);
  const buf = readFileSync(path);
  buf.fill(0, ends[ends.length - 3]!);
  writeFileSync(path, buf);
  await refusedThenRepaired(dir, /wal-0000000001\.log/, ends.length - 2);
});

test('a damaged last record after a clean close is damage, not a torn tail: refused', async () => {
  const dir = await logged(10);
  const path = join(dir, segmentName(1));
  const buf = readFileSync(path);
  const ends = frameEnds(dir, 1);
  const lastRecord = ends[9]! - 3; // inside the payload of the 10th record
  buf[lastRecord] ^= 0x55;
  writeFileSync(path, buf);
  await refusedThenRepaired(dir, /wal-0000000001\.log: damaged record/, 9);
});

test('a crash (no close) is not a loss: every record reads, a torn write after them is cut', async () => {
  const dir = tmp();
  const s = new FileStore({ dir, segmentSize: 4096 });
  await s.open();
  for (let i = 0; i < 30; i++) await s.commit([alloc(i)]);
  await crash(s);
  const seq = Number(
    segs(dir)
      .filter((f) => frameEnds(dir, Number(f.slice(4, 14))).length > 0)
      .at(-1)!
      .slice(4, 14),
  );
  const path = join(dir, segmentName(seq));
  const buf = readFileSync(path);
  const end = frameEnds(dir, seq).at(-1)!;
  buf.fill(0x42, end, end + 20); // the write in flight: never acknowledged
  writeFileSync(path, buf);
  const s2 = new FileStore({ dir, segmentSize: 4096 });
  const st = await s2.open();
  assert.is(st.records.length, 30);
  assert.ok(st.report.some((n) => n.level === 'warn' && /torn tail/.test(n.msg)));
  await s2.close();
});

test('a crash while a start cuts a torn tail, before it seals the segment, is still only a crash', async () => {
  const dir = tmp();
  const s = new FileStore({ dir });
  await s.open();
  for (let i = 0; i < 10; i++) await s.commit([alloc(i)]);
  await crash(s);
  const path = join(dir, segmentName(1));
  const buf = readFileSync(path);
  const end = frameEnds(dir, 1).at(-1)!;
  buf.fill(0x42, end, end + 20);
  writeFileSync(path, buf);
  const { readLog } = await import('../../src/server/store/log-reader.js');
  const { repairLog } = await import('../../src/server/store/log-repair.js');
  repairLog(dir, readLog(dir), () => {}); // the start's first step, then the crash
  const fd = openSync(path, 'r+'); // and the seal it began to write, torn
  writeSync(fd, Buffer.alloc(10, 0x43), 0, 10, end);
  closeSync(fd);
  const s2 = new FileStore({ dir });
  const st = await s2.open();
  assert.is(st.records.length, 10);
  await s2.close();
});

test('after a restart, deleting the segments the restart wrote is refused (the one before names its successor)', async () => {
  const dir = await logged(5);
  const s = new FileStore({ dir });
  await s.open();
  for (let i = 5; i < 9; i++) await s.commit([alloc(i)]);
  await s.close();
  assert.equal(segs(dir), [segmentName(1), segmentName(2)], 'a restart writes on in a new segment');
  rmSync(join(dir, segmentName(2)));
  await refusedThenRepaired(dir, /wal-0000000002\.log/, 5);
});

test('a compacted log: the segment after the snapshot deleted is refused', async () => {
  const dir = tmp();
  const { LiveIpam } = await import('../../src/server/live.js');
  const live = new LiveIpam();
  live.current = { snapshot: () => ({ version: 1, networkInstances: [], prefixes: [], allocations: [] }) } as never;
  const s = new FileStore({ dir, compactBytes: 1024, segmentSize: 4096, live });
  await s.open();
  for (let i = 0; i < 80; i++) await s.commit([alloc(i)]);
  await s.close();
  const snaps = readdirSync(dir).filter((f) => f.endsWith('.snap'));
  assert.ok(snaps.length > 0, 'compacted');
  for (const f of segs(dir)) rmSync(join(dir, f));
  const err = await new FileStore({ dir }).open().then(
    () => undefined,
    (e: Error) => e,
  );
  assert.ok(err);
  assert.match(err!.message, /is missing/);
});

test('segments of the previous format (IPAMWAL1, records v1/v2) still read; the upgrade seals them', async () => {
  const dir = tmp();
  const v1 = Buffer.from(JSON.stringify([alloc(0)]));
  const v2 = Buffer.from(
    '{"r":2,"s":[{"networkInstance":{"name":"vpc"},"kind":"network"}],"o":[[0,"pkg|default/IPClaim/c1","10.0.0.1/32"]]}',
  );
  writeFileSync(join(dir, segmentName(1)), Buffer.concat([Buffer.from('IPAMWAL1'), encodeFrame(v1), encodeFrame(v2)]));
  const s = new FileStore({ dir });
  const st = await s.open();
  assert.equal(st.records, [[alloc(0)], [alloc(1)]]);
  assert.equal(
    st.report.filter((n) => n.level !== 'info'),
    [],
  );
  await s.commit([alloc(2)]);
  await s.close();
  const s2 = new FileStore({ dir });
  assert.is((await s2.open()).records.length, 3);
  await s2.close();
  // the old segment now names its successor: deleting that is a loss like any other
  rmSync(join(dir, segmentName(3)));
  rmSync(join(dir, segmentName(2)));
  const err = await new FileStore({ dir }).open().then(
    () => undefined,
    (e: Error) => e,
  );
  assert.ok(err, 'refused');
  assert.match(err!.message, /wal-0000000002\.log/);
});

/** The records (not end markers) in the given segment files. */
function recordsIn(dir: string, files: string[]): number {
  let n = 0;
  for (const f of files) {
    const buf = readFileSync(join(dir, f));
    n += decodeFrames(buf, frameStart(buf)).payloads.filter((p) => !p.toString('utf8').includes('"end":')).length;
  }
  return n;
}

/** Drops a store the way kill -9 would (see store.test.ts). */
async function crash(s: FileStore): Promise<void> {
  const x = s as unknown as { lock?: { release(remove: boolean): void }; next?: { ready: Promise<number> } };
  await x.next?.ready.catch(() => {});
  x.lock?.release(false);
  x.lock = undefined;
}

test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test.run();
