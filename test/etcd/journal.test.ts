// The journal codec (src/server/store/etcd/journal.ts) without etcd: the bytes a transaction
// writes (docs/persisted-formats.md), what a follower decodes from them, and the order in
// which it replays the commits of one transaction over one or several instances.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeJournal, encodeJournal, isMarked, journalMark, recordsOf, type Journal } from '../../src/server/store/etcd/journal.js';
import type { Op } from '../../src/server/store/ops.js';

const op = (owner: string): Op => ({ op: 'release', owner });
const entry = (seq: number, owner: string) => ({ seq, opsJson: JSON.stringify([op(owner)]) });

test('a journal is written as the documented JSON, and decodes to its fields', () => {
  const bytes = encodeJournal('w1', 't2', 't1', [entry(4, 'a'), entry(5, 'b')]);
  assert.is(bytes.toString(), '{"w":"w1","t":"t2","b":"t1","c":[[4,[{"op":"release","owner":"a"}]],[5,[{"op":"release","owner":"b"}]]]}');
  assert.equal(decodeJournal(bytes), {
    writer: 'w1',
    txn: 't2',
    basis: 't1',
    commits: [
      [4, [op('a')]],
      [5, [op('b')]],
    ],
  });
  assert.ok(isMarked(bytes, journalMark('w1')));
  assert.not.ok(isMarked(bytes, journalMark('w')));
  assert.is(encodeJournal('w1', 't3', '', [], 7).toString(), '{"w":"w1","t":"t3","b":"","m":7}');
  assert.throws(() => decodeJournal(Buffer.from('{"w":"w1","t":1,"b":""}')), /not a journal/);
});

test('recordsOf: the commits of a transaction in commit order, across its instances', () => {
  const j = (commits: [number, Op[]][]): Journal => ({ writer: 'w', txn: 't', basis: '', commits });
  // one instance, as written
  assert.equal(
    recordsOf([
      j([
        [1, [op('a')]],
        [2, [op('b')]],
      ]),
    ]),
    [[op('a')], [op('b')]],
  );
  // one instance whose commits are not in order (never written so): sorted, one per seq
  assert.equal(
    recordsOf([
      j([
        [3, [op('c')]],
        [1, [op('a')]],
        [3, [op('c2')]],
      ]),
    ]),
    [[op('a')], [op('c2')]],
  );
  // two instances: a commit that touched both is in both journals, and replayed once
  assert.equal(
    recordsOf([
      j([
        [1, [op('a')]],
        [3, [op('c')]],
      ]),
      j([
        [2, [op('b')]],
        [3, [op('c')]],
      ]),
    ]),
    [[op('a')], [op('b')], [op('c')]],
  );
  assert.equal(recordsOf([{ writer: 'w', txn: 't', basis: '' }]), []);
});

test.run();
