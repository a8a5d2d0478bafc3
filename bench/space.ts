// The address space the server benchmarks seed: grpc.bench.ts's client processes allocate
// from network instance vpc with selector role=bench, whichever server (file, memory, etcd)
// they are pointed at, so every bench that drives them seeds this.
export const BENCH_SEED = `apiVersion: ipam.resource.nephio.org/v1alpha1
kind: NetworkInstance
metadata: {name: vpc}
spec:
  prefixes:
  - prefix: 10.0.0.0/8
---
apiVersion: ipam.resource.nephio.org/v1alpha1
kind: IPPrefix
metadata: {name: bench, labels: {role: bench}}
spec: {kind: network, prefix: 10.0.0.0/11, networkInstance: vpc}
`;
