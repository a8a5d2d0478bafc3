// The space that load tests and benchmarks allocate from: network instance vpc (10.0.0.0/8)
// with one network IPPrefix, named for the `role` label its requests select (`role=<role>`).
export function oneSubnetSeed(role: string, prefix: string): string {
  return `apiVersion: ipam.resource.nephio.org/v1alpha1
kind: NetworkInstance
metadata: {name: vpc}
spec:
  prefixes:
  - prefix: 10.0.0.0/8
---
apiVersion: ipam.resource.nephio.org/v1alpha1
kind: IPPrefix
metadata: {name: ${role}, labels: {role: ${role}}}
spec: {kind: network, prefix: ${prefix}, networkInstance: vpc}
`;
}
