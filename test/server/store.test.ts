// The embedded file store: durability round trip, group commit, torn/corrupt tails,
// compaction, locking. Real files in a temporary directory.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  appendFileSync,
  constants,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore, segmentName } from '../../src/server/store/file-store.js';
import { SEGMENT_HEADER } from '../../src/server/store/segment-file.js';
import { decodeFrames, encodeFrame } from '../../src/server/store/frame.js';
import { encodeSnapshotFrame } from '../../src/server/store/snapshot-writer.js';
import { MemoryStore } from '../../src/server/store/memory-store.js';
import type { Op } from '../../src/server/store/ops.js';
import { StoreCorruptError } from '../../src/server/store/store.js';
import type { Allocation, Ipam, Snapshot } from '../../src/ipam/types.js';
import { LiveIpam } from '../../src/server/live.js';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'ipam-store-'));
  dirs.push(d);
  return d;
}

function alloc(i: number): Op {
  const result: Allocation = {
    owner: `pkg|default/IPClaim/c${i}`,
    networkInstance: { name: 'vpc', namespace: 'default' },
    kind: 'network',
    addressFamily: 'ipv4',
    prefix: `10.0.${i >> 8}.${i & 255}/16`,
    parent: '10.0.0.0/16',
    labels: {},
  };
  return { op: 'allocate', req: { owner: result.owner, networkInstance: { name: 'vpc' }, kind: 'network' }, prefix: result.prefix };
}

/** A live allocator that only answers snapshot() (what the stores read for compaction). */
function liveOf(snapshot: () => Snapshot): LiveIpam {
  const live = new LiveIpam();
  live.current = { snapshot } as unknown as Ipam;
  return live;
}

/** Drops a store the way kill -9 would: nothing more is written, the lock goes with the
 *  "process" (the prepared next segment is let finish: a crash may come before or after). */
async function crash(s: FileStore): Promise<void> {
  const x = s as unknown as { lock?: { release(remove: boolean): void }; next?: { ready: Promise<number> } };
  await x.next?.ready.catch(() => {});
  x.lock?.release(false);
  x.lock = undefined;
}

const H = SEGMENT_HEADER;
const owners = (records: Op[][]) => records.flat().map((o) => (o.op === 'allocate' ? o.req.owner : o.op));

test('records committed are there after reopen, in order', async () => {
  const dir = tmp();
  const s = new FileStore({ dir });
  const st = await s.open();
  assert.equal(st.records, []);
  await s.commit([alloc(1)]);
  await s.commit([alloc(2), alloc(3)]);
  await s.commit([]); // barrier: no record
  await s.close();
  const s2 = new FileStore({ dir });
  const st2 = await s2.open();
  assert.equal(st2.records.length, 2);
  assert.equal(owners(st2.records), ['pkg|default/IPClaim/c1', 'pkg|default/IPClaim/c2', 'pkg|default/IPClaim/c3']);
  assert.equal(
    st2.report.filter((n) => n.level !== 'info'),
    [],
  );
  await s2.close();
});

test('group commit: concurrent commits share flushes, each resolves only after its flush', async () => {
  const dir = tmp();
  const s = new FileStore({ dir });
  await s.open();
  const done: number[] = [];
  await Promise.all(Array.from({ length: 500 }, (_, i) => s.commit([alloc(i)]).then(() => done.push(i))));
  const st = s.stats();
  assert.is(st.records, 500);
  assert.is(done.length, 500);
  assert.ok(st.flushes < 50, `expected few flushes for 500 concurrent commits, got ${st.flushes}`);
  // Every resolved commit is in the file now (read it independently of the store, before
  // the close trims the preallocated zeros).
  const dec = decodeFrames(readFileSync(join(dir, segmentName(1))), H);
  assert.is(dec.payloads.length, 500);
  assert.is(dec.end, H + st.bytes);
  await s.close();
  const closed = decodeFrames(readFileSync(join(dir, segmentName(1))), H);
  assert.is(closed.payloads.length, 501, 'close adds its end marker');
  assert.is(statSync(join(dir, segmentName(1))).size, closed.end, 'and trims the zeros');
});

/** open(2) flags of this process's descriptors on `path` (Linux /proc), one entry per fd. */
function openFlags(path: string): number[] {
  const out: number[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    let target = '';
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // the directory listing's own fd, gone by now
    }
    if (target !== path) continue;
    const flags = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
    if (flags) out.push(parseInt(flags, 8));
  }
  return out;
}

