// The address space the server benchmarks seed: grpc.bench.ts's client processes allocate
// from network instance vpc with selector role=bench, whichever server (file, memory, etcd)
// they are pointed at, so every bench that drives them seeds this.
import { oneSubnetSeed } from '../test/support/seed.js';

export const BENCH_SEED = oneSubnetSeed('bench', '10.0.0.0/11');

/** Network instance k of a bench that spreads its clients over several: vpc, vpc-1, ... */
export const benchInstance = (k: number): string => (k === 0 ? 'vpc' : `vpc-${k}`);

/** BENCH_SEED's space in each of `n` network instances. */
export function benchSeed(n: number): string {
  return Array.from({ length: n }, (_, k) =>
    BENCH_SEED.replaceAll('{name: vpc}', `{name: ${benchInstance(k)}}`)
      .replaceAll('networkInstance: vpc}', `networkInstance: ${benchInstance(k)}}`)
      .replaceAll('{name: bench,', `{name: bench-${k},`),
  ).join('---\n');
}
