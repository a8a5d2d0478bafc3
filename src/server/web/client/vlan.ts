// The VLAN indexes: a bar of each index's ids, and one index drawn as its 4096 ids (free,
// reserved, defined by an operator's VLAN resource, a claim's id, a claim's block) with its
// holders listed. Selecting a cell or a listed holder says who holds the id.
import type { VlanHolderView, VlanIndexMap, VlanIndexView, VlanState } from '../vlan-views.js';
import * as api from './api.js';
import { byId, el, show } from './dom.js';

const IDS = 4096;
const LIST_ROWS = 50;
const RANK: Record<VlanState, number> = { free: 0, reserved: 1, defined: 2, allocated: 3, range: 3 };
const WORDS: Record<VlanState, string> = {
  free: 'free',
  reserved: 'reserved',
  defined: 'defined (VLAN resource)',
  allocated: 'claimed',
  range: 'claimed block',
};
const RESERVED_WHY: Record<number, string> = { 0: 'untagged', 1: 'the default VLAN', 4095: 'reserved by 802.1Q' };

const holderName = (o: { package: string; owner: string }) =>
  o.owner ? `${o.package ? `${o.package}: ` : ''}${o.owner}` : 'another package';
const idText = (h: VlanHolderView) => (h.start === h.end ? String(h.start) : `${h.start}:${h.end}`);
const labelText = (l: Record<string, string> = {}) =>
  Object.entries(l)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');

export class VlanView {
  /** The index drawn ("namespace/name"), the selected id, the first listed holder. */
  private index: string | undefined;
  private selected: number | undefined;
  private offset = 0;
  private map: VlanIndexMap | undefined;
  /** Per id: its state and the holders that cover it (a definition, then a claim inside it). */
  private states: VlanState[] = [];
  private holders: (VlanHolderView[] | undefined)[] = [];

  constructor(private readonly onError: (e: unknown) => void) {
    byId('vlan-close').addEventListener('click', () => {
      this.index = undefined;
      show('vlan-map', false);
    });
    byId('vlan-grid').addEventListener('click', (e) => {
      const id = (e.target as HTMLElement).getAttribute('data-id');
      if (id !== null) this.select(Number(id));
    });
    byId('vlan-prev').addEventListener('click', () => this.page(-LIST_ROWS));
    byId('vlan-next').addEventListener('click', () => this.page(LIST_ROWS));
  }

  showIndexes(list: VlanIndexView[]): void {
    show('vlans', list.length > 0);
    byId('vlan-indexes').replaceChildren(...list.map((x) => this.indexRow(x)));
    if (this.index !== undefined && !list.some((x) => `${x.namespace}/${x.name}` === this.index)) {
      this.index = undefined;
      show('vlan-map', false);
    }
  }

  /** Draws the index again (a change on the server), keeping the selection. */
  async refresh(): Promise<void> {
    if (this.index !== undefined) await this.load(this.index);
  }

  async open(index: string): Promise<void> {
    if (index !== this.index) {
      this.selected = undefined;
      this.offset = 0;
    }
    this.index = index;
    await this.load(index);
  }

  private indexRow(x: VlanIndexView): HTMLElement {
    const key = `${x.namespace}/${x.name}`;
    const c = x.counts;
    const taken = IDS - c.free;
    const fill = el('span');
    fill.style.width = `${(taken * 100) / IDS}%`;
    const open = el('button', { type: 'button' }, 'Map');
    open.addEventListener('click', () => void this.open(key).catch(this.onError));
    return el(
      'tr',
      { 'data-index': key },
      el('td', {}, el('span', { class: 'instance-title' }, x.name), ` (${x.namespace})`),
      el('td', {}, x.implied ? `${x.kind}, from a cluster` : x.kind),
      el('td', {}, el('span', { class: 'bar', title: `${taken} of ${IDS} ids taken` }, fill)),
      el(
        'td',
        { class: 'numbers' },
        `${c.allocated + c.range} claimed (${c.range} in blocks), ${c.defined} defined, ${c.reserved} reserved, ${c.free} free`,
      ),
      el('td', {}, open),
    );
  }

  private async load(index: string): Promise<void> {
    const m = await api.vlan(index);
    if (index !== this.index) return;
    this.draw(m);
  }

