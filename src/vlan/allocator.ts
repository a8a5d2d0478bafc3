// VLAN claims: idempotency per owner, shared ids per vlanClaimName, static ids and blocks,
// sticky hints, and the lowest free id (or block) of the first candidate with room.
// Candidates: with no selector the whole index; with one, the operator's range definitions
// whose labels match (in id order), then the whole index when its own labels match. A selector
// that matches only a single-id definition answers that id, which stays the definition's.
import { IpamError } from '../ipam/errors.js';
import { freezeLabels, renderSelector, sameLabels, selectorMatches, selectorProblem } from '../ipam/labels.js';
import type { LabelSelector, Labels, OwnerKey } from '../ipam/types.js';
import { FIRST_USABLE, LAST_USABLE, formatRange, isReserved, parseRange } from './ids.js';
import { answer, indexInfo, indexKey, newIndex, occupy, vacate, type Holder, type IndexState } from './state.js';
import type {
  VlanAllocation,
  VlanDefinition,
  VlanFilter,
  VlanIndexInfo,
  VlanIndexRef,
  VlanIndexSpec,
  VlanReleaseOptions,
  VlanRequest,
  VlanSnapshot,
  Vlans,
} from './types.js';

/** What a request asks for, validated: one id, one block, a block of a size, or any id. */
interface Want {
  id?: number;
  start?: number;
  end?: number;
  size?: number;
}

const USABLE = LAST_USABLE - FIRST_USABLE + 1;

function invalid(x: string, field: string, message: string): IpamError {
  return new IpamError('InvalidArgument', `${message} (VLAN index ${x})`, { field, vlanIndex: x });
}

/** Reads vlanID / range into a Want; every refusal names the field and the index. */
function wanted(x: string, vlanID: unknown, range: unknown, allowSize: boolean): Want {
  if (vlanID !== undefined && range !== undefined) throw invalid(x, 'spec.range', 'spec.vlanID and spec.range exclude each other');
  if (vlanID !== undefined) return { id: wantedId(x, vlanID) };
  if (range === undefined) return {};
  return wantedRange(x, range, allowSize);
}

/** spec.vlanID: one claimable id. */
function wantedId(x: string, vlanID: unknown): number {
  if (typeof vlanID !== 'number' || !Number.isInteger(vlanID) || vlanID < 0 || vlanID > 4095) {
    throw invalid(
      x,
      'spec.vlanID',
      `spec.vlanID ${JSON.stringify(vlanID)} is out of range: VLAN ids are 0-4095, of which ${FIRST_USABLE}-${LAST_USABLE} can be claimed`,
    );
  }
  if (isReserved(vlanID)) {
    throw invalid(
      x,
      'spec.vlanID',
      `spec.vlanID ${vlanID} is reserved (0 untagged, 1 default, 4095): claim one of ${FIRST_USABLE}-${LAST_USABLE}`,
    );
  }
  return vlanID;
}

/** spec.range: start:end of claimable ids, or (claims only) a size. */
function wantedRange(x: string, range: unknown, allowSize: boolean): Want {
  if (typeof range !== 'string') throw invalid(x, 'spec.range', `spec.range must be start:end or a size, not ${JSON.stringify(range)}`);
  const r = parseRange(range);
  if (typeof r === 'string') throw invalid(x, 'spec.range', `spec.range ${r}`);
  if ('size' in r) {
    if (!allowSize) throw invalid(x, 'spec.range', `spec.range of a VLAN definition must be start:end, not a size (${range})`);
    if (r.size < 1 || r.size > USABLE) {
      throw invalid(
        x,
        'spec.range',
        `spec.range size ${r.size} does not fit: an index has ${USABLE} claimable ids (${FIRST_USABLE}-${LAST_USABLE})`,
      );
    }
    return { size: r.size };
  }
  if (r.start > r.end) throw invalid(x, 'spec.range', `spec.range ${range} ends before it starts`);
  if (r.end > 4095) throw invalid(x, 'spec.range', `spec.range ${range} is out of range: VLAN ids are 0-4095`);
  const res = r.start <= 1 ? r.start : r.end >= 4095 ? 4095 : -1;
  if (res >= 0) throw invalid(x, 'spec.range', `spec.range ${range} touches reserved VLAN ${res} (0, 1 and 4095 are never handed out)`);
  return { start: r.start, end: r.end };
}

