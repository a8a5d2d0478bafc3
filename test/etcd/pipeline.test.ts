// The commit pipeline's reaction to a lost race, without etcd: `send` answers as etcd would.
// A lost race is undone in the live allocator, unless the transaction's first attempt failed
// after it may have reached etcd: then it may have landed, and undoing it would hand its
// addresses out again while etcd holds them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createIpam, type Ipam } from '../../src/ipam/index.js';
import { Tx } from '../../src/server/core.js';
import { StoreConflictError } from '../../src/server/store/store.js';
import { Keys } from '../../src/server/store/etcd/keys.js';
import { CommitPipeline, type PipelineOptions } from '../../src/server/store/etcd/pipeline.js';
import { Mirror } from '../../src/server/store/etcd/state.js';
import { Turns } from '../../src/server/store/etcd/turns.js';
import type { TxnAnswer } from '../../src/server/store/etcd/txn-codec.js';

const keys = new Keys('/ipam');

function seeded(): { ipam: Ipam; mirror: Mirror } {
  const ipam = createIpam();
  const mirror = new Mirror(keys);
  const tx = new Tx(ipam);
  tx.applyNetworkInstance({ name: 'vpc' }, [{ prefix: '10.0.0.0/16' }], 'seed');
  tx.applyPrefix({ networkInstance: { name: 'vpc' }, prefix: '10.0.1.0/24', kind: 'network', owner: 'seed', labels: { role: 'r' } });
  mirror.follow(tx.ops, ipam);
  mirror.rev.set('default/vpc', 'b:7');
  return { ipam, mirror };
}

/** A pipeline of replica `a` on `ipam`, whose transactions `send` answers. */
function pipelineOf(ipam: Ipam, mirror: PipelineOptions['mirror'], send: PipelineOptions['send']): CommitPipeline {
  const pipeline: CommitPipeline = new CommitPipeline({
    keys,
    mirror,
    writer: 'a',
    turns: new Turns({ keys, writer: 'a', turnAfter: 0, wake: () => pipeline.schedule() }),
    maxOps: 120,
    maxBytes: 1 << 20,
    depth: 2,
    catchUpMs: 20,
    send,
    live: () => ipam,
    answered: () => {},
    counters: { records: 0, flushes: 0, bytes: 0, overtaken: 0, conflicts: 0, rejected: 0, reverted: 0, txnOps: 0 },
  });
  return pipeline;
}

/** One allocation committed through a pipeline whose transaction etcd refuses: the revision
 *  key holds another replica's id; the owner's key is absent, as compared (had a first
 *  attempt landed, another replica may have released the owner since). */
async function lostRace(retried: boolean): Promise<{ ipam: Ipam; reverted: number; error: unknown; current: boolean }> {
  const { ipam, mirror } = seeded();
  const answer: TxnAnswer = {
    succeeded: false,
    revision: 60,
    ranges: [{ value: 'c:3', modRevision: 60 }, undefined],
  };
  const pipeline = pipelineOf(ipam, mirror, () => Promise.resolve({ answer, retried }));
  const tx = new Tx(ipam);
  tx.allocate({ owner: 'o1', networkInstance: { name: 'vpc' }, kind: 'network', selector: { matchLabels: { role: 'r' } } });
  let reverted = 0;
  const error = await pipeline
    .add(tx.ops, () => {
      reverted++;
      return tx.revert();
    })
    .catch((e: unknown) => e);
  return { ipam, reverted, error, current: await pipeline.catchUp(['default/vpc']) };
}

test("a lost race is undone in the live allocator, and waits for the winner's journal", async () => {
  const r = await lostRace(false);
  assert.instance(r.error, StoreConflictError);
  assert.is(r.reverted, 1);
  assert.equal(r.ipam.getAllocations('o1'), []);
});

test('a lost race after a failed attempt is not undone (that attempt may have landed): the server reloads', async () => {
  const r = await lostRace(true);
  assert.instance(r.error, StoreConflictError);
  assert.is(r.reverted, 0);
  assert.is(r.ipam.getAllocations('o1').length, 1);
  assert.is(r.current, false, 'only a reload can tell what etcd holds');
});

test("an answer that overtakes an earlier transaction's leaves that one to its own answer", async () => {
  // t1 and t2 (made from t1) are in flight on one instance. t1 lands; another replica follows
  // its journal and writes on top; t2 finds that replica's id and fails, and its answer
  // arrives first. Undoing t1's commit then would free an address etcd holds.
  const { ipam, mirror } = seeded();
  const answers: ((a: { answer: TxnAnswer; retried: boolean }) => void)[] = [];
  const pipeline = pipelineOf(ipam, mirror, () => new Promise((resolve) => answers.push(resolve)));
  const commit = (owner: string) => {
    const tx = new Tx(ipam);
    tx.allocate({ owner, networkInstance: { name: 'vpc' }, kind: 'network', selector: { matchLabels: { role: 'r' } } });
    const reverts: string[] = [];
    const done = pipeline
      .add(tx.ops, () => {
        reverts.push(owner);
        return tx.revert();
      })
      .then(
        () => 'landed',
        (e: unknown) => (e instanceof StoreConflictError ? 'conflict' : String(e)),
      );
    return { done, reverts };
  };
  const first = commit('o1');
  while (answers.length < 1) await new Promise((r) => setImmediate(r));
  const second = commit('o2');
  while (answers.length < 2) await new Promise((r) => setImmediate(r));
  answers[1]!({ answer: { succeeded: false, revision: 61, ranges: [{ value: 'c:3', modRevision: 61 }, undefined] }, retried: false });
  assert.is(await second.done, 'conflict');
  assert.equal(second.reverts, ['o2']);
  assert.equal(first.reverts, [], "t1's commit is not undone before its answer");
  answers[0]!({ answer: { succeeded: true, revision: 60, ranges: [] }, retried: false });
  assert.is(await first.done, 'landed');
  assert.is(ipam.getAllocations('o1').length, 1);
  assert.equal(ipam.getAllocations('o2'), []);
});

test.run();
