// Allocation requests: validation into a Plan (kind, class, family, length, static prefix,
// labels), and whether what an owner holds still answers a request (idempotency).

import { Cidr, compareWords } from './addr.js';
import { candidates, classOfAllocation, RequestClass } from './candidates.js';
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
  requestClass: RequestClass;
  /** -1 either, 0 ipv4, 1 ipv6 */
  family: number;
  /** -1 when not given */
  prefixLength: number;
  /** The prefix or address a static request names (null: a dynamic request). */
  staticPrefix: Cidr | null;
  selector: LabelSelector | undefined;
  labels: Labels;
  /** nephio.org/network-name of a subnet being created */
  networkName: string | undefined;
  /** The sticky hint: the request's, or the logged answer a replay asks for. */
  hint: string | undefined;
}

/** Validates a request into the plan every later step reads; each refusal names its field. */
export function plan(state: IpamState, req: AllocationRequest, hint: string | undefined): Plan {
  if (!req || typeof req.owner !== 'string' || req.owner === '') {
    throw new IpamError('InvalidArgument', 'allocation owner is required', { field: 'owner' });
  }
  const inst = state.instance(req.networkInstance);
  const kind = kindCode(req.kind, 'spec.kind', inst);
  const selector = req.selector;
  if (selector?.matchExpressions) checkSelector(selector, inst);
  let family = requestedFamily(req, inst);
  const prefixLength = requestedLength(req, inst);
  const staticPrefix = parseStatic(req.prefix, family, inst);
  if (staticPrefix) family = staticPrefix.v6 ? 1 : 0;
  const requestClass = classOf(kind, req.createPrefix, prefixLength, staticPrefix, inst);
  if (requestClass === RequestClass.Loopback) family = loopbackFamily(prefixLength, family, inst);
  else if (family === 0 && prefixLength > 32) throw longerThanV4(prefixLength, inst);
  const own = req.labels && !isEmptyLabels(req.labels) ? req.labels : EMPTY_LABELS;
  const networkName = requestClass === RequestClass.Subnet ? subnetNetworkName(own, selector) : undefined;
  const labels = networkName !== undefined && own[L_NETWORK_NAME] === undefined ? { ...own, [L_NETWORK_NAME]: networkName } : own;
  return { req, inst, owner: req.owner, kind, requestClass, family, prefixLength, staticPrefix, selector, labels, networkName, hint };
}

/** The network a created subnet belongs to: its own nephio.org/network-name label, else the selector's. */
const subnetNetworkName = (labels: Labels, selector: LabelSelector | undefined): string | undefined =>
  labels[L_NETWORK_NAME] ?? selector?.matchLabels?.[L_NETWORK_NAME];

// The checks below stay small so that V8 inlines them into plan(); the refusals, built only
// when thrown, are the functions after them.

function checkSelector(selector: LabelSelector, inst: Instance): void {
  const problem = selectorProblem(selector);
  if (problem) throw badSelector(selector, problem, inst);
}

function familyCode(v: unknown, field: string, inst: Instance): number {
  if (v === 'ipv4') return 0;
  if (v === 'ipv6') return 1;
  throw invalid(inst, field, `unknown address family ${JSON.stringify(v)} in network instance ${inst.key}: want ipv4 or ipv6`);
}

/** spec.addressFamily and the selector's address-family label, which must agree; -1 when neither. */
function requestedFamily(req: AllocationRequest, inst: Instance): number {
  const given = req.addressFamily;
  const family = given !== undefined && given !== null ? familyCode(given, 'spec.addressFamily', inst) : -1;
  const label = req.selector?.matchLabels?.[L_ADDRESS_FAMILY];
  if (label === undefined) return family;
  const selected = familyCode(label, `spec.selector.matchLabels[${L_ADDRESS_FAMILY}]`, inst);
  if (family >= 0 && selected !== family) throw familyContradiction(given, label, inst);
  return selected;
}

/** spec.prefixLength, 0-128; -1 when not given. */
function requestedLength(req: AllocationRequest, inst: Instance): number {
  const length = req.prefixLength;
  if (length === undefined || length === null) return -1;
  if (!Number.isInteger(length) || length < 0 || length > 128) throw badLength(length, inst);
  return length;
}

/** spec.prefix of a static request, of the requested family when one is; null when not given. */
function parseStatic(text: string | undefined | null, family: number, inst: Instance): Cidr | null {
  if (text === undefined || text === null || text === '') return null;
  const prefix = parseField(text, 'spec.prefix', inst);
  if (family >= 0 && (prefix.v6 ? 1 : 0) !== family) throw otherFamily(text, family, inst);
  return prefix;
}

/** The request class of a kind, with what that class needs (a length, or a static prefix). */
function classOf(
  kind: KindCode,
  createPrefix: boolean | undefined,
  prefixLength: number,
  staticPrefix: Cidr | null,
  inst: Instance,
): RequestClass {
  switch (kind) {
    case KindCode.Network:
      if (!createPrefix && prefixLength < 0) return RequestClass.Host;
      if (prefixLength < 0 && !staticPrefix) throw needsLength('creating a network prefix', inst);
      return RequestClass.Subnet;
    case KindCode.Loopback:
      return RequestClass.Loopback;
    case KindCode.Pool:
      if (prefixLength < 0 && !staticPrefix) throw needsLength('a pool request', inst);
      return RequestClass.Pool;
    default:
      if (!staticPrefix) throw dynamicAggregate(inst);
      return RequestClass.Aggregate;
  }
}

