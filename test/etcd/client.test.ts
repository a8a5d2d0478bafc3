// The store's etcd client against a real etcd (Debian etcd-server): the commit transaction,
// encoded and read by txn-codec.ts, lands and fails as etcd says; and, as etcd3's own calls
// do, one call tries the next member of the pool when a member cannot be reached.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect } from '../../src/server/store/etcd/client.js';
import { encodeTxnRequest } from '../../src/server/store/etcd/txn-codec.js';
import { freePorts, requireEtcd, startEtcd, type EtcdCluster } from '../support/etcd.js';

let etcd: EtcdCluster;

if (requireEtcd(test)) {
  test.before(async () => {
    etcd = await startEtcd({ members: 1 });
  });
  test.after(async () => {
    await etcd?.stop();
  });

  test('a transaction lands at the revision etcd answers; a failed compare reads back the values compared', async () => {
    const client = connect({ endpoints: etcd.endpoints });
    try {
      const rev = '/client-test/rev/a';
      const own = '/client-test/own/o';
      const first = await client.txnEncoded(
        encodeTxnRequest({
          compare: [{ key: rev, target: 'create', revision: 0 }],
          success: [
            { op: 'put', key: rev, value: 'w:1' },
            { op: 'put', key: own, value: Buffer.from('{"a":{}}') },
          ],
          failure: [{ op: 'range', key: rev, keysOnly: false }],
        }),
      );
      assert.is(first.succeeded, true);
      const stored = await client.get(rev).exec();
      assert.is(first.revision, Number(stored.kvs[0]!.mod_revision));
      assert.is(await client.get(own).string(), '{"a":{}}');

      const lost = await client.txnEncoded(
        encodeTxnRequest({
          compare: [
            { key: rev, target: 'value', value: 'w:0' },
            { key: own, target: 'mod', revision: 1 },
          ],
          success: [{ op: 'delete', key: own }],
          failure: [
            { op: 'range', key: rev, keysOnly: false },
            { op: 'range', key: own, keysOnly: true },
            { op: 'range', key: '/client-test/none', keysOnly: false },
          ],
        }),
      );
      assert.is(lost.succeeded, false);
      assert.equal(lost.ranges, [{ value: 'w:1', modRevision: first.revision }, { value: '', modRevision: first.revision }, undefined]);
      assert.is(await client.get(own).string(), '{"a":{}}');
    } finally {
      client.close();
    }
  });

  test('one call reaches the live member although the other two refuse connections', async () => {
    // Each call goes to a member drawn at random; after a failure etcd3 tries the members it
    // has not tried yet. Drawing anew each time, eight calls would all get through about one
    // time in six.
    const dead = (await freePorts(2)).map((p) => `http://127.0.0.1:${p}`);
    for (let i = 0; i < 8; i++) {
      const client = connect({ endpoints: [dead[0]!, etcd.endpoints[0]!, dead[1]!] });
      try {
        const req = encodeTxnRequest({ compare: [], success: [{ op: 'put', key: '/client-test/live', value: String(i) }], failure: [] });
        assert.is((await client.txnEncoded(req)).succeeded, true, `call ${i}`);
      } finally {
        client.close();
      }
    }
  });
}

test.run();
