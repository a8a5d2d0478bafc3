// The package the image tests run the function on: two network instances (original and
// Nephio's later API), requests of both generations, and a consumer ConfigMap that receives an
// injected address and carries what must survive untouched (comments, unquoted 0755, a date).
export const PACKAGE: Record<string, string> = {
  Kptfile: `apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: image-test
  annotations:
    config.kubernetes.io/local-config: "true"
info:
  description: ipam-injector image test package
`,
  'space.yaml': `apiVersion: ipam.nephio.org/v1alpha1
kind: NetworkInstance
metadata:
  name: vpc-ran
spec:
  prefixes:
  - prefix: 10.0.0.0/8
---
apiVersion: ipam.nephio.org/v1alpha1
kind: IPPrefix
metadata:
  name: n3-subnet
  labels:
    nephio.org/gateway: "true"
spec:
  kind: network
  prefix: 10.0.1.1/24
  network: n3
  networkInstance: vpc-ran
`,
  'alloc.yaml': `apiVersion: ipam.nephio.org/v1alpha1
kind: IPAllocation
metadata:
  name: upf-n3
spec:
  kind: network
  selector:
    matchLabels:
      nephio.org/network-instance: vpc-ran
      nephio.org/network-name: n3
---
apiVersion: ipam.nephio.org/v1alpha1
kind: IPAllocation
metadata:
  name: smf-n3
spec:
  kind: network
  selector:
    matchLabels:
      nephio.org/network-instance: vpc-ran
      nephio.org/network-name: n3
`,
  'claim.yaml': `apiVersion: ipam.resource.nephio.org/v1alpha1
kind: NetworkInstance
metadata:
  name: vpc-core
spec:
  prefixes:
  - prefix: 172.16.0.0/16
---
apiVersion: ipam.resource.nephio.org/v1alpha1
kind: IPPrefix
metadata:
  name: core-n4
  labels:
    nephio.org/cluster-name: cluster01
    nephio.org/gateway: "true"
spec:
  kind: network
  prefix: 172.16.5.1/24
  networkInstance:
    name: vpc-core
---
apiVersion: ipam.resource.nephio.org/v1alpha1
kind: IPClaim
metadata:
  name: upf-n4
spec:
  kind: network
  selector:
    matchLabels:
      nephio.org/cluster-name: cluster01
  networkInstance:
    name: vpc-core
`,
  'config.yaml': `# consumer of the addresses; comments and 0755 must survive
apiVersion: v1
kind: ConfigMap
metadata:
  name: upf-config
data:
  mode: 0755 # octal-looking, unquoted
  started: 2021-01-01
`,
};

/** Typed function config: inject upf-n3's address into the ConfigMap. */
export const FN_CONFIG = `apiVersion: fn.ipam-injector.dev/v1alpha1
kind: IPAMInjector
metadata:
  name: ipam
  annotations:
    config.kubernetes.io/local-config: "true"
spec:
  backend: builtin
  injections:
  - source: {name: upf-n3, value: address}
    targets:
    - select: {kind: ConfigMap, name: upf-config}
      fieldPaths: [data.n3-address]
      options: {create: true}
`;

/** A request for a network instance the package does not define. */
export const UNKNOWN_INSTANCE = `apiVersion: ipam.nephio.org/v1alpha1
kind: IPAllocation
metadata:
  name: lost-n3
spec:
  kind: network
  selector:
    matchLabels:
      nephio.org/network-instance: vpc-nowhere
      nephio.org/network-name: n3
`;
