// The owner key's value (owner-value.ts, docs/persisted-formats.md): written as text, it must
// be byte for byte what JSON.stringify makes of the wire object, and read back as written.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { decodeOwnerValue, encodeOwnerValue, type OwnerHoldings } from '../../src/server/store/etcd/owner-value.js';

const text = fc.string({ unit: 'binary', maxLength: 40 });
const allocation = fc.record(
  {
    networkInstance: fc.record({ name: text, namespace: text }, { noNullPrototype: true }),
    kind: fc.constantFrom('network', 'pool', 'loopback', 'aggregate'),
    addressFamily: fc.constantFrom('ipv4', 'ipv6'),
    prefix: text,
    gateway: text,
    parent: text,
    labels: fc.dictionary(text, text, { maxKeys: 4, noNullPrototype: true }),
  },
  { requiredKeys: ['networkInstance', 'kind', 'addressFamily', 'prefix', 'parent', 'labels'], noNullPrototype: true },
);
const holdings = fc.record(
  { allocation, prefixIds: fc.array(text, { maxLength: 4 }), instanceIds: fc.array(text, { maxLength: 4 }) },
  { requiredKeys: [], noNullPrototype: true },
) as fc.Arbitrary<OwnerHoldings>;

/** The format's definition: the one-letter wire object, empty parts left out, lists sorted. */
function reference(h: OwnerHoldings): string {
  const v: Record<string, unknown> = {};
  if (h.allocation) v.a = h.allocation;
  if (h.prefixIds?.length) v.p = [...h.prefixIds].sort();
  if (h.instanceIds?.length) v.n = [...h.instanceIds].sort();
  return JSON.stringify(v);
}

test('the owner value is the JSON of its wire object, byte for byte, and decodes to what was encoded', () => {
  fc.assert(
    fc.property(holdings, (h) => {
      const bytes = encodeOwnerValue(h);
      assert.ok(bytes.equals(Buffer.from(reference(h))));
      const back = decodeOwnerValue(bytes);
      assert.equal(back.allocation, h.allocation);
      assert.equal(back.prefixIds, h.prefixIds?.length ? [...h.prefixIds].sort() : undefined);
      assert.equal(back.instanceIds, h.instanceIds?.length ? [...h.instanceIds].sort() : undefined);
    }),
    { numRuns: 500 },
  );
});

test('an owner that holds one allocation and nothing else', () => {
  const allocation = {
    networkInstance: { name: 'vpc', namespace: 'default' },
    kind: 'network' as const,
    addressFamily: 'ipv4' as const,
    prefix: '10.0.0.5/24',
    parent: '10.0.0.0/24',
    labels: {},
  };
  assert.is(
    encodeOwnerValue({ allocation }).toString(),
    '{"a":{"networkInstance":{"name":"vpc","namespace":"default"},"kind":"network","addressFamily":"ipv4","prefix":"10.0.0.5/24","parent":"10.0.0.0/24","labels":{}}}',
  );
  assert.is(encodeOwnerValue({}).toString(), '{}');
});

test.run();
