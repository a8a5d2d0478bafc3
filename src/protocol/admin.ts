// ipaminjector.admin.v1 <-> allocator types, both directions.
import type {
  Allocation,
  AllocationRequest,
  InstancePrefix,
  NetworkInstanceInfo,
  NetworkInstanceRef,
  PrefixInfo,
  PrefixSpec,
  Utilization,
} from '../ipam/types.js';
import { IpamError, type IpamErrorCode } from '../ipam/errors.js';
import { isEmptyLabels } from '../ipam/labels.js';
import type {
  WAllocation,
  WAllocationRequest,
  WError,
  WInstancePrefix,
  WNetworkInstance,
  WNetworkInstanceRef,
  WPrefix,
  WPrefixSpec,
} from './messages.js';
import { checkFamily, checkKind, checkLabels, checkPrefixLength, checkSelector, checkString, invalid, type Limits } from './validate.js';
import { clip, grpcCodeOf, ipamCodeOf } from './status.js';

export function fromWRef(
  r: WNetworkInstanceRef | undefined,
  field: string,
  limits: Limits,
  required = true,
  suffix = '',
): NetworkInstanceRef | undefined {
  const name = checkString(r?.name, field, limits, required, `${suffix}.name`);
  if (!name) return undefined;
  return { name, namespace: (r?.namespace ? checkString(r.namespace, field, limits, false, `${suffix}.namespace`) : '') || 'default' };
}

export const toWRef = (r: NetworkInstanceRef): WNetworkInstanceRef => ({ name: r.name, namespace: r.namespace || 'default' });

export function fromWInstancePrefixes(ps: WInstancePrefix[] | undefined, field: string, limits: Limits): InstancePrefix[] {
  const list = ps ?? [];
  if (list.length > limits.maxBatch) throw invalid(field, `at most ${limits.maxBatch} prefixes`);
  return list.map((p, i) => {
    const labels = checkLabels(p.labels, `${field}[${i}].labels`, limits);
    return { prefix: checkString(p.prefix, `${field}[${i}].prefix`, limits, true), ...(Object.keys(labels).length ? { labels } : {}) };
  });
}

export function fromWPrefixSpec(p: WPrefixSpec, field: string, limits: Limits, owner: string): PrefixSpec {
  const labels = checkLabels(p.labels, `${field}.labels`, limits);
  const networkName = checkString(p.networkName, `${field}.networkName`, limits);
  return {
    networkInstance: fromWRef(p.networkInstance, `${field}.networkInstance`, limits)!,
    prefix: checkString(p.prefix, `${field}.prefix`, limits, true),
    kind: checkKind(p.kind, `${field}.kind`),
    ...(networkName ? { networkName } : {}),
    labels,
    owner,
  };
}

export function toWPrefixSpec(p: PrefixSpec, owner = p.owner): WPrefixSpec {
  return {
    networkInstance: toWRef(p.networkInstance),
    prefix: p.prefix,
    kind: p.kind,
    networkName: p.networkName ?? '',
    labels: { ...(p.labels ?? {}) },
    owner,
  };
}

export function fromWAllocationRequest(r: WAllocationRequest, field: string, limits: Limits, owner: string): AllocationRequest {
  // This runs for every request of every batch: field names are joined only for an error,
  // absent fields are not checked, and the result is built by assignment (each conditional
  // spread allocated a temporary object).
  const out: AllocationRequest = {
    owner,
    networkInstance: fromWRef(r.networkInstance, field, limits, true, '.networkInstance')!,
    kind: checkKind(r.kind, field, 'network', '.kind'),
  };
  const selector = checkSelector(r.selector, field, limits, '.selector');
  if (selector) out.selector = selector;
  if (r.prefix) out.prefix = checkString(r.prefix, field, limits, false, '.prefix');
  if (r.prefixLength) out.prefixLength = checkPrefixLength(r.prefixLength, `${field}.prefixLength`)!;
  if (r.addressFamily) out.addressFamily = checkFamily(r.addressFamily, `${field}.addressFamily`)!;
  if (r.createPrefix) out.createPrefix = true;
  if (!isEmptyLabels(r.labels)) out.labels = checkLabels(r.labels, field, limits, '.labels');
  if (r.index !== undefined && r.index !== null) out.index = r.index;
  if (r.hint) out.hint = checkString(r.hint, field, limits, false, '.hint');
  return out;
}

