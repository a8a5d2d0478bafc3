// The hand-written BatchRequest decoder against proto-loader's: the same objects for any
// request, unknown fields skipped, truncated input refused.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { serviceDefinition } from '../../src/protocol/load.js';
import { decodeBatchRequest } from '../../src/protocol/batch-decoder.js';
import type { WAllocationRequest, WBatchRequest, WPrefixSpec } from '../../src/protocol/messages.js';

const batch = (
  serviceDefinition('admin') as unknown as Record<string, { requestSerialize(v: unknown): Buffer; requestDeserialize(b: Buffer): unknown }>
).Batch!;

const str = fc.oneof(
  fc.constant(''),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary-ascii', minLength: 130, maxLength: 200 }),
);
const labels = fc.dictionary(str, str, { maxKeys: 3 });
const u32 = fc.oneof(fc.integer({ min: 0, max: 128 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }));
const ref = fc.record({ name: str, namespace: str }, { requiredKeys: [] });
const request: fc.Arbitrary<WAllocationRequest> = fc.record(
  {
    owner: str,
    networkInstance: ref,
    kind: str,
    selector: fc.record(
      {
        matchLabels: labels,
        matchExpressions: fc.array(fc.record({ key: str, operator: str, values: fc.array(str, { maxLength: 3 }) }, { requiredKeys: [] }), {
          maxLength: 2,
        }),
      },
      { requiredKeys: [] },
    ),
    prefix: str,
    prefixLength: u32,
    addressFamily: str,
    createPrefix: fc.boolean(),
    labels,
    index: u32,
    hint: str,
    dryRun: fc.boolean(),
  },
  { requiredKeys: [] },
);
const prefixSpec: fc.Arbitrary<WPrefixSpec> = fc.record(
  { networkInstance: ref, prefix: str, kind: str, networkName: str, labels, owner: str },
  { requiredKeys: [] },
);
const batchRequest: fc.Arbitrary<WBatchRequest> = fc.record(
  {
    package: str,
    networkInstances: fc.array(
      fc.record(
        { ref, prefixes: fc.array(fc.record({ prefix: str, labels }, { requiredKeys: [] }), { maxLength: 2 }), owner: str },
        { requiredKeys: [] },
      ),
      { maxLength: 2 },
    ),
    prefixes: fc.array(prefixSpec, { maxLength: 2 }),
    release: fc.array(str, { maxLength: 3 }),
    requests: fc.array(request, { maxLength: 5 }),
    prune: fc.boolean(),
    dryRun: fc.boolean(),
    compact: fc.boolean(),
    networks: fc.array(str, { maxLength: 2 }),
    clusters: fc.array(str, { maxLength: 2 }),
  },
  { requiredKeys: [] },
);

/** Fields a newer peer might send: number 99 with each wire type. */
const unknownField = fc.constantFrom(
  Buffer.from([0x98, 0x06, 0x96, 0x01]), // 99 varint 150
  Buffer.from([0x99, 0x06, 1, 2, 3, 4, 5, 6, 7, 8]), // 99 fixed64
  Buffer.from([0x9a, 0x06, 0x03, 0x61, 0x62, 0x63]), // 99 bytes "abc"
  Buffer.from([0x9d, 0x06, 1, 2, 3, 4]), // 99 fixed32
);

test('property: the same objects as proto-loader for any BatchRequest, unknown fields skipped', () => {
  fc.assert(
    fc.property(batchRequest, fc.array(unknownField, { maxLength: 2 }), fc.nat(), (r, extra, at) => {
      const bytes = batch.requestSerialize(r);
      assert.equal(decodeBatchRequest(bytes), batch.requestDeserialize(bytes));
      // unknown top-level fields before and after the known ones
      const cut = bytes.length === 0 ? 0 : fieldBoundary(bytes, at);
      const withUnknown = Buffer.concat([bytes.subarray(0, cut), ...extra, bytes.subarray(cut), ...extra]);
      assert.equal(decodeBatchRequest(withUnknown), batch.requestDeserialize(withUnknown));
    }),
    { numRuns: Number(process.env.RUNS ?? 500) },
  );
});

/** The offset of a top-level field boundary at or before field number `at` (mod count). */
function fieldBoundary(buf: Buffer, at: number): number {
  const starts: number[] = [];
  let pos = 0;
  const varint = () => {
    let v = 0;
    let mul = 1;
    for (;;) {
      if (pos >= buf.length) throw new Error(`not a message: ${buf.toString('hex')}`);
      const b = buf[pos++]!;
      v += (b & 0x7f) * mul;
      mul *= 128;
      if (b < 0x80) return v;
    }
  };
  while (pos < buf.length) {
    starts.push(pos);
    const tag = varint();
    // only varints and length-delimited fields at the top level
    const n = varint();
    if ((tag & 7) === 2) pos += n;
  }
  return starts[at % starts.length]!;
}

test('a truncated request is refused, not read past its end', () => {
  const bytes = batch.requestSerialize({ package: 'p', requests: [{ owner: 'default/IPClaim/a', networkInstance: { name: 'vpc' } }] });
  for (const n of [1, 4, bytes.length - 1]) assert.throws(() => decodeBatchRequest(bytes.subarray(0, n)), /out of range|truncated/);
});

test('a label key "__proto__" is kept as a key, as proto-loader keeps it', () => {
  const bytes = batch.requestSerialize({
    requests: [{ selector: { matchLabels: { ['__proto__']: '', a: 'b' } }, labels: { ['__proto__']: 'x' } }],
  });
  const got = decodeBatchRequest(bytes);
  assert.equal(got, batch.requestDeserialize(bytes));
  assert.equal(Object.keys(got.requests![0]!.selector!.matchLabels!), ['__proto__', 'a']);
});

test.run();