const hasSelector = (s: LabelSelector | undefined): s is LabelSelector =>
  !!s && ((!!s.matchLabels && Object.keys(s.matchLabels).length > 0) || (!!s.matchExpressions && s.matchExpressions.length > 0));

export class VlanAllocator implements Vlans {
  private readonly indexes = new Map<string, IndexState>();
  private readonly owners = new Map<OwnerKey, Holder>();

  applyIndex(spec: VlanIndexSpec): VlanIndexInfo {
    const name = spec.index?.name;
    if (typeof name !== 'string' || name === '')
      throw new IpamError('InvalidArgument', 'a VLAN index needs a name', { field: 'metadata.name' });
    const kind = spec.kind ?? 'esg';
    const key = indexKey(spec.index);
    if (kind !== 'esg' && kind !== 'device') throw invalid(key, 'spec.kind', `spec.kind "${String(kind)}" is not esg or device`);
    const labels = freezeLabels(spec.labels);
    const cur = this.indexes.get(key);
    if (!cur) {
      const x = newIndex(spec.index, kind, labels, spec.owner, spec.implied === true);
      this.indexes.set(key, x);
      return indexInfo(x);
    }
    if (spec.implied) return indexInfo(cur);
    if (cur.kind === kind && sameLabels(cur.labels, labels) && !cur.implied) return indexInfo(cur);
    if (!cur.implied && cur.owner !== spec.owner) {
      throw new IpamError('AlreadyExists', `VLAN index ${key} is already defined by ${cur.owner} with another kind or other labels`, {
        field: 'spec',
        vlanIndex: key,
      });
    }
    cur.kind = kind;
    cur.labels = labels;
    cur.owner = spec.owner;
    cur.implied = false;
    return indexInfo(cur);
  }

  removeIndex(index: VlanIndexRef, opts: VlanReleaseOptions = {}): VlanAllocation[] {
    const x = this.index(index, 'metadata.name');
    const held = this.holdersOf(x);
    if (held.length > 0 && !opts.force) {
      throw new IpamError('FailedPrecondition', `VLAN index ${x.key} still holds ids of ${held.flatMap((h) => h.owners).join(', ')}`, {
        vlanIndex: x.key,
        dependents: held.flatMap((h) => h.owners),
      });
    }
    const freed: VlanAllocation[] = [];
    for (const h of held) for (const o of [...h.owners]) freed.push(...this.release(o, { force: true }));
    this.indexes.delete(x.key);
    return freed;
  }

  applyDefinition(def: VlanDefinition): VlanAllocation {
    const x = this.index(def.index, 'spec.vlanIndex.name');
    const want = wanted(x.key, def.vlanID, def.range, false);
    if (want.id === undefined && want.start === undefined)
      throw invalid(x.key, 'spec.vlanID', 'a VLAN definition needs spec.vlanID or spec.range');
    const labels = freezeLabels(def.labels);
    const start = want.id ?? want.start!;
    const end = want.id ?? want.end!;
    const block = want.id === undefined;
    const cur = this.owners.get(def.owner);
    if (
      cur &&
      cur.definition &&
      cur.owners[0] === def.owner &&
      cur.index === x &&
      cur.start === start &&
      cur.end === end &&
      cur.block === block
    ) {
      cur.labels[0] = labels;
      return answer(cur, def.owner);
    }
    if (cur) this.release(def.owner);
    for (let id = start; id <= end; id++) {
      const h = x.claimAt.get(id) ?? x.defAt.get(id);
      if (h) throw this.inUse(x, id, h, block ? 'spec.range' : 'spec.vlanID');
    }
    const h: Holder = { index: x, start, end, block, owners: [def.owner], labels: [labels], definition: true };
    occupy(h);
    this.owners.set(def.owner, h);
    return answer(h, def.owner);
  }

