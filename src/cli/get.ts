// `ipam-injector get allocations|prefixes|network-instances|vlan-indexes|vlan-claims [--server HOST:PORT] [-o table|wide|yaml|json]`
// Reads through the admin service; tables in the style of kubectl (utilization for prefixes).
import { stringify } from 'yaml';
import { status, type ServiceError } from '@grpc/grpc-js';
import { AdminClient } from '../protocol/admin-client.js';
import { GrpcConnection, type CallRecord, type ConnectionOptions } from '../protocol/connection.js';
import { fromServiceError } from '../protocol/status.js';
import { flagUsage, parseFlags, type Flag, type FlagValues } from './flags.js';

const DEFAULT_SERVER = '127.0.0.1:9090';

const FLAGS = [
  {
    name: 'server',
    short: 's',
    type: 'string',
    env: 'IPAM_INJECTOR_ADDRESS',
    default: DEFAULT_SERVER,
    arg: 'HOST:PORT',
    help: `the server (default: $IPAM_INJECTOR_ADDRESS, else ${DEFAULT_SERVER})`,
  },
  {
    name: 'output',
    short: 'o',
    type: 'string',
    default: 'table',
    arg: 'table|wide|yaml|json',
    help: "table (default); wide: the table plus each entry's labels;\nyaml, json: every field, as a List",
  },
  { name: 'network-instance', type: 'string', arg: 'NAME', help: 'only this network instance (namespace/name or name)' },
  { name: 'vlan-index', type: 'string', arg: 'NAME', help: 'vlan-claims: only this VLAN index (namespace/name or name)' },
  {
    name: 'owner-prefix',
    type: 'string',
    arg: 'P',
    help: 'allocations or VLAN claims whose owner starts with P (e.g. a package: "pkg|")',
  },
  { name: 'token', type: 'string', usage: '--token T | --token-file F', help: 'bearer token' },
  { name: 'token-file', type: 'string' },
  { name: 'tls-ca', type: 'string', usage: '--tls-ca F [--tls-cert F --tls-key F] [--tls-server-name N]', help: '' },
  { name: 'tls-cert', type: 'string' },
  { name: 'tls-key', type: 'string' },
  { name: 'tls-server-name', type: 'string' },
  { name: 'timeout', type: 'string', arg: '10s', help: '' },
  { name: 'verbose', short: 'v', type: 'boolean', help: 'each gRPC call on stderr: method, status, time' },
  { name: 'help', short: 'h', type: 'boolean' },
] as const satisfies readonly Flag[];

type Flags = FlagValues<typeof FLAGS>;

const USAGE = `ipam-injector get: list what an IPAM server (ipam-injector serve) holds, through its admin API.

usage: ipam-injector get allocations|prefixes|network-instances|vlan-indexes|vlan-claims [flags]
${flagUsage(FLAGS, 33)}`;

type Resource = 'allocations' | 'prefixes' | 'network-instances' | 'vlan-indexes' | 'vlan-claims';

const RESOURCES: Record<string, Resource> = {
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

const OUTPUTS = ['table', 'wide', 'yaml', 'json'];

function logCall(c: CallRecord): void {
  const code = status[c.code] ?? String(c.code);
  process.stderr.write(`get: ${c.method} ${code}${c.code === 0 ? '' : ` (${c.details})`} ${c.ms.toFixed(1)} ms\n`);
}

export async function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const command = readCommandLine(argv, out);
  if (typeof command === 'number') return command;
  const { what, flags } = command;
  const admin = new AdminClient(new GrpcConnection(connectionOptions(flags)));
  try {
    const { items, table } = await LISTS[what](admin, flags, flags.output === 'wide');
    out(render(what, flags.output!, items, table));
    return 0;
  } catch (e) {
    const err =
      (e as ServiceError).code !== undefined ? fromServiceError(e as ServiceError, `get ${what} from ${flags.server}`) : (e as Error);
    process.stderr.write(`get: ${err.message}\n`);
    return 1;
  } finally {
    admin.conn.close();
  }
}