  private draw(m: VlanIndexMap): void {
    this.map = m;
    this.states = new Array<VlanState>(IDS).fill('free');
    this.holders = new Array<VlanHolderView[] | undefined>(IDS);
    for (const id of [0, 1, 4095]) this.states[id] = 'reserved';
    for (const h of m.holders) {
      for (let id = h.start; id <= h.end; id++) {
        (this.holders[id] ??= []).push(h);
        if (RANK[h.state] > RANK[this.states[id]!]) this.states[id] = h.state;
      }
    }
    byId('vlan-title').textContent = `${m.name} (${m.namespace})`;
    const c = m.counts;
    byId('vlan-legend').replaceChildren(
      ...(Object.keys(WORDS) as VlanState[]).map((s) => el('span', { class: `v-${s}` }, `${WORDS[s]} ${c[s]}`)),
    );
    this.drawCells(byId('vlan-grid'));
    this.list();
    show('vlan-map', true);
    if (this.selected !== undefined) this.select(this.selected);
    else byId('vlan-detail').replaceChildren(el('p', { class: 'hint' }, 'Select an id to see who holds it.'));
  }

  /** One cell per id; drawn again (a change), only the cells whose state changed. */
  private drawCells(grid: HTMLElement): void {
    if (grid.childElementCount === IDS) {
      for (let id = 0; id < IDS; id++) {
        const cell = grid.children[id]!;
        const cls = `v ${this.states[id]}${id === this.selected ? ' selected' : ''}`;
        if (cell.className !== cls) cell.className = cls;
      }
      return;
    }
    const cells: HTMLElement[] = new Array<HTMLElement>(IDS);
    for (let id = 0; id < IDS; id++) {
      const cell = document.createElement('div');
      cell.className = `v ${this.states[id]}`;
      cell.setAttribute('data-id', String(id));
      cells[id] = cell;
    }
    grid.replaceChildren(...cells);
  }

  private select(id: number): void {
    this.selected = id;
    const grid = byId('vlan-grid');
    grid.querySelector('.v.selected')?.classList.remove('selected');
    grid.children[id]?.classList.add('selected');
    const state = this.states[id] ?? 'free';
    const lines: HTMLElement[] = [el('p', { class: 'vlan-id' }, `VLAN ${id}: ${WORDS[state]}`)];
    if (state === 'reserved') lines.push(el('p', {}, `Never handed out (${RESERVED_WHY[id] ?? 'reserved'}).`));
    for (const h of this.holders[id] ?? []) lines.push(this.describe(h));
    byId('vlan-detail').replaceChildren(...lines);
  }

  private describe(h: VlanHolderView): HTMLElement {
    const [first, ...rest] = h.owners;
    const what =
      h.state === 'defined'
        ? `${h.start === h.end ? 'VLAN' : 'range'} ${idText(h)} defined by`
        : h.state === 'range'
          ? `block ${idText(h)} claimed by`
          : `claimed by`;
    const out = el(
      'div',
      { class: 'holder', 'data-state': h.state },
      el('p', {}, `${what} `, el('span', { class: 'owner' }, first ? holderName(first) : '')),
    );
    if (h.claim) out.append(el('p', {}, `shared as vlanClaimName ${h.claim}`));
    if (rest.length) {
      const how = h.state === 'defined' ? 'selected by' : 'with';
      out.append(el('p', {}, `${how} `, ...rest.flatMap((o, i) => [i ? ', ' : '', el('span', { class: 'owner' }, holderName(o))])));
    }
    const labels = labelText(h.labels);
    if (labels) out.append(el('p', { class: 'labels' }, labels));
    return out;
  }

  /** The holders, a page at a time, each row selecting its first id. */
  private list(): void {
    const all = this.map?.holders ?? [];
    if (this.offset >= all.length) this.offset = Math.max(0, all.length - LIST_ROWS);
    const rows = all.slice(this.offset, this.offset + LIST_ROWS).map((h) => {
      const pick = el('button', { type: 'button', class: 'vlan-pick' }, idText(h));
      pick.addEventListener('click', () => this.select(h.start));
      return el(
        'tr',
        { 'data-vlan': idText(h), 'data-state': h.state },
        el('td', { class: 'mono' }, pick),
        el('td', {}, WORDS[h.state]),
        el('td', { class: 'owner' }, h.owners.map(holderName).join(', ')),
        el('td', {}, h.claim ?? ''),
        el('td', { class: 'labels' }, labelText(h.labels)),
      );
    });
    byId('vlan-rows').replaceChildren(
      ...(rows.length ? rows : [el('tr', {}, el('td', { colspan: '5' }, 'Nothing is held in this index.'))]),
    );
    byId<HTMLButtonElement>('vlan-prev').disabled = this.offset === 0;
    byId<HTMLButtonElement>('vlan-next').disabled = this.offset + LIST_ROWS >= all.length;
    byId('vlan-page').textContent = all.length
      ? `${this.offset + 1}-${Math.min(all.length, this.offset + LIST_ROWS)} of ${all.length}`
      : '';
  }

  private page(delta: number): void {
    this.offset = Math.max(0, this.offset + delta);
    this.list();
  }
}
