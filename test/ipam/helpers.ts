// Shared fixtures for the allocator tests.
import * as assert from 'uvu/assert';
import { createIpam, IpamError } from '../../src/ipam/index.js';
import type { AllocationRequest, Ipam, IpamErrorCode, LabelSelector, PrefixKind, PrefixSpec } from '../../src/ipam/index.js';

export const ni = { name: 'vpc' };
export const CL = 'nephio.org/cluster-name';
export const GW = 'nephio.org/gateway';

export function fresh(aggregates: string[] = ['10.0.0.0/8', '2001:db8::/32']): Ipam {
  const ipam = createIpam();
  ipam.applyNetworkInstance(
    ni,
    aggregates.map((prefix) => ({ prefix })),
    'default/NetworkInstance/vpc',
  );
  return ipam;
}

export function pfx(ipam: Ipam, prefix: string, kind: PrefixKind, labels: Record<string, string> = {}, extra: Partial<PrefixSpec> = {}) {
  return ipam.applyPrefix({ networkInstance: ni, prefix, kind, labels, owner: `default/IPPrefix/${kind}-${prefix}`, ...extra });
}

export const sel = (matchLabels: Record<string, string>): LabelSelector => ({ matchLabels });

export function req(owner: string, kind: PrefixKind, more: Partial<AllocationRequest> = {}): AllocationRequest {
  return { owner, networkInstance: ni, kind, ...more };
}

/** Runs f, which must throw an IpamError with this code and a message matching `msg`. */
export function throwsIpam(f: () => unknown, code: IpamErrorCode, msg?: RegExp): IpamError {
  try {
    f();
  } catch (e) {
    if (!(e instanceof IpamError)) throw e;
    assert.is(e.code, code, `code of: ${e.message}`);
    if (msg) assert.match(e.message, msg);
    return e;
  }
  assert.unreachable(`expected IpamError ${code}`);
  throw new Error('unreachable');
}

/** Address words as BigInt, for overlap checks in property tests. */
export function range(prefix: string): [bigint, bigint] {
  const [a, l] = prefix.split('/');
  const v6 = a.includes(':');
  let x: bigint;
  if (v6) {
    const [h, t] = a.includes('::') ? a.split('::') : [a, undefined];
    const hs = h ? h.split(':') : [];
    const ts = t ? t.split(':') : [];
    const all = t === undefined ? hs : [...hs, ...Array(8 - hs.length - ts.length).fill('0'), ...ts];
    x = all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
  } else x = a.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
  const W = v6 ? 128n : 32n;
  const size = 1n << (W - BigInt(Number(l)));
  const base = (x / size) * size;
  return [base, base + size - 1n];
}

/** uvu's `test` with readable IpamError failures (see test/support/uvu.ts). */
export { test } from '../support/uvu.js';
