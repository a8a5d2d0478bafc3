// The store's hand-written KV.Txn codec (txn-codec.ts) against the protobuf codec etcd3 uses
// (its own rpc.proto, loaded with its options): every request encodes to the same bytes as
// etcd3 would send for the same transaction, and every answer reads as etcd3 would read it.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { loadSync } from '@grpc/proto-loader';
import { decodeTxnAnswer, encodeTxnRequest, type TxnCompare, type TxnOp } from '../../src/server/store/etcd/txn-codec.js';

const proto = join(createRequire(import.meta.url).resolve('etcd3'), '../../proto/rpc.proto');
const txn = loadSync(proto, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true })[
  'etcdserverpb.KV'
] as unknown as {
  Txn: { requestSerialize: (o: object) => Buffer; responseSerialize: (o: object) => Buffer };
};
const etcd3Encode = (o: object): Buffer => txn.Txn.requestSerialize(o);

const text = fc.oneof(fc.string(), fc.string({ unit: 'binary', maxLength: 200 }));
const revision = fc.oneof(fc.nat(200), fc.maxSafeNat());
const bytes = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  fc.nat(70_000).map((n) => Buffer.alloc(n, 0x61)),
);

const compareArb: fc.Arbitrary<TxnCompare> = fc.oneof(
  fc.record({ key: text, target: fc.constant('value' as const), value: text }),
  fc.record({ key: text, target: fc.constantFrom('create' as const, 'mod' as const), revision }),
);
const opArb: fc.Arbitrary<TxnOp> = fc.oneof(
  fc.record({ op: fc.constant('put' as const), key: text, value: fc.oneof(text, bytes) }),
  fc.record({ op: fc.constant('delete' as const), key: text }),
  fc.record({ op: fc.constant('range' as const), key: text, keysOnly: fc.boolean() }),
);

/** The transaction as the store handed it to etcd3's `kv.txn`. */
function asEtcd3(compare: TxnCompare[], success: TxnOp[], failure: TxnOp[]): object {
  const cmp = (c: TxnCompare) => {
    const key = Buffer.from(c.key);
    if (c.target === 'value') return { key, target: 'Value', result: 'Equal', value: Buffer.from(c.value) };
    return c.target === 'create'
      ? { key, target: 'Create', result: 'Equal', create_revision: c.revision }
      : { key, target: 'Mod', result: 'Equal', mod_revision: c.revision };
  };
  const op = (o: TxnOp) => {
    const key = Buffer.from(o.key);
    if (o.op === 'put') return { request_put: { key, value: Buffer.from(o.value) } };
    if (o.op === 'delete') return { request_delete_range: { key } };
    return { request_range: o.keysOnly ? { key, keys_only: true } : { key } };
  };
  return { compare: compare.map(cmp), success: success.map(op), failure: failure.map(op) };
}

test('a transaction encodes to the bytes etcd3 sends for it', () => {
  fc.assert(
    fc.property(
      fc.array(compareArb, { maxLength: 8 }),
      fc.array(opArb, { maxLength: 8 }),
      fc.array(opArb, { maxLength: 8 }),
      (compare, success, failure) => {
        const ours = encodeTxnRequest({ compare, success, failure });
        assert.ok(ours.equals(etcd3Encode(asEtcd3(compare, success, failure))));
      },
    ),
    { numRuns: 500 },
  );
});

test("the store's own shape: revision keys by value or absence, owner keys by mod revision", () => {
  const spec = {
    compare: [
      { key: '/ipam/rev/default/vpc', target: 'value', value: 'ab12:7' },
      { key: '/ipam/rev/team/lab', target: 'create', revision: 0 },
      { key: '/ipam/own/pkg|default/IPClaim/x', target: 'mod', revision: 2 ** 40 + 3 },
    ] satisfies TxnCompare[],
    success: [
      { op: 'put', key: '/ipam/rev/default/vpc', value: 'ab12:8' },
      { op: 'put', key: '/ipam/own/pkg|default/IPClaim/x', value: Buffer.from('{"a":{}}') },
      { op: 'delete', key: '/ipam/own/gone' },
    ] satisfies TxnOp[],
    failure: [
      { op: 'range', key: '/ipam/rev/default/vpc', keysOnly: false },
      { op: 'range', key: '/ipam/own/pkg|default/IPClaim/x', keysOnly: true },
    ] satisfies TxnOp[],
  };
  const ours = encodeTxnRequest(spec);
  assert.equal(ours.toString('hex'), etcd3Encode(asEtcd3(spec.compare, spec.success, spec.failure)).toString('hex'));
});

const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String);
const header = fc.record({ cluster_id: u64, member_id: u64, revision: revision.map(String), raft_term: u64 });
const keyValue = fc.record(
  { key: bytes, create_revision: revision.map(String), mod_revision: revision.map(String), version: revision.map(String), value: bytes },
  { requiredKeys: [] },
);
const responseOp = fc.oneof(
  fc.record({
    response_range: fc.record(
      { header, kvs: fc.array(keyValue, { maxLength: 3 }), more: fc.boolean(), count: revision.map(String) },
      { requiredKeys: ['kvs'] },
    ),
  }),
  fc.record({ response_put: fc.record({ header, prev_kv: keyValue }, { requiredKeys: [] }) }),
  fc.record({ response_delete_range: fc.record({ header, deleted: revision.map(String) }, { requiredKeys: [] }) }),
);

test("an answer reads as etcd3's: succeeded, the header's revision, each range's first key-value", () => {
  fc.assert(
    fc.property(
      fc.record(
        { header, succeeded: fc.boolean(), responses: fc.array(responseOp, { maxLength: 6 }) },
        { requiredKeys: ['succeeded', 'responses'] },
      ),
      (res) => {
        const answer = decodeTxnAnswer(txn.Txn.responseSerialize(res));
        assert.is(answer.succeeded, res.succeeded);
        assert.is(answer.revision, Number(res.header?.revision ?? 0));
        const ranges = res.responses.map((r) => {
          const kv = 'response_range' in r ? r.response_range.kvs[0] : undefined;
          return kv && { value: (kv.value ?? Buffer.alloc(0)).toString(), modRevision: Number(kv.mod_revision ?? 0) };
        });
        assert.equal(answer.ranges, res.succeeded ? [] : ranges);
      },
    ),
    { numRuns: 500 },
  );
});

test('a truncated answer is an error, not a wrong reading', () => {
  const full = txn.Txn.responseSerialize({
    header: { revision: '77' },
    succeeded: false,
    responses: [{ response_range: { kvs: [{ value: Buffer.from('ab:1'), mod_revision: '70' }] } }],
  });
  assert.equal(decodeTxnAnswer(full).ranges, [{ value: 'ab:1', modRevision: 70 }]);
  for (let n = 1; n < full.length; n++) {
    let read: ReturnType<typeof decodeTxnAnswer> | undefined;
    try {
      read = decodeTxnAnswer(full.subarray(0, n));
    } catch {
      continue;
    }
    // a cut at a field boundary reads as a shorter message, never as other values
    assert.ok(
      read.ranges.every((r) => r === undefined || (r.value === 'ab:1' && r.modRevision === 70)) || read.ranges.length === 0,
      `cut at ${n}`,
    );
  }
});

test.run();