test('the log is written O_DSYNC (a flush returns only once synced), new and reopened segments', async () => {
  if (process.platform !== 'linux') return;
  const dir = tmp();
  const seg = join(dir, segmentName(1));
  const s = new FileStore({ dir });
  await s.open();
  await s.commit([alloc(0)]);
  const fresh = openFlags(seg);
  assert.is(fresh.length, 1, 'one descriptor on the new segment');
  assert.ok(fresh[0]! & constants.O_DSYNC, `new segment opened without O_DSYNC (flags ${fresh[0]!.toString(8)})`);
  await s.close();
  assert.equal(openFlags(seg), [], 'close releases the segment');
  const s2 = new FileStore({ dir });
  await s2.open();
  const reopened = openFlags(join(dir, segmentName(2))); // a restart writes on in a new segment
  assert.is(reopened.length, 1);
  assert.ok(reopened[0]! & constants.O_DSYNC, `reopened segment without O_DSYNC (flags ${reopened[0]!.toString(8)})`);
  await s2.commit([alloc(1)]);
  await s2.close();
});

test('a crash (no close): the preallocated zero tail is the clean end; nothing lost, no warning', async () => {
  const dir = tmp();
  const s = new FileStore({ dir });
  await s.open();
  for (let i = 0; i < 20; i++) await s.commit([alloc(i)]);
  await crash(s); // like kill -9, the segment keeps its zero tail
  assert.ok(statSync(join(dir, segmentName(1))).size >= 4 * 1024 * 1024, 'segment is preallocated');
  const s2 = new FileStore({ dir });
  const st = await s2.open();
  assert.is(st.records.length, 20);
  assert.equal(
    st.report.filter((n) => n.level !== 'info'),
    [],
  );
  await s2.commit([alloc(20)]);
  await s2.close();
  const s3 = new FileStore({ dir });
  assert.is((await s3.open()).records.length, 21);
  await s3.close();
});

test('torn tail (partial last write) is cut off, saved and reported; earlier records kept', async () => {
  const dir = tmp();
  const s = new FileStore({ dir });
  await s.open();
  for (let i = 0; i < 5; i++) await s.commit([alloc(i)]);
  await s.close();
  const seg = join(dir, segmentName(1));
  const good = statSync(seg).size;
  // A frame header that promises 100 bytes, followed by only 10.
  const partial = Buffer.alloc(18, 0x41);
  partial.writeUInt32LE(100, 0);
  partial.writeUInt32LE(12345, 4);
  appendFileSync(seg, partial);
  const notes: string[] = [];
  const s2 = new FileStore({ dir, onNote: (n) => notes.push(`${n.level}: ${n.msg}`) });
  const st = await s2.open();
  assert.is(st.records.length, 5);
  const warn = st.report.find((n) => n.level === 'warn');
  assert.ok(warn, 'a torn tail must be reported');
  assert.match(warn!.msg, /torn tail/);
  assert.is(warn!.offset, good);
  assert.is(warn!.bytes, 18);
  assert.ok(notes.some((n) => n.startsWith('warn: ')));
  assert.ok(decodeFrames(readFileSync(seg), H).end > good, 'the torn bytes are cut (and the segment sealed after its records)');
  assert.ok(existsSync(join(dir, `${segmentName(1)}.torn-${good}`)));
  // Appending after the cut works and survives another reopen.
  await s2.commit([alloc(99)]);
  await s2.close();
  const s3 = new FileStore({ dir });
  const st3 = await s3.open();
  assert.is(st3.records.length, 6);
  assert.equal(
    st3.report.filter((n) => n.level !== 'info'),
    [],
  );
  await s3.close();
});

test('a torn write inside the zero tail is cut at the record boundary, only its bytes saved', async () => {
  const dir = tmp();
  const s = new FileStore({ dir });
  await s.open();
  await s.commit([alloc(1)]);
  await crash(s); // then garbage where the next record would have gone, zeros after it
  const seg = join(dir, segmentName(1));
  const end = decodeFrames(readFileSync(seg), H).end;
  const buf = readFileSync(seg);
  buf.fill(0x42, end, end + 30);
  writeFileSync(seg, buf);
  const s2 = new FileStore({ dir });
  const st = await s2.open();
  assert.is(st.records.length, 1);
  const warn = st.report.find((n) => n.level === 'warn')!;
  assert.match(warn.msg, /torn tail/);
  assert.is(warn.offset, end);
  assert.is(warn.bytes, 30);
  assert.is(readFileSync(join(dir, `${segmentName(1)}.torn-${end}`)).length, 30);
  await s2.close();
});

