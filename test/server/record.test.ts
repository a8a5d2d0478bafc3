// Log record text: what is written reads back as the same ops, the old array form still
// reads, and a package's batch is written once per request shape, not once per allocation.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { decodeEntry, decodeRecord, encodeEnd, encodeRecord } from '../../src/server/store/record.js';
import type { Op } from '../../src/server/store/ops.js';
import type { AllocationRequest } from '../../src/ipam/types.js';

/** Ops as JSON sees them (undefined fields are absent, key order does not matter). */
const canon = (ops: Op[]) =>
  JSON.parse(
    JSON.stringify(ops, (_k, v) =>
      v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
    ),
  ) as unknown;

// Small domains, so that requests often share a shape or differ from one in a single field.
const label = fc.constantFrom({}, { role: 'x' }, { role: 'y' }, { 'a"b': 'ü', role: 'x' });
const request = fc.record(
  {
    owner: fc.string({ maxLength: 12 }),
    networkInstance: fc.constantFrom({ name: 'vpc' }, { name: 'vpc', namespace: 'x' }),
    kind: fc.constant('network'),
    selector: fc.constantFrom(
      { matchLabels: { role: 'x' } },
      { matchLabels: { role: 'x' }, matchExpressions: [{ key: 'z', operator: 'In', values: ['a'] }] },
    ),
    prefixLength: fc.constant(24),
    labels: label,
    index: fc.constant(3),
    hint: fc.constantFrom('10.0.0.1/24', '2001:db8::5/64'),
    prefix: fc.constantFrom('10.0.0.7/24', '10.9.0.0/16'),
  },
  { requiredKeys: ['owner', 'networkInstance', 'kind', 'selector'] },
) as fc.Arbitrary<AllocationRequest>;
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('allocate' as const), req: request, prefix: fc.constantFrom('10.0.0.1/24', '10.1.0.0/16', '2001:db8::/64') }),
  fc.record({ op: fc.constant('release' as const), owner: fc.string({ maxLength: 12 }) }),
  fc.record({
    op: fc.constant('removePrefix' as const),
    ni: fc.record({ name: fc.constant('vpc') }),
    prefix: fc.constant('10.0.0.0/8'),
    force: fc.boolean(),
  }),
);

test('any ops read back as written', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
      assert.equal(canon(decodeRecord(encodeRecord({ number: 1, ops }))), canon(ops));
    }),
    { numRuns: 500 },
  );
});

test('records written before (a JSON array of ops) still read', () => {
  const ops: Op[] = [
    { op: 'release', owner: 'p|a' },
    { op: 'allocate', req: { owner: 'p|b', networkInstance: { name: 'vpc' }, kind: 'network' }, prefix: '10.0.0.2/24' },
  ];
  assert.equal(decodeRecord(JSON.stringify(ops)), ops);
  assert.throws(() => decodeRecord('{"r":4,"s":[],"o":[]}'), /unknown record format 4/);
  // version 2 (no record number) still reads
  assert.equal(decodeRecord('{"r":2,"s":[],"o":[{"op":"release","owner":"p|a"}]}'), [{ op: 'release', owner: 'p|a' }]);
});

test("a package's batch names its request once: a fraction of the size of one JSON array", () => {
  const ops: Op[] = Array.from({ length: 100 }, (_, i) => ({
    op: 'allocate',
    req: {
      owner: `pkg|default/IPClaim/claim-${i}`,
      networkInstance: { name: 'vpc' },
      kind: 'network',
      selector: { matchLabels: { 'nephio.org/network-name': 'n3', role: 'upf' } },
      hint: `10.0.${i}.1/24`,
    },
    prefix: `10.0.${i}.1/24`,
  }));
  const text = encodeRecord({ number: 1, ops });
  assert.is(JSON.parse(text).s.length, 1, 'one shape: the hint is per allocation, like the owner');
  assert.ok(text.length * 3 < JSON.stringify(ops).length, `${text.length} bytes against ${JSON.stringify(ops).length}`);
  assert.equal(
    decodeRecord(text),
    ops.map((o) =>
      o.op === 'allocate'
        ? {
            ...o,
            req: {
              networkInstance: o.req.networkInstance,
              kind: o.req.kind,
              selector: o.req.selector,
              owner: o.req.owner,
              hint: o.req.hint,
            },
          }
        : o,
    ),
  );
});

test('entries decode to named fields: a record its number, an end marker the record it follows', () => {
  const ops: Op[] = [{ op: 'release', owner: 'pkg|a' }];
  const text = encodeRecord({ number: 7, ops });
  assert.match(text, /^\{"r":3,"n":7,"s":\[\],"o":\[/);
  assert.equal(decodeEntry(text), { kind: 'ops', number: 7, ops });
  const end = encodeEnd({ after: 7, end: 'close' });
  assert.is(end, '{"r":3,"n":7,"end":"close"}');
  assert.equal(decodeEntry(end), { kind: 'end', after: 7, end: 'close' });
  assert.equal(decodeEntry('[{"op":"release","owner":"pkg|a"}]'), { kind: 'ops', number: undefined, ops });
  assert.throws(() => decodeEntry('{"r":3,"n":0,"s":[],"o":[]}'), /record number 0/);
  assert.throws(() => decodeEntry('{"r":3,"n":1,"s":[],"o":[[0,"a","10.0.0.1/24"]]}'), /names request shape 0, it has 0/);
});

test.run();
