// Allocation requests: validation into a Plan (kind, class, family, length, static prefix,
// labels), and whether what an owner holds still answers a request (idempotency).

import { Cidr, compareWords } from './addr.js';
import { candidates, ReqClass } from './candidates.js';
import { IpamError } from './errors.js';
import {
  EMPTY_LABELS,
  isEmptyLabels,
  L_ADDRESS_FAMILY,
  L_NETWORK_NAME,
  renderSelector,
  selectorMatches,
  selectorProblem,
} from './labels.js';
import { kindCode, parseField } from './prefixes.js';
import { KIND_NAMES, KindCode, RowFlag, RowType } from './rows.js';
import type { Instance, IpamState } from './state.js';
import type { AllocationRequest, LabelSelector, Labels } from './types.js';

export interface Plan {
  req: AllocationRequest;
  inst: Instance;
  owner: string;
  kind: KindCode;
  cls: ReqClass;
  /** -1 either, 0 ipv4, 1 ipv6 */
  family: number;
  /** -1 when not given */
  prefixLength: number;
  stat: Cidr | null;
  sel: LabelSelector | undefined;
  labels: Labels;
  /** nephio.org/network-name of a subnet being created */
  networkName: string | undefined;
}

function famCode(v: unknown, field: string, inst: Instance): number {
  if (v === 'ipv4') return 0;
  if (v === 'ipv6') return 1;
  throw new IpamError('InvalidArgument', `unknown address family ${JSON.stringify(v)} in network instance ${inst.key}: want ipv4 or ipv6`, {
    networkInstance: inst.key,
    field,
  });
}

export function plan(state: IpamState, req: AllocationRequest): Plan {
  if (!req || typeof req.owner !== 'string' || req.owner === '') {
    throw new IpamError('InvalidArgument', 'allocation owner is required', { field: 'owner' });
  }
  const inst = state.instance(req.networkInstance);
  const kind = kindCode(req.kind, 'spec.kind', inst);
  const sel = req.selector;
  if (sel && sel.matchExpressions) {
    const p = selectorProblem(sel);
    if (p)
      throw new IpamError('InvalidArgument', `invalid selector ${renderSelector(sel)} in network instance ${inst.key}: ${p}`, {
        networkInstance: inst.key,
        selector: renderSelector(sel),
        field: 'spec.selector',
      });
  }
  let family = -1;
  if (req.addressFamily !== undefined && req.addressFamily !== null) family = famCode(req.addressFamily, 'spec.addressFamily', inst);
  const fl = sel?.matchLabels?.[L_ADDRESS_FAMILY];
  if (fl !== undefined) {
    const f = famCode(fl, `spec.selector.matchLabels[${L_ADDRESS_FAMILY}]`, inst);
    if (family >= 0 && f !== family) {
      throw new IpamError(
        'InvalidArgument',
        `addressFamily ${req.addressFamily} contradicts selector label ${L_ADDRESS_FAMILY}=${fl} in network instance ${inst.key}`,
        { networkInstance: inst.key, field: 'spec.addressFamily' },
      );
    }
    family = f;
  }
  let prefixLength = -1;
  if (req.prefixLength !== undefined && req.prefixLength !== null) {
    const pl = req.prefixLength;
    if (!Number.isInteger(pl) || pl < 0 || pl > 128) {
      throw new IpamError('InvalidArgument', `invalid prefixLength ${JSON.stringify(pl)} in network instance ${inst.key}`, {
        networkInstance: inst.key,
        field: 'spec.prefixLength',
      });
    }
    prefixLength = pl;
  }
  let stat: Cidr | null = null;
  if (req.prefix !== undefined && req.prefix !== null && req.prefix !== '') {
    stat = parseField(req.prefix, 'spec.prefix', inst);
    const f = stat.v6 ? 1 : 0;
    if (family >= 0 && f !== family) {
      throw new IpamError('InvalidArgument', `prefix ${req.prefix} is not ${family ? 'ipv6' : 'ipv4'} (network instance ${inst.key})`, {
        networkInstance: inst.key,
        prefix: req.prefix,
        field: 'spec.prefix',
      });
    }
    family = f;
  }
  let cls: ReqClass;
  switch (kind) {
    case KindCode.Network:
      cls = req.createPrefix || prefixLength >= 0 ? ReqClass.Subnet : ReqClass.Host;
      if (cls === ReqClass.Subnet && prefixLength < 0 && !stat) {
        throw new IpamError('InvalidArgument', `creating a network prefix needs prefixLength (network instance ${inst.key})`, {
          networkInstance: inst.key,
          field: 'spec.prefixLength',
        });
      }
      break;
    case KindCode.Loopback:
      cls = ReqClass.Loopback;
      if (prefixLength >= 0) {
        if (prefixLength !== 32 && prefixLength !== 128) {
          throw new IpamError(
            'InvalidArgument',
            `kind loopback allocates single addresses: prefixLength must be 32 or 128, not ${prefixLength} (network instance ${inst.key})`,
            { networkInstance: inst.key, field: 'spec.prefixLength' },
          );
        }
        const f = prefixLength === 128 ? 1 : 0;
        if (family >= 0 && f !== family) {
          throw new IpamError(
            'InvalidArgument',
            `prefixLength ${prefixLength} does not fit the address family (network instance ${inst.key})`,
            { networkInstance: inst.key, field: 'spec.prefixLength' },
          );
        }
        family = f;
      }
      break;
    case KindCode.Pool:
      cls = ReqClass.Pool;
      if (prefixLength < 0 && !stat) {
        throw new IpamError('InvalidArgument', `a pool request needs prefixLength (network instance ${inst.key})`, {
          networkInstance: inst.key,
          field: 'spec.prefixLength',
        });
      }
      break;
    default:
      cls = ReqClass.Aggregate;
      if (!stat) {
        throw new IpamError(
          'InvalidArgument',
          `a dynamic aggregate request is not allowed: an aggregate needs spec.prefix (network instance ${inst.key})`,
          { networkInstance: inst.key, field: 'spec.prefix' },
        );
      }
  }
  if (family === 0 && prefixLength > 32 && cls !== ReqClass.Loopback) {
    throw new IpamError('InvalidArgument', `prefixLength ${prefixLength} is longer than an IPv4 address (network instance ${inst.key})`, {
      networkInstance: inst.key,
      field: 'spec.prefixLength',
    });
  }
  let labels: Labels = req.labels && !isEmptyLabels(req.labels) ? req.labels : EMPTY_LABELS;
  let networkName: string | undefined;
  if (cls === ReqClass.Subnet) {
    networkName = labels[L_NETWORK_NAME] ?? sel?.matchLabels?.[L_NETWORK_NAME];
    if (networkName !== undefined && labels[L_NETWORK_NAME] === undefined) labels = { ...labels, [L_NETWORK_NAME]: networkName };
  }
  return { req, inst, owner: req.owner, kind, cls, family, prefixLength, stat, sel, labels, networkName };
}

