// A subnet's address map, drawn as NetBox does: one cell per address, coloured by what holds
// it. Prefixes too large to draw get a summary instead.
import type { MapCell, SubnetMap } from '../views.js';
import { el } from './dom.js';
import { colourOf, count, percent } from './format.js';

export function renderSubnet(root: HTMLElement, m: SubnetMap): void {
  const u = m.utilization;
  const summary = el(
    'p',
    { class: 'numbers' },
    `${m.kind} ${m.family} in ${m.networkInstance}: ${count(u.used)} of ${count(u.total)} addresses taken (${percent(u.used, u.total)}%)${m.allocations !== undefined ? `, ${m.allocations} allocations` : ''}`,
  );
  if (!m.cells) {
    root.replaceChildren(
      summary,
      el('p', {}, `Too large to draw address by address (${count(m.size)} addresses): see its allocations below.`),
    );
    return;
  }
  const size = Number(m.size);
  const cols = size <= 256 ? 16 : size <= 1024 ? 32 : 64;
  const grid = el('div', { class: `grid cols${cols}`, role: 'grid', 'aria-label': `addresses of ${m.prefix}` });
  const taken = new Map(m.cells.map((c) => [c.offset, c]));
  const counts: Record<string, number> = { free: 0, network: 0, gateway: 0, reserved: 0, allocated: 0 };
  for (let i = 0; i < size; i++) {
    const c = taken.get(i);
    const state = c ? (c.state === 'broadcast' ? 'network' : c.state) : 'free';
    counts[state] = (counts[state] ?? 0) + 1;
    grid.append(c ? cell(c) : el('div', { class: 'cell free', title: `offset ${i}: free`, 'data-state': 'free' }));
  }
  const legend = el(
    'div',
    { class: 'legend' },
    ...Object.entries(counts).map(([k, n]) => el('span', { class: `l-${k}` }, `${k === 'network' ? 'network / broadcast' : k} ${n}`)),
  );
  root.replaceChildren(summary, legend, grid);
}

function cell(c: MapCell): HTMLElement {
  const holder = c.owner ? `${c.package ? `${c.package}: ` : ''}${c.owner}` : c.state === 'allocated' ? 'another package' : '';
  // one colour per package: a subnet shows at a glance which packages share it
  const cls = c.state === 'allocated' ? (c.owner ? `o${colourOf(c.package || c.owner)}` : 'other') : '';
  return el(
    'div',
    {
      class: `cell ${c.state} ${cls}`,
      title: `${c.address}: ${c.state}${holder ? ` (${holder})` : ''}`,
      'data-state': c.state,
      'data-address': c.address,
    },
    String(c.offset),
  );
}