  allocate(req: VlanRequest): VlanAllocation {
    return this.request(req, false);
  }

  dryRun(req: VlanRequest): VlanAllocation {
    return this.request(req, true);
  }

  lookup(req: VlanRequest): VlanAllocation {
    const x = this.index(req.index, 'spec.vlanIndex.name');
    if (req.claim !== undefined) {
      const h = x.shared.get(req.claim);
      if (h) return answer(h, h.owners[0]);
      throw new IpamError('NotFound', `no VLAN is held under vlanClaimName ${req.claim} in VLAN index ${x.key}`, {
        field: 'metadata.annotations',
        vlanIndex: x.key,
      });
    }
    const h = this.owners.get(req.owner);
    if (h && h.index === x) return answer(h, req.owner);
    throw new IpamError('NotFound', `${req.owner} holds no VLAN in VLAN index ${x.key}`, { field: 'metadata.name', vlanIndex: x.key });
  }

  release(owner: OwnerKey, opts: VlanReleaseOptions = {}): VlanAllocation[] {
    const freed: VlanAllocation[] = [];
    const h = this.owners.get(owner);
    if (h) {
      if (h.definition && h.owners[0] === owner) {
        const deps = this.dependentsOf(h);
        if (deps.length > 0 && !opts.force) {
          throw new IpamError(
            'FailedPrecondition',
            `VLAN ${answerText(h)} of ${owner} in VLAN index ${h.index.key} is used by ${deps.join(', ')}`,
            { vlanIndex: h.index.key, dependents: deps },
          );
        }
        for (const d of deps) freed.push(...this.release(d));
        freed.push(answer(h, owner));
        vacate(h);
        h.owners.length = 0;
      } else {
        freed.push(answer(h, owner));
        const i = h.owners.indexOf(owner);
        h.owners.splice(i, 1);
        h.labels.splice(i, 1);
        if (h.owners.length === 0) vacate(h);
      }
      this.owners.delete(owner);
    }
    for (const x of [...this.indexes.values()]) {
      if (x.owner === owner) freed.push(...this.removeIndex(x.ref, opts));
    }
    return freed;
  }

  get(owner: OwnerKey): VlanAllocation | undefined {
    const h = this.owners.get(owner);
    return h ? answer(h, owner) : undefined;
  }