export function noMatch(p: Plan): IpamError {
  const s = renderSelector(p.sel);
  const what =
    p.cls === ReqClass.Host
      ? 'network'
      : p.cls === ReqClass.Subnet
        ? 'aggregate'
        : p.cls === ReqClass.Loopback
          ? 'loopback or aggregate'
          : 'pool or aggregate';
  const fam = p.family < 0 ? '' : p.family ? ' ipv6' : ' ipv4';
  return new IpamError(
    'NotFound',
    `no prefix matches selector ${s} in network instance ${p.inst.key} (wanted a${fam} ${what} prefix for kind ${KIND_NAMES[p.kind]})`,
    {
      networkInstance: p.inst.key,
      selector: s,
      field: 'spec.selector',
    },
  );
}

/** The row's request class (what kind of request made it). */
export function rowClass(state: IpamState, r: number): ReqClass {
  const rows = state.rows;
  switch (rows.kind(r) as KindCode) {
    case KindCode.Network:
      return rows.type(r) === RowType.Ref || rows.isHost(r) ? ReqClass.Host : ReqClass.Subnet;
    case KindCode.Loopback:
      return ReqClass.Loopback;
    case KindCode.Pool:
      return ReqClass.Pool;
    default:
      return ReqClass.Aggregate;
  }
}

/** Does the owner's current allocation already answer this request? */
export function satisfies(state: IpamState, r: number, p: Plan): boolean {
  const rows = state.rows;
  if (rows.inst(r) !== p.inst.id || rows.kind(r) !== p.kind || rowClass(state, r) !== p.cls) return false;
  const v6 = rows.isV6(r);
  if (p.family >= 0 && (v6 ? 1 : 0) !== p.family) return false;
  const t = rows.type(r);
  if (t === RowType.Ref) {
    // still the answer while no subnet matches and this reserved address comes first
    if (p.stat) return false;
    const c = candidates(state, p.inst, p.cls, p.family, p.sel);
    return c.primary.length === 0 && c.refs[0] === rows.parent(r);
  }
  if (p.cls === ReqClass.Subnet && state.meta.get(r)?.networkName !== p.networkName) return false;
  if (p.stat) {
    const s = p.stat;
    if (s.v6 !== v6 || compareWords(rows.page(r), rows.at(r), s.w, 0) !== 0) return false;
    if (p.cls === ReqClass.Host) return rows.len(rows.parent(r)) === s.len;
    if (p.cls === ReqClass.Loopback) return true;
    return rows.len(r) === s.len;
  }
  if ((p.cls === ReqClass.Subnet || p.cls === ReqClass.Pool) && rows.len(r) !== p.prefixLength) return false;
  const parent = rows.parent(r);
  if (parent !== 0 && (rows.flags(parent) & RowFlag.Selectable) !== 0) {
    const m = state.meta.get(parent);
    if (m && !selectorMatches(p.sel, m.sel, p.cls === ReqClass.Subnet ? L_NETWORK_NAME : undefined)) return false;
  }
  return true;
}