/** What to list and how, or the exit code when there is nothing to list (--help, a usage error). */
function readCommandLine(argv: string[], out: (s: string) => void): { what: Resource; flags: Flags } | number {
  let parsed;
  try {
    parsed = parseFlags(FLAGS, argv, { allowPositionals: true });
  } catch (e) {
    process.stderr.write(`get: ${(e as Error).message} (ipam-injector get --help lists the flags)\n`);
    return 2;
  }
  const { values: flags, positionals } = parsed;
  if (flags.help) {
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
  if (!OUTPUTS.includes(flags.output!)) {
    process.stderr.write(`get: -o must be table, wide, yaml or json, not "${flags.output}"\n`);
    return 2;
  }
  return { what, flags };
}

function connectionOptions(flags: Flags): ConnectionOptions {
  return {
    address: flags.server!,
    ...(flags.token ? { token: flags.token } : {}),
    ...(flags['token-file'] ? { tokenFile: flags['token-file'] } : {}),
    ...(flags['tls-ca'] ? { tlsCa: flags['tls-ca'] } : {}),
    ...(flags['tls-cert'] ? { tlsCert: flags['tls-cert'] } : {}),
    ...(flags['tls-key'] ? { tlsKey: flags['tls-key'] } : {}),
    ...(flags['tls-server-name'] ? { tlsServerName: flags['tls-server-name'] } : {}),
    ...(flags.timeout ? { timeout: flags.timeout } : {}),
    ...(flags.verbose ? { onCall: logCall } : {}),
    retries: 1,
  };
}

/** `namespace/name` or `name` (in namespace default). */
function refOf(text: string | undefined): { name: string; namespace: string } | undefined {
  if (!text) return undefined;
  if (!text.includes('/')) return { name: text, namespace: 'default' };
  const [namespace, name] = text.split('/');
  return { namespace: namespace!, name: name! };
}

/** What the server holds of one resource: every field (items) and the table's rows. */
interface Listing {
  items: object[];
  table: string[][];
}

const LISTS: Record<Resource, (admin: AdminClient, flags: Flags, wide: boolean) => Promise<Listing>> = {
  allocations: listAllocations,
  prefixes: listPrefixes,
  'vlan-indexes': listVlanIndexes,
  'vlan-claims': listVlanClaims,
  'network-instances': listNetworkInstances,
};

async function listAllocations(admin: AdminClient, flags: Flags, wide: boolean): Promise<Listing> {
  const ni = refOf(flags['network-instance']);
  const all = await admin.allAllocations({
    ...(ni ? { networkInstance: ni } : {}),
    ...(flags['owner-prefix'] ? { ownerPrefix: flags['owner-prefix'] } : {}),
  });
  const table = [
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
  return { items: all, table };
}

async function listPrefixes(admin: AdminClient, flags: Flags, wide: boolean): Promise<Listing> {
  const ni = refOf(flags['network-instance']);
  const all = await admin.allPrefixes({ ...(ni ? { networkInstance: ni } : {}), utilization: true });
  const table = [
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
  return { items: all, table };
}

async function listVlanIndexes(admin: AdminClient): Promise<Listing> {
  const res = await admin.listVlanIndexes();
  const table = [
    ['NAMESPACE', 'NAME', 'KIND', 'LABELS', 'OWNER'],
    ...res.indexes.map((x) => [
      x.ref?.namespace ?? '',
      x.ref?.name ?? '',
      x.kind ?? '',
      labels(x.labels) + (x.implied ? ' (implied)' : ''),
      x.owner ?? '',
    ]),
  ];
  return { items: res.indexes, table };
}

async function listVlanClaims(admin: AdminClient, flags: Flags): Promise<Listing> {
  const vx = refOf(flags['vlan-index']);
  const all = await admin.allVlanClaims({
    ...(vx ? { index: vx } : {}),
    ...(flags['owner-prefix'] ? { ownerPrefix: flags['owner-prefix'] } : {}),
  });
  const table = [
    ['VLAN-INDEX', 'VLAN', 'CLAIM-NAME', 'OWNER'],
    ...all.map((c) => [
      niName(c.index),
      c.vlanRange || String(c.vlanID ?? ''),
      c.claim || (c.definition ? '(definition)' : '-'),
      c.owner ?? '',
    ]),
  ];
  return { items: all, table };
}

async function listNetworkInstances(admin: AdminClient): Promise<Listing> {
  const res = await admin.listNetworkInstances();
  const table = [
    ['NAMESPACE', 'NAME', 'PREFIXES', 'OWNER'],
    ...res.networkInstances.map((n) => [
      n.namespace ?? '',
      n.name ?? '',
      (n.prefixes ?? []).map((p) => p.prefix).join(',') || '-',
      n.owner ?? '',
    ]),
  ];
  return { items: res.networkInstances, table };
}

/** The listing as -o asks: a List in JSON or YAML, or the table. */
function render(what: Resource, output: string, items: object[], table: string[][]): string {
  if (output === 'json') return `${JSON.stringify({ kind: 'List', items }, null, 2)}\n`;
  if (output === 'yaml') return stringify({ kind: 'List', items });
  return items.length === 0 ? `No ${what} found.\n` : renderTable(table);
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