test('corruption in the middle of the log refuses to open; --repair truncates with an error report', async () => {
  const dir = tmp();
  const s = new FileStore({ dir });
  await s.open();
  for (let i = 0; i < 10; i++) await s.commit([alloc(i)]);
  await s.close();
  const seg = join(dir, segmentName(1));
  const buf = readFileSync(seg);
  // Flip one payload byte of the 3rd record.
  let off = H;
  for (let r = 0; r < 2; r++) off += 8 + buf.readUInt32LE(off);
  buf[off + 8 + 5] ^= 0xff;
  writeFileSync(seg, buf);
  const s2 = new FileStore({ dir });
  try {
    await s2.open();
    assert.unreachable('must refuse');
  } catch (e) {
    assert.instance(e, StoreCorruptError);
    assert.match((e as Error).message, /CRC mismatch/);
    assert.match((e as Error).message, /8 good record\(s\) follow/); // 7 records and the close marker
    assert.is((e as StoreCorruptError).offset, off);
  }
  assert.is(readFileSync(seg).length, buf.length, 'refusing must not touch the file');
  const s3 = new FileStore({ dir, repair: true });
  const st = await s3.open();
  assert.is(st.records.length, 2);
  const err = st.report.find((n) => n.level === 'error');
  assert.ok(err);
  assert.match(err!.msg, /REPAIR/);
  assert.match(err!.msg, /8 good record/);
  await s3.close();
  assert.ok(existsSync(join(dir, `${segmentName(1)}.dropped-${off}`)), 'the dropped bytes are kept beside the segment');
  const s4 = new FileStore({ dir });
  assert.is((await s4.open()).records.length, 2, 'a repaired log opens without --repair');
  await s4.close();
});

test('a file that is not a segment is refused', async () => {
  const dir = tmp();
  writeFileSync(join(dir, segmentName(1)), 'hello world, not a log');
  try {
    await new FileStore({ dir }).open();
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /bad magic/);
  }
});

/** Segment numbers in dir, ascending. */
const segments = (dir: string) =>
  readdirSync(dir)
    .flatMap((f) => (/^wal-(\d+)\.log$/.exec(f) ? [Number(f.slice(4, 14))] : []))
    .sort((a, b) => a - b);

