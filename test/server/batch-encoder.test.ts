// The hand-written BatchResponse encoder against proto-loader's: the same bytes for any
// answer, and what a client decodes from them is what the server meant to send.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { serviceDefinition } from '../../src/protocol/load.js';
import { encodeBatchResponse } from '../../src/protocol/batch-encoder.js';
import type { WAllocation, WBatchResponse, WError } from '../../src/protocol/messages.js';

const batch = (
  serviceDefinition('admin') as unknown as Record<
    string,
    { responseSerialize(v: unknown): Buffer; responseDeserialize(b: Buffer): unknown }
  >
).Batch!;

// Any valid Unicode (protobufjs writes lone surrogates of short strings as raw 3-byte
// sequences, which is not UTF-8; Buffer writes U+FFFD: the two differ only there).
const str = fc.oneof(
  fc.constant(''),
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  fc.string({ unit: 'binary-ascii', minLength: 100, maxLength: 300 }),
);
const labels = fc.dictionary(str, str, { maxKeys: 4 });
const allocation: fc.Arbitrary<WAllocation> = fc.record(
  {
    owner: str,
    networkInstance: fc.record({ name: str, namespace: str }, { requiredKeys: [] }),
    kind: str,
    addressFamily: str,
    prefix: str,
    gateway: str,
    parent: str,
    labels,
  },
  { requiredKeys: [] },
);
const error: fc.Arbitrary<WError> = fc.record(
  {
    code: fc.oneof(fc.integer({ min: 0, max: 16 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
    message: str,
    reason: str,
    networkInstance: str,
    selector: str,
    prefix: str,
    field: str,
    dependents: fc.array(str, { maxLength: 3 }),
    subject: str,
  },
  { requiredKeys: [] },
);
const response: fc.Arbitrary<WBatchResponse> = fc.record(
  {
    outcomes: fc.array(fc.oneof(fc.record({ allocation }), fc.record({ error }), fc.constant({})), { maxLength: 6 }),
    spaceErrors: fc.array(error, { maxLength: 3 }),
    released: fc.array(allocation, { maxLength: 3 }),
  },
  { requiredKeys: [] },
);

test('property: the same bytes as proto-loader for any BatchResponse', () => {
  fc.assert(
    fc.property(response, (r) => {
      const ours = encodeBatchResponse(r);
      const theirs = batch.responseSerialize(r);
      assert.ok(ours.equals(theirs), `differs for ${JSON.stringify(r)}:\n${ours.toString('hex')}\n${theirs.toString('hex')}`);
    }),
    { numRuns: 500 },
  );
});

test('a compact answer of a real batch decodes to what was sent', () => {
  const r: WBatchResponse = {
    outcomes: [
      {
        allocation: {
          addressFamily: 'ipv4',
          prefix: '10.0.0.2/24',
          gateway: '10.0.0.1',
          parent: '10.0.0.0/24',
          labels: { 'nephio.org/network-name': 'n3', ü: 'ß' },
        },
      },
      { error: { code: 5, message: 'requests[1]: no prefix matches', reason: 'NotFound', subject: 'requests[1]', dependents: [] } },
      { allocation: { addressFamily: 'ipv6', prefix: '2001:db8::2/64', gateway: '', parent: '2001:db8::/64', labels: {} } },
    ],
  };
  const back = batch.responseDeserialize(encodeBatchResponse(r)) as WBatchResponse;
  assert.equal(back.outcomes![0]!.allocation!.labels, { 'nephio.org/network-name': 'n3', ü: 'ß' });
  assert.is(back.outcomes![0]!.allocation!.prefix, '10.0.0.2/24');
  assert.is(back.outcomes![1]!.error!.code, 5);
  assert.is(back.outcomes![1]!.error!.subject, 'requests[1]');
  assert.is(back.outcomes![2]!.allocation!.prefix, '2001:db8::2/64');
  assert.equal(back.spaceErrors, []);
});

test.run();
