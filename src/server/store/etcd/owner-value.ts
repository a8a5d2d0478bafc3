// The value of `own/<owner>` (keys.ts): what one owner holds. One is written per allocation, so
// the stored JSON keeps one-letter keys, and this codec is the only place that knows them
// (docs/persisted-formats.md lists every persisted format):
//   {"a": its allocation, without `owner` (the key names it),
//    "p": ids of the IPPrefixes it defined (`<ns>/<name>/<prefix> <owner>`),
//    "n": ids of the network instances it defined (`<ns>/<name>`)}
// Empty ones are left out: most owners hold one allocation and nothing else.
import type { Allocation } from '../../../ipam/types.js';

export interface OwnerHoldings {
  allocation?: Omit<Allocation, 'owner'>;
  prefixIds?: string[];
  instanceIds?: string[];
}

interface OwnerWire {
  a?: Omit<Allocation, 'owner'>;
  p?: string[];
  n?: string[];
}

/** Lists are sorted so that one state has one encoding. Written as text: the same bytes as
 *  JSON.stringify of the wire object, without making it. */
export function encodeOwnerValue(h: OwnerHoldings): Buffer {
  let text = '';
  if (h.allocation) text += `,"a":${JSON.stringify(h.allocation)}`;
  if (h.prefixIds?.length) text += `,"p":${JSON.stringify([...h.prefixIds].sort())}`;
  if (h.instanceIds?.length) text += `,"n":${JSON.stringify([...h.instanceIds].sort())}`;
  return Buffer.from(text ? `{${text.slice(1)}}` : '{}');
}

export function decodeOwnerValue(value: Buffer): OwnerHoldings {
  const v = JSON.parse(value.toString()) as OwnerWire;
  const h: OwnerHoldings = {};
  if (v.a) h.allocation = v.a;
  if (v.p?.length) h.prefixIds = v.p;
  if (v.n?.length) h.instanceIds = v.n;
  return h;
}