  listIndexes(): VlanIndexInfo[] {
    return [...this.indexes.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map(indexInfo);
  }

  /** Index by index (by name), id order; a shared id lists each of its owners. */
  listAllocations(filter: VlanFilter = {}): VlanAllocation[] {
    if (filter.owner !== undefined) {
      const a = this.get(filter.owner);
      return a && (!filter.index || indexKey(filter.index) === indexKey(a.index)) ? [a] : [];
    }
    const out: VlanAllocation[] = [];
    const xs = filter.index ? [this.indexes.get(indexKey(filter.index))].filter((x): x is IndexState => !!x) : this.sortedIndexes();
    for (const x of xs) {
      for (const h of this.holdersOf(x)) {
        for (const o of h.owners) if (filter.ownerPrefix === undefined || o.startsWith(filter.ownerPrefix)) out.push(answer(h, o));
      }
    }
    return out;
  }

  allocationCount(): number {
    return this.owners.size;
  }

  /** Definitions first, then claims, then the claims that reference a definition. */
  snapshot(): VlanSnapshot {
    const all = this.listAllocations();
    const rank = (a: VlanAllocation) => (a.definition ? 0 : a.reference ? 2 : 1);
    return { version: 1, indexes: this.listIndexes(), allocations: [0, 1, 2].flatMap((r) => all.filter((a) => rank(a) === r)) };
  }

  /** Puts one snapshot entry back exactly. */
  place(a: VlanAllocation): void {
    const range = a.vlanRange;
    if (a.definition) {
      this.applyDefinition({
        index: a.index,
        owner: a.owner,
        labels: a.labels,
        ...(range !== undefined ? { range } : { vlanID: a.vlanID }),
      });
      return;
    }
    if (a.reference) {
      const x = this.index(a.index, 'index');
      const d = x.defAt.get(a.vlanID ?? -1);
      if (!d || d.block)
        throw new IpamError('FailedPrecondition', `${a.owner} references VLAN ${a.vlanID} of index ${x.key}, which no definition holds`, {
          vlanIndex: x.key,
        });
      this.join(d, a.owner, freezeLabels(a.labels));
      return;
    }
    const req: VlanRequest = { owner: a.owner, index: a.index, labels: a.labels };
    if (range !== undefined) req.range = range;
    else req.vlanID = a.vlanID;
    if (a.claim !== undefined) req.claim = a.claim;
    this.allocate(req);
  }

  private sortedIndexes(): IndexState[] {
    return [...this.indexes.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  private holdersOf(x: IndexState): Holder[] {
    const set = new Set<Holder>([...x.defs, ...x.claimAt.values()]);
    return [...set].sort((a, b) => a.start - b.start || (a.definition ? -1 : 1));
  }

  /** Claims drawn from a definition's range, and claims that selected a single-id definition. */
  private dependentsOf(d: Holder): OwnerKey[] {
    const out = d.owners.slice(1);
    if (d.block) {
      const seen = new Set<Holder>();
      for (let id = d.start; id <= d.end; id++) {
        const h = d.index.claimAt.get(id);
        if (h && !seen.has(h)) {
          seen.add(h);
          out.push(...h.owners);
        }
      }
    }
    return out;
  }

  private index(ref: VlanIndexRef, field: string): IndexState {
    const key = indexKey(ref);
    const x = this.indexes.get(key);
    if (!x) throw new IpamError('NotFound', `VLAN index ${key} not found`, { field, vlanIndex: key });
    return x;
  }

  private inUse(x: IndexState, id: number, h: Holder, field: string): IpamError {
    const by = h.definition ? `VLAN definition ${h.owners[0]}` : h.owners.join(', ');
    return new IpamError('AlreadyExists', `VLAN ${id} in VLAN index ${x.key} is in use by ${by}`, { field, vlanIndex: x.key });
  }

  private request(req: VlanRequest, dry: boolean): VlanAllocation {
    const x = this.index(req.index, 'spec.vlanIndex.name');
    const want = wanted(x.key, req.vlanID, req.range, true);
    const problem = selectorProblem(req.selector);
    if (problem) throw invalid(x.key, 'spec.selector', `spec.selector: ${problem}`);
    const labels = freezeLabels(req.labels);
    const held = this.owners.get(req.owner);
    if (!held) return this.fresh(x, req, want, labels, dry);
    if (this.satisfies(held, x, req, want)) {
      if (!dry) held.labels[held.owners.indexOf(req.owner)] = labels;
      return answer(held, req.owner, labels);
    }
    // The request changed: its new answer replaces the old one, which stays when that fails
    // (and after a dry run).
    if (held.definition && held.owners[0] === req.owner)
      throw invalid(x.key, 'metadata.name', `${req.owner} is a VLAN definition, not a claim`);
    const old = answer(held, req.owner);
    this.detach(held, req.owner);
    let ok = false;
    try {
      const a = this.fresh(x, req, want, labels, dry);
      ok = !dry;
      return a;
    } finally {
      if (!ok) this.reattach(held, req.owner, old.labels);
    }
  }

  private satisfies(h: Holder, x: IndexState, req: VlanRequest, want: Want): boolean {
    if (h.index !== x || h.claim !== req.claim) return false;
    if (want.id !== undefined) return !h.block && h.start === want.id;
    if (want.start !== undefined) return h.block && h.start === want.start && h.end === want.end;
    if (want.size !== undefined) return h.block && h.end - h.start + 1 === want.size;
    if (h.block) return false;
    if (h.claim !== undefined) return true;
    const sel = hasSelector(req.selector) ? req.selector : undefined;
    if (h.definition) return !!sel && selectorMatches(sel, h.labels[0]);
    if (h.within) return !!sel && selectorMatches(sel, h.within.labels[0]);
    return selectorMatches(sel, x.labels);
  }

  private fresh(x: IndexState, req: VlanRequest, want: Want, labels: Labels, dry: boolean): VlanAllocation {
    if (req.claim !== undefined) {
      const h = x.shared.get(req.claim);
      if (h) {
        const fits =
          want.id !== undefined
            ? !h.block && h.start === want.id
            : want.start !== undefined
              ? h.block && h.start === want.start && h.end === want.end
              : want.size !== undefined
                ? h.block && h.end - h.start + 1 === want.size
                : !h.block;
        if (!fits) {
          throw new IpamError(
            'AlreadyExists',
            `vlanClaimName ${req.claim} in VLAN index ${x.key} already holds VLAN ${answerText(h)} (for ${h.owners.join(', ')}), which this request does not fit`,
            { field: want.id !== undefined ? 'spec.vlanID' : 'spec.range', vlanIndex: x.key },
          );
        }
        if (!dry) this.join(h, req.owner, labels);
        return answer(h, req.owner, labels);
      }
    }
    if (want.id !== undefined) return this.staticBlock(x, req, want.id, want.id, false, labels, dry);
    if (want.start !== undefined) return this.staticBlock(x, req, want.start, want.end!, true, labels, dry);
    return this.dynamic(x, req, want.size, labels, dry);
  }

  private staticBlock(
    x: IndexState,
    req: VlanRequest,
    start: number,
    end: number,
    block: boolean,
    labels: Labels,
    dry: boolean,
  ): VlanAllocation {
    const field = block ? 'spec.range' : 'spec.vlanID';
    const within = x.defAt.get(start);
    for (let id = start; id <= end; id++) {
      const c = x.claimAt.get(id);
      if (c) throw this.inUse(x, id, c, field);
      const d = x.defAt.get(id);
      // a definition's range is a pool claims may take from; a single-id definition is not
      if (d !== within || (d && !d.block)) throw this.inUse(x, id, d ?? within!, field);
    }
    return this.take(x, req, start, end, block, within, labels, dry);
  }

  private take(
    x: IndexState,
    req: VlanRequest,
    start: number,
    end: number,
    block: boolean,
    within: Holder | undefined,
    labels: Labels,
    dry: boolean,
  ): VlanAllocation {
    const h: Holder = { index: x, start, end, block, owners: [req.owner], labels: [labels], definition: false };
    if (req.claim !== undefined) h.claim = req.claim;
    if (within) h.within = within;
    if (!dry) {
      occupy(h);
      this.owners.set(req.owner, h);
    }
    return answer(h, req.owner, labels);
  }

  private join(h: Holder, owner: OwnerKey, labels: Labels): void {
    h.owners.push(owner);
    h.labels.push(labels);
    this.owners.set(owner, h);
  }

  private detach(h: Holder, owner: OwnerKey): void {
    const i = h.owners.indexOf(owner);
    h.owners.splice(i, 1);
    h.labels.splice(i, 1);
    this.owners.delete(owner);
    if (h.owners.length === 0) vacate(h);
  }

  private reattach(h: Holder, owner: OwnerKey, labels: Labels): void {
    if (h.owners.length === 0) occupy(h);
    this.join(h, owner, labels);
  }

  private dynamic(x: IndexState, req: VlanRequest, size: number | undefined, labels: Labels, dry: boolean): VlanAllocation {
    const sel = hasSelector(req.selector) ? req.selector : undefined;
    const { list, single } = candidateRanges(x, sel);
    if (list.length === 0) {
      if (single && size === undefined) {
        if (!dry) this.join(single, req.owner, labels);
        return answer(single, req.owner, labels);
      }
      throw new IpamError(
        'NotFound',
        `no VLAN definition and not the labels of VLAN index ${x.key} match selector ${renderSelector(sel)}`,
        { field: 'spec.selector', vlanIndex: x.key, selector: renderSelector(sel) },
      );
    }
    const n = size ?? 1;
    const hint = hintedRange(req.hint, n, size !== undefined);
    if (hint) {
      for (const d of list)
        if (this.freeIn(x, d, hint.start, hint.end)) return this.take(x, req, hint.start, hint.end, size !== undefined, d, labels, dry);
    }
    for (const d of list) {
      const map = d ? x.claimed : x.taken;
      const lo = d ? d.start : FIRST_USABLE;
      const hi = d ? d.end : LAST_USABLE;
      const start = n === 1 ? map.lowestClear(lo, hi) : map.lowestClearRun(lo, hi, n);
      if (start >= 0) return this.take(x, req, start, start + n - 1, size !== undefined, d, labels, dry);
    }
    throw exhausted(x, sel, size);
  }

  /** Every id of start..end is claimable in the candidate (a definition's range, or the index). */
  private freeIn(x: IndexState, d: Holder | undefined, start: number, end: number): boolean {
    if (start < FIRST_USABLE || end > LAST_USABLE || start > end) return false;
    if (d) return start >= d.start && end <= d.end && x.claimed.allClear(start, end);
    return x.taken.allClear(start, end);
  }
}

/**
 * The candidates of a dynamic claim, in order: the range definitions its selector matches (by
 * id), then the whole index (undefined) when the index's own labels match. `single`: the first
 * single-id definition it matches, the answer when nothing else does.
 */
function candidateRanges(x: IndexState, sel: LabelSelector | undefined): { list: (Holder | undefined)[]; single: Holder | undefined } {
  const list: (Holder | undefined)[] = [];
  let single: Holder | undefined;
  if (sel) {
    for (const d of x.defs) {
      if (!selectorMatches(sel, d.labels[0])) continue;
      if (d.block) list.push(d);
      else single ??= d;
    }
  }
  if (selectorMatches(sel, x.labels)) list.push(undefined);
  return { list, single };
}

/** The ids a hint names, when it is the shape the claim asks for (a size-n block, or one id). */
function hintedRange(hint: string | undefined, n: number, block: boolean): { start: number; end: number } | undefined {
  const r = hint === undefined ? undefined : parseRange(hint);
  if (!r || typeof r === 'string') return undefined;
  const start = 'size' in r ? r.size : r.start;
  const end = 'size' in r ? r.size : r.end;
  return end - start + 1 === n && 'size' in r === !block ? { start, end } : undefined;
}

function exhausted(x: IndexState, sel: LabelSelector | undefined, size: number | undefined): IpamError {
  const field = size === undefined ? 'spec.vlanIndex.name' : 'spec.range';
  const where = `VLAN index ${x.key}${sel ? ` (selector ${renderSelector(sel)})` : ''}`;
  if (size === undefined) return new IpamError('Exhausted', `no free VLAN id in ${where}: exhausted`, { field, vlanIndex: x.key });
  return new IpamError('Exhausted', `no ${size} consecutive free VLAN ids in ${where}: the range does not fit`, {
    field,
    vlanIndex: x.key,
  });
}

function answerText(h: Holder): string {
  return h.block ? formatRange(h.start, h.end) : String(h.start);
}