/** A loopback request with a length asks for one address: /32 is IPv4, /128 IPv6. */
function loopbackFamily(prefixLength: number, family: number, inst: Instance): number {
  if (prefixLength < 0) return family;
  if (prefixLength !== 32 && prefixLength !== 128) throw loopbackLength(prefixLength, inst);
  const implied = prefixLength === 128 ? 1 : 0;
  if (family >= 0 && implied !== family) throw loopbackFamilyMismatch(prefixLength, inst);
  return implied;
}

const invalid = (inst: Instance, field: string, message: string): IpamError =>
  new IpamError('InvalidArgument', message, { networkInstance: inst.key, field });

function badSelector(selector: LabelSelector, problem: string, inst: Instance): IpamError {
  const text = renderSelector(selector);
  return new IpamError('InvalidArgument', `invalid selector ${text} in network instance ${inst.key}: ${problem}`, {
    networkInstance: inst.key,
    selector: text,
    field: 'spec.selector',
  });
}

const familyContradiction = (given: unknown, label: string, inst: Instance): IpamError =>
  invalid(
    inst,
    'spec.addressFamily',
    `addressFamily ${given} contradicts selector label ${L_ADDRESS_FAMILY}=${label} in network instance ${inst.key}`,
  );

const badLength = (length: unknown, inst: Instance): IpamError =>
  invalid(inst, 'spec.prefixLength', `invalid prefixLength ${JSON.stringify(length)} in network instance ${inst.key}`);

const otherFamily = (text: string, family: number, inst: Instance): IpamError =>
  new IpamError('InvalidArgument', `prefix ${text} is not ${family ? 'ipv6' : 'ipv4'} (network instance ${inst.key})`, {
    networkInstance: inst.key,
    prefix: text,
    field: 'spec.prefix',
  });

const needsLength = (what: string, inst: Instance): IpamError =>
  invalid(inst, 'spec.prefixLength', `${what} needs prefixLength (network instance ${inst.key})`);

const dynamicAggregate = (inst: Instance): IpamError =>
  invalid(inst, 'spec.prefix', `a dynamic aggregate request is not allowed: an aggregate needs spec.prefix (network instance ${inst.key})`);

const loopbackLength = (prefixLength: number, inst: Instance): IpamError =>
  invalid(
    inst,
    'spec.prefixLength',
    `kind loopback allocates single addresses: prefixLength must be 32 or 128, not ${prefixLength} (network instance ${inst.key})`,
  );

const loopbackFamilyMismatch = (prefixLength: number, inst: Instance): IpamError =>
  invalid(inst, 'spec.prefixLength', `prefixLength ${prefixLength} does not fit the address family (network instance ${inst.key})`);

const longerThanV4 = (prefixLength: number, inst: Instance): IpamError =>
  invalid(inst, 'spec.prefixLength', `prefixLength ${prefixLength} is longer than an IPv4 address (network instance ${inst.key})`);

export function noMatch(p: Plan): IpamError {
  const s = renderSelector(p.selector);
  const what =
    p.requestClass === RequestClass.Host
      ? 'network'
      : p.requestClass === RequestClass.Subnet
        ? 'aggregate'
        : p.requestClass === RequestClass.Loopback
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
export function rowClass(state: IpamState, r: number): RequestClass {
  const rows = state.rows;
  return classOfAllocation(rows.kind(r), rows.type(r) === RowType.Ref || rows.isHost(r));
}

/** Does the owner's current allocation already answer this request? */
export function satisfies(state: IpamState, r: number, p: Plan): boolean {
  const rows = state.rows;
  if (rows.inst(r) !== p.inst.id || rows.kind(r) !== p.kind || rowClass(state, r) !== p.requestClass) return false;
  if (p.family >= 0 && (rows.isV6(r) ? 1 : 0) !== p.family) return false;
  if (rows.type(r) === RowType.Ref) return refStillAnswers(state, r, p);
  const subnet = p.requestClass === RequestClass.Subnet;
  if (subnet && state.meta.get(r)?.networkName !== p.networkName) return false;
  if (p.staticPrefix) return isStaticBlock(state, r, p.requestClass, p.staticPrefix);
  // a dynamic request: the length asked for, and a parent (when selectable) the selector still matches
  if ((subnet || p.requestClass === RequestClass.Pool) && rows.len(r) !== p.prefixLength) return false;
  const parent = rows.parent(r);
  if (parent === 0 || (rows.flags(parent) & RowFlag.Selectable) === 0) return true;
  const m = state.meta.get(parent);
  return !m || selectorMatches(p.selector, m.selectorLabels, subnet ? L_NETWORK_NAME : undefined);
}

/** A lookup of a reserved address still answers while no subnet matches and that address comes first. */
function refStillAnswers(state: IpamState, r: number, p: Plan): boolean {
  if (p.staticPrefix) return false;
  const c = candidates(state, p.inst, p.requestClass, p.family, p.selector);
  return c.primary.length === 0 && c.refs[0] === state.rows.parent(r);
}

/** Row r is the block a static request names (a host address: in a subnet of the written length). */
function isStaticBlock(state: IpamState, r: number, requestClass: RequestClass, s: Cidr): boolean {
  const rows = state.rows;
  if (s.v6 !== rows.isV6(r) || compareWords(rows.page(r), rows.at(r), s.w, 0) !== 0) return false;
  if (requestClass === RequestClass.Host) return rows.len(rows.parent(r)) === s.len;
  if (requestClass === RequestClass.Loopback) return true;
  return rows.len(r) === s.len;
}
