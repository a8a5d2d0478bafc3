// `ipam-injector get allocations|prefixes|network-instances|vlan-indexes|vlan-claims [--server HOST:PORT] [-o table|wide|yaml|json]`
// Reads through the admin service; tables in the style of kubectl (utilization for prefixes).
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { status, type ServiceError } from '@grpc/grpc-js';
import { AdminClient } from '../protocol/admin-client.js';
import { GrpcConnection, type CallRecord } from '../protocol/connection.js';
import { fromServiceError } from '../protocol/status.js';

const DEFAULT_SERVER = '127.0.0.1:9090';

const USAGE = `ipam-injector get: list what an IPAM server (ipam-injector serve) holds, through its admin API.

usage: ipam-injector get allocations|prefixes|network-instances|vlan-indexes|vlan-claims [flags]
  -s, --server HOST:PORT         the server (default: $IPAM_INJECTOR_ADDRESS, else ${DEFAULT_SERVER})
  -o, --output table|wide|yaml|json
                                 table (default); wide: the table plus each entry's labels;
                                 yaml, json: every field, as a List
  --network-instance NAME        only this network instance (namespace/name or name)
  --vlan-index NAME              vlan-claims: only this VLAN index (namespace/name or name)
  --owner-prefix P               allocations or VLAN claims whose owner starts with P (e.g. a package: "pkg|")
  --token T | --token-file F     bearer token
  --tls-ca F [--tls-cert F --tls-key F] [--tls-server-name N]
  --timeout 10s
  -v, --verbose                  each gRPC call on stderr: method, status, time`;

const RESOURCES: Record<string, 'allocations' | 'prefixes' | 'network-instances' | 'vlan-indexes' | 'vlan-claims'> = {
  'vlan-indexes': 'vlan-indexes',
  'vlan-index': 'vlan-indexes',
  'vlan-claims': 'vlan-claims',
  'vlan-claim': 'vlan-claims',
  allocations: 'allocations',
  allocation: 'allocations',
  alloc: 'allocations',
  prefixes: 'prefixes',
  prefix: 'prefixes',
  'network-instances': 'network-instances',
  'network-instance': 'network-instances',
  ni: 'network-instances',
};

function logCall(c: CallRecord): void {
  const code = status[c.code] ?? String(c.code);
  process.stderr.write(`get: ${c.method} ${code}${c.code === 0 ? '' : ` (${c.details})`} ${c.ms.toFixed(1)} ms\n`);
}

