// ResourceLists for function tests, as kpt sends them: each document (kept as written) gets
// path/index annotations; an optional function config.
export function list(files: Record<string, string>, functionConfig?: string): string {
  let out = 'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n';
  for (const [path, text] of Object.entries(files)) {
    text.split(/^---\n/m).forEach((doc, index) => {
      const ann = `    config.kubernetes.io/index: '${index}'\n    config.kubernetes.io/path: '${path}'\n    internal.config.kubernetes.io/path: '${path}'\n`;
      const withAnn = /^  annotations:\n/m.test(doc)
        ? doc.replace(/^  annotations:\n/m, (m) => m + ann)
        : doc.replace(/^metadata:\n/m, (m) => m + '  annotations:\n' + ann);
      out +=
        withAnn
          .trimEnd()
          .split('\n')
          .map((l, i) => (i === 0 ? '- ' : l === '' ? '' : '  ') + l)
          .join('\n') + '\n';
    });
  }
  if (functionConfig)
    out +=
      'functionConfig:\n' +
      functionConfig
        .trimEnd()
        .split('\n')
        .map((l) => '  ' + l)
        .join('\n') +
      '\n';
  return out;
}

export const KPTFILE = `apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: pkg
`;

export const SPACE = `apiVersion: ipam.resource.nephio.org/v1alpha1
kind: NetworkInstance
metadata:
  name: vpc
spec:
  prefixes:
  - prefix: 10.0.0.0/8
---
apiVersion: ipam.resource.nephio.org/v1alpha1
kind: IPPrefix
metadata:
  name: lan
spec:
  kind: network
  prefix: 10.0.1.0/24
  network: lan
  networkInstance:
    name: vpc
`;

export const claim = (name: string, extra = '') => `apiVersion: ipam.resource.nephio.org/v1alpha1
kind: IPClaim
metadata:
  name: ${name}
spec:
  kind: network
  networkInstance:
    name: vpc
${extra}`;

/** The items' text of a function output: everything before `results:`. */
export const withoutResults = (text: string): string => text.replace(/(^|\n)results:\n[\s\S]*$/, '$1');