export function toWAllocationRequest(r: AllocationRequest, owner = r.owner, dryRun = false): WAllocationRequest {
  return {
    owner,
    networkInstance: toWRef(r.networkInstance),
    kind: r.kind,
    ...(r.selector
      ? {
          selector: {
            matchLabels: { ...(r.selector.matchLabels ?? {}) },
            matchExpressions: (r.selector.matchExpressions ?? []).map((e) => ({
              key: e.key,
              operator: e.operator,
              values: e.values ?? [],
            })),
          },
        }
      : {}),
    prefix: r.prefix ?? '',
    ...(r.prefixLength !== undefined ? { prefixLength: r.prefixLength } : {}),
    addressFamily: r.addressFamily ?? '',
    createPrefix: r.createPrefix ?? false,
    labels: { ...(r.labels ?? {}) },
    ...(r.index !== undefined ? { index: r.index } : {}),
    hint: r.hint ?? '',
    dryRun,
  };
}

export function toWAllocation(a: Allocation, owner = a.owner): WAllocation {
  return {
    owner,
    networkInstance: toWRef(a.networkInstance),
    kind: a.kind,
    addressFamily: a.addressFamily,
    prefix: a.prefix,
    gateway: a.gateway ?? '',
    parent: a.parent,
    labels: { ...a.labels },
  };
}

export function fromWAllocation(w: WAllocation, owner = w.owner ?? ''): Allocation {
  return {
    owner,
    networkInstance: { name: w.networkInstance?.name ?? '', namespace: w.networkInstance?.namespace || 'default' },
    kind: (w.kind || 'network') as Allocation['kind'],
    addressFamily: (w.addressFamily || 'ipv4') as Allocation['addressFamily'],
    prefix: w.prefix ?? '',
    ...(w.gateway ? { gateway: w.gateway } : {}),
    parent: w.parent ?? '',
    labels: { ...(w.labels ?? {}) },
  };
}

export function toWPrefix(p: PrefixInfo, u?: Utilization): WPrefix {
  return {
    networkInstance: toWRef(p.networkInstance),
    prefix: p.prefix,
    kind: p.kind,
    addressFamily: p.addressFamily,
    labels: { ...p.labels },
    owner: p.owner,
    reserved: [...(p.reserved ?? [])],
    ...(u ? { utilization: { total: u.total, used: u.used, free: u.free } } : {}),
  };
}

export function toWNetworkInstance(n: NetworkInstanceInfo): WNetworkInstance {
  return {
    name: n.name,
    namespace: n.namespace,
    owner: n.owner,
    prefixes: n.prefixes.map((p) => ({ prefix: p.prefix, labels: { ...(p.labels ?? {}) } })),
  };
}

/** An error inside a batch answer. */
export function toWError(e: unknown, subject = ''): WError {
  if (e instanceof IpamError) {
    return {
      code: grpcCodeOf(e.code),
      message: clip(e.message),
      reason: e.code,
      networkInstance: e.details.networkInstance ?? '',
      selector: clip(e.details.selector ?? ''),
      prefix: e.details.prefix ?? '',
      field: e.details.field ?? '',
      dependents: [...(e.details.dependents ?? [])],
      subject,
    };
  }
  return { code: 13, message: clip((e as Error)?.message ?? String(e)), reason: '', dependents: [], subject };
}

export function fromWError(w: WError): Error {
  const reason = (w.reason || ipamCodeOf(w.code ?? 13)) as IpamErrorCode | undefined;
  const message = w.message ?? 'error';
  if (!reason) return new Error(message);
  return new IpamError(reason, message, {
    ...(w.networkInstance ? { networkInstance: w.networkInstance } : {}),
    ...(w.selector ? { selector: w.selector } : {}),
    ...(w.prefix ? { prefix: w.prefix } : {}),
    ...(w.field ? { field: w.field } : {}),
    ...(w.dependents?.length ? { dependents: w.dependents } : {}),
  });
}