export async function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        server: { type: 'string', short: 's' },
        output: { type: 'string', short: 'o', default: 'table' },
        'network-instance': { type: 'string' },
        'vlan-index': { type: 'string' },
        'owner-prefix': { type: 'string' },
        token: { type: 'string' },
        'token-file': { type: 'string' },
        'tls-ca': { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-server-name': { type: 'string' },
        timeout: { type: 'string' },
        verbose: { type: 'boolean', short: 'v' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
    });
  } catch (e) {
    process.stderr.write(`get: ${(e as Error).message} (ipam-injector get --help lists the flags)\n`);
    return 2;
  }
  const { values: a, positionals } = parsed;
  if (a.help) {
    out(`${USAGE}\n`);
    return 0;
  }
  const what = RESOURCES[positionals[0] ?? ''];
  if (!what || positionals.length !== 1) {
    process.stderr.write(
      `get: say what to list: allocations, prefixes, network-instances, vlan-indexes or vlan-claims (ipam-injector get --help)\n`,
    );
    return 2;
  }
  const server = a.server || process.env.IPAM_INJECTOR_ADDRESS || DEFAULT_SERVER;
  if (!['table', 'wide', 'yaml', 'json'].includes(a.output!)) {
    process.stderr.write(`get: -o must be table, wide, yaml or json, not "${a.output}"\n`);
    return 2;
  }
  const wide = a.output === 'wide';
  const admin = new AdminClient(
    new GrpcConnection({
      address: server,
      ...(a.token ? { token: a.token } : {}),
      ...(a['token-file'] ? { tokenFile: a['token-file'] } : {}),
      ...(a['tls-ca'] ? { tlsCa: a['tls-ca'] } : {}),
      ...(a['tls-cert'] ? { tlsCert: a['tls-cert'] } : {}),
      ...(a['tls-key'] ? { tlsKey: a['tls-key'] } : {}),
      ...(a['tls-server-name'] ? { tlsServerName: a['tls-server-name'] } : {}),
      ...(a.timeout ? { timeout: a.timeout } : {}),
      ...(a.verbose ? { onCall: logCall } : {}),
      retries: 1,
    }),
  );
  const niText = a['network-instance'];
  const ni = niText
    ? niText.includes('/')
      ? { namespace: niText.split('/')[0], name: niText.split('/')[1] }
      : { name: niText, namespace: 'default' }
    : undefined;
  const vxText = a['vlan-index'];
  const vx = vxText
    ? vxText.includes('/')
      ? { namespace: vxText.split('/')[0], name: vxText.split('/')[1] }
      : { name: vxText, namespace: 'default' }
    : undefined;
  try {
    let items: object[];
    let table: string[][];
    if (what === 'allocations') {
      const all = await admin.allAllocations({
        ...(ni ? { networkInstance: ni } : {}),
        ...(a['owner-prefix'] ? { ownerPrefix: a['owner-prefix'] } : {}),
      });
      items = all;
      table = [
        ['NETWORK-INSTANCE', 'PREFIX', 'KIND', 'GATEWAY', 'PARENT', 'OWNER', ...(wide ? ['LABELS'] : [])],
        ...all.map((x) => [
          niName(x.networkInstance),
          x.prefix ?? '',
          x.kind ?? '',
          x.gateway || '-',
          x.parent || '-',
          x.owner ?? '',
          ...(wide ? [labels(x.labels)] : []),
        ]),
      ];
    } else if (what === 'prefixes') {
      const all = await admin.allPrefixes({ ...(ni ? { networkInstance: ni } : {}), utilization: true });
      items = all;
      table = [
        ['NETWORK-INSTANCE', 'PREFIX', 'KIND', 'FAMILY', 'USED', 'FREE', 'TOTAL', 'UTILIZATION', 'OWNER', ...(wide ? ['LABELS'] : [])],
        ...all.map((p) => {
          const u = p.utilization;
          return [
            niName(p.networkInstance),
            p.prefix ?? '',
            p.kind ?? '',
            p.addressFamily ?? '',
            u?.used ?? '-',
            u?.free ?? '-',
            u?.total ?? '-',
            u ? percent(u.used ?? '0', u.total ?? '0') : '-',
            p.owner ?? '',
            ...(wide ? [labels(p.labels)] : []),
          ];
        }),
      ];
    } else if (what === 'vlan-indexes') {
      const res = await admin.listVlanIndexes();
      items = res.indexes;
      table = [
        ['NAMESPACE', 'NAME', 'KIND', 'LABELS', 'OWNER'],
        ...res.indexes.map((x) => [
          x.ref?.namespace ?? '',
          x.ref?.name ?? '',
          x.kind ?? '',
          labels(x.labels) + (x.implied ? ' (implied)' : ''),
          x.owner ?? '',
        ]),
      ];
    } else if (what === 'vlan-claims') {
      const all = await admin.allVlanClaims({
        ...(vx ? { index: vx } : {}),
        ...(a['owner-prefix'] ? { ownerPrefix: a['owner-prefix'] } : {}),
      });
      items = all;
      table = [
        ['VLAN-INDEX', 'VLAN', 'CLAIM-NAME', 'OWNER'],
        ...all.map((c) => [
          niName(c.index),
          c.vlanRange || String(c.vlanID ?? ''),
          c.claim || (c.definition ? '(definition)' : '-'),
          c.owner ?? '',
        ]),
      ];
    } else {
      const res = await admin.listNetworkInstances();
      items = res.networkInstances;
      table = [
        ['NAMESPACE', 'NAME', 'PREFIXES', 'OWNER'],
        ...res.networkInstances.map((n) => [
          n.namespace ?? '',
          n.name ?? '',
          (n.prefixes ?? []).map((p) => p.prefix).join(',') || '-',
          n.owner ?? '',
        ]),
      ];
    }
    if (a.output === 'json') out(`${JSON.stringify({ kind: 'List', items }, null, 2)}\n`);
    else if (a.output === 'yaml') out(stringify({ kind: 'List', items }));
    else out(items.length === 0 ? `No ${what} found.\n` : renderTable(table));
    return 0;
  } catch (e) {
    const err = (e as ServiceError).code !== undefined ? fromServiceError(e as ServiceError, `get ${what} from ${server}`) : (e as Error);
    process.stderr.write(`get: ${err.message}\n`);
    return 1;
  } finally {
    admin.conn.close();
  }
}

/** Labels as k=v,k=v in key order; `-` when there are none. */
const labels = (m: Record<string, string> | undefined) =>
  Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${m![k]}`)
    .join(',') || '-';

const niName = (r: { name?: string; namespace?: string } | undefined) => (r ? `${r.namespace || 'default'}/${r.name ?? ''}` : '');

/** used/total as a percentage with one decimal, exact for IPv6 sizes (BigInt). */
export function percent(used: string, total: string): string {
  const t = BigInt(total || '0');
  if (t === 0n) return '-';
  const permille = (BigInt(used || '0') * 1000n) / t;
  return `${permille / 10n}.${permille % 10n}%`;
}

export function renderTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return (
    rows
      .map((r) =>
        r
          .map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]! + 3)))
          .join('')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
