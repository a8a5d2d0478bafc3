// The address space the server benchmarks seed: grpc.bench.ts's client processes allocate
// from network instance vpc with selector role=bench, whichever server (file, memory, etcd)
// they are pointed at, so every bench that drives them seeds this.
import { oneSubnetSeed } from '../test/support/seed.js';

export const BENCH_SEED = oneSubnetSeed('bench', '10.0.0.0/11');