/** Resolves once the store has prepared segment `seq` in the background. */
async function prepared(dir: string, seq: number): Promise<void> {
  for (let t = 0; !existsSync(join(dir, segmentName(seq))); t++) {
    if (t > 2000) throw new Error(`${segmentName(seq)} was never prepared`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('a full segment hands over to the next, prepared in the background at full size; none is ever grown', async () => {
  const dir = tmp();
  const size = 4096;
  const s = new FileStore({ dir, segmentSize: size });
  await s.open();
  await prepared(dir, 2);
  assert.is(statSync(join(dir, segmentName(1))).size, size, 'the first segment is created at full size');
  assert.is(statSync(join(dir, segmentName(2))).size, size, 'the next one is ready before it is needed');
  let n = 0;
  while (s.stats().bytes < 4 * size) await s.commit([alloc(n++)]);
  const records = (q: number) => decodeFrames(readFileSync(join(dir, segmentName(q))), H).payloads.length;
  const segs = segments(dir);
  assert.ok(segs.filter((q) => records(q) > 0).length >= 5, `${s.stats().bytes} bytes of records in 4 KiB segments: ${segs.join(' ')}`);
  for (const q of segs) assert.is(statSync(join(dir, segmentName(q))).size, size, `${segmentName(q)} keeps its size`);
  await s.close();
  const after = segments(dir);
  assert.ok(
    after.every((q) => records(q) > 0),
    'close removes the prepared segment nobody wrote',
  );
  assert.ok(statSync(join(dir, segmentName(after.at(-1)!))).size < size, 'and trims the current one');
  const s2 = new FileStore({ dir, segmentSize: size });
  const st = await s2.open();
  assert.equal(
    owners(st.records),
    Array.from({ length: n }, (_, i) => `pkg|default/IPClaim/c${i}`),
  );
  assert.equal(
    st.report.filter((n) => n.level !== 'info'),
    [],
  );
  await s2.close();
});

test('a torn tail stays a torn tail when an unwritten prepared segment follows it (crash)', async () => {
  const dir = tmp();
  const s = new FileStore({ dir, segmentSize: 4096 });
  await s.open();
  for (let i = 0; i < 5; i++) await s.commit([alloc(i)]);
  await prepared(dir, 2);
  // crash (no close) during the next write: its first bytes reached segment 1, segment 2 is empty
  await crash(s);
  const seg = join(dir, segmentName(1));
  const buf = readFileSync(seg);
  const end = decodeFrames(buf, H).end;
  buf.fill(0x42, end, end + 30);
  writeFileSync(seg, buf);
  const s2 = new FileStore({ dir, segmentSize: 4096 });
  const st = await s2.open();
  assert.is(st.records.length, 5);
  assert.match(st.report.find((n) => n.level === 'warn')?.msg ?? 'no warning', /torn tail/);
  await s2.commit([alloc(5)]);
  await s2.close();
  // but damage with records after it, in a later segment, is not a tail: refused
  const s3 = new FileStore({ dir, segmentSize: 4096 });
  await s3.open();
  for (let i = 6; i < 40; i++) await s3.commit([alloc(i)]);
  await s3.close();
  const b1 = readFileSync(seg);
  b1[H + 8 + 3] ^= 0xff; // first record of segment 1
  writeFileSync(seg, b1);
  try {
    await new FileStore({ dir }).open();
    assert.unreachable('must refuse');
  } catch (e) {
    assert.instance(e, StoreCorruptError);
    assert.match((e as Error).message, /good record\(s\) follow it/);
  }
});

test('a segment left half prepared by a crash is removed at open', async () => {
  const dir = tmp();
  const s = new FileStore({ dir, segmentSize: 4096 });
  await s.open();
  await s.commit([alloc(1)]);
  await s.close();
  writeFileSync(join(dir, `${segmentName(2)}.tmp`), Buffer.alloc(100));
  const s2 = new FileStore({ dir, segmentSize: 4096 });
  assert.is((await s2.open()).records.length, 1);
  await s2.commit([alloc(2)]);
  await s2.close();
  assert.not.ok(
    readdirSync(dir).some((f) => f.endsWith('.log.tmp')),
    readdirSync(dir).join(' '),
  );
  const s3 = new FileStore({ dir });
  assert.is((await s3.open()).records.length, 2);
  await s3.close();
});

test('a missing segment is refused', async () => {
  const dir = tmp();
  const s = new FileStore({ dir });
  await s.open();
  await s.close();
  // segment 1 exists; fake a segment 3 to leave a gap
  writeFileSync(join(dir, segmentName(3)), readFileSync(join(dir, segmentName(1))));
  try {
    await new FileStore({ dir }).open();
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /wal-0000000002\.log is missing/);
  }
});

test('compaction: snapshot + newer records rebuild the same state; old segments are deleted', async () => {
  const dir = tmp();
  const live: Allocation[] = [];
  const s = new FileStore({
    dir,
    compactBytes: 4096,
    live: liveOf((): Snapshot => ({ version: 1, networkInstances: [], prefixes: [], allocations: [...live] })),
  });
  await s.open();
  for (let i = 0; i < 300; i++) {
    const op = alloc(i);
    if (op.op === 'allocate') live.push({ owner: op.req.owner } as Allocation);
    await s.commit([op]);
  }
  // let the background snapshot finish
  await s.close();
  assert.ok(s.stats().compactions >= 1, `compactions: ${s.stats().compactions}`);
  const files = readdirSync(dir);
  assert.ok(
    files.some((f) => f.endsWith('.snap')),
    files.join(' '),
  );
  assert.not.ok(files.includes(segmentName(1)), 'covered segment deleted');
  const s2 = new FileStore({ dir });
  const st = await s2.open();
  const restored = [...(st.snapshot?.allocations.map((a) => a.owner) ?? []), ...owners(st.records)];
  assert.equal(
    restored,
    live.map((a) => a.owner),
  );
  await s2.close();
});

test('a snapshot frame is serialized in chunks, yielding to the event loop, to the bytes of one JSON.stringify', async () => {
  const snap = (n: number): Snapshot => ({
    version: 1,
    networkInstances: [{ name: 'vpc', namespace: 'default', owner: 'o', prefixes: [{ prefix: '10.0.0.0/8' }] }],
    prefixes: [],
    allocations: Array.from(
      { length: n },
      (_, i) =>
        ({ owner: `o${i}`, prefix: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}/8`, labels: { 'a"b': 'ü' } }) as unknown as Allocation,
    ),
  });
  for (const n of [0, 1, 10_000, 25_001]) {
    let turns = 0;
    let ticking = true;
    const tick = () => {
      turns++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const frame = await encodeSnapshotFrame(7, 12, snap(n));
    ticking = false;
    const whole = encodeFrame(Buffer.from(JSON.stringify({ seq: 7, n: 12, snapshot: snap(n) })));
    assert.ok(Buffer.concat(frame.buffers).equals(whole), `${n} allocations: same bytes as one stringify`);
    assert.is(frame.bytes, whole.length);
    if (n > 10_000) assert.ok(turns >= 3, `${n} allocations: the event loop ran between chunks (${turns} turns)`);
  }
});

test('compaction waits for the log to outgrow the last snapshot', async () => {
  const dir = tmp();
  // a state much larger than what each record adds: 2,000 allocations in every snapshot
  const big: Snapshot = {
    version: 1,
    networkInstances: [],
    prefixes: [],
    allocations: Array.from({ length: 2000 }, (_, i) => ({ owner: `pkg|default/IPClaim/c${i}` }) as Allocation),
  };
  let taken = false;
  const s = new FileStore({
    dir,
    compactBytes: 1024,
    live: liveOf(() => {
      taken = true;
      return big;
    }),
  });
  await s.open();
  let i = 0;
  // log until the store takes a snapshot (and switches segments), then let the snapshot
  // finish without logging more, so that every byte logged from here on is after it
  while (!taken) await s.commit([alloc(i++)]);
  while (s.stats().compactions === 0) await new Promise((r) => setTimeout(r, 1));
  const snapBytes = statSync(
    join(
      dir,
      readdirSync(dir).find((f) => f.endsWith('.snap'))!,
    ),
  ).size;
  const before = s.stats().bytes;
  while (s.stats().compactions === 1 && s.stats().bytes - before < 3 * snapBytes) {
    await s.commit([alloc(i++)]);
    await new Promise((r) => setImmediate(r));
  }
  const logged = s.stats().bytes - before;
  assert.is(s.stats().compactions, 2, 'compacts again once the log has grown past the snapshot');
  assert.ok(logged >= snapBytes, `not before: ${logged} bytes logged after a ${snapBytes}-byte snapshot`);
  await s.close();
  // a reopened store knows the snapshot's size too
  const s2 = new FileStore({ dir, compactBytes: 1024, live: liveOf(() => big) });
  await s2.open();
  for (let k = 0; k < 20; k++) await s2.commit([alloc(i++)]);
  assert.is(s2.stats().compactions, 0, 'a reopened store waits for its log to outgrow the snapshot on disk');
  await s2.close();
});

test('a damaged snapshot refuses to open', async () => {
  const dir = tmp();
  const s = new FileStore({
    dir,
    compactBytes: 1024,
    live: liveOf((): Snapshot => ({ version: 1, networkInstances: [], prefixes: [], allocations: [] })),
  });
  await s.open();
  for (let i = 0; i < 40; i++) await s.commit([alloc(i)]);
  await s.close();
  const snap = readdirSync(dir).find((f) => f.endsWith('.snap'))!;
  const buf = readFileSync(join(dir, snap));
  buf[buf.length - 2] ^= 0x55;
  writeFileSync(join(dir, snap), buf);
  try {
    await new FileStore({ dir }).open();
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /snapshot damaged/);
  }
});

test('one directory, one server: a second open is refused while the first holds it, whatever LOCK says', async () => {
  const dir = tmp();
  const s = new FileStore({ dir });
  await s.open();
  writeFileSync(join(dir, 'LOCK'), `${process.pid}\n`); // what a server in another PID namespace could have written
  try {
    await new FileStore({ dir }).open();
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /in use by another server/);
  }
  await s.close();
  assert.not.ok(existsSync(join(dir, 'LOCK')));
  const s2 = new FileStore({ dir });
  await s2.open();
  await s2.close();
});

test('commit after close is rejected', async () => {
  const dir = tmp();
  const s = new FileStore({ dir });
  await s.open();
  await s.close();
  try {
    await s.commit([alloc(1)]);
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /closed/);
  }
});

test('memory store keeps records and compacts into a snapshot', async () => {
  let n = 0;
  const m = new MemoryStore({
    compactRecords: 10,
    live: liveOf(() => ({ version: 1, networkInstances: [], prefixes: [], allocations: [], n: n }) as unknown as Snapshot),
  });
  await m.open();
  for (let i = 0; i < 25; i++) {
    n++;
    await m.commit([alloc(i)]);
  }
  const st = await m.load();
  assert.is(st.records.length, 5);
  assert.is((st.snapshot as unknown as { n: number }).n, 20);
});

test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test.run();
