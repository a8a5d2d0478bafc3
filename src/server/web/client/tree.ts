// The prefix tree: each network instance, its prefixes nested as the allocator nests them,
// a utilization bar per prefix, and links to a subnet's map and its allocations.
import type { InstanceView, PrefixNode } from '../views.js';
import { el } from './dom.js';
import { count, percent } from './format.js';

export interface TreeActions {
  openMap(networkInstance: string, prefix: string): void;
  listWithin(networkInstance: string, prefix: string): void;
}

/** Renders the tree into `root`, keeping which nodes were open. */
export function renderTree(root: HTMLElement, instances: InstanceView[], act: TreeActions): void {
  const open = new Set([...root.querySelectorAll('details[open]')].map((d) => d.getAttribute('data-key')));
  const first = root.childElementCount === 0;
  root.replaceChildren(...instances.map((ni) => instance(ni, act, open, first)));
  if (instances.length === 0) root.append(el('p', {}, 'No network instance is defined yet.'));
}

function instance(ni: InstanceView, act: TreeActions, open: Set<string | null>, first: boolean): HTMLElement {
  const key = `${ni.namespace}/${ni.name}`;
  const d = el(
    'details',
    { 'data-key': key, class: 'instance' },
    el('summary', {}, el('span', { class: 'instance-title' }, ni.name), ` (${ni.namespace})`),
  );
  if (first || open.has(key)) d.open = true;
  d.append(...ni.prefixes.map((p) => node(key, p, act, open, first)));
  return d;
}

function node(ni: string, p: PrefixNode, act: TreeActions, open: Set<string | null>, first: boolean): HTMLElement {
  const row = line(ni, p, act);
  if (p.children.length === 0) {
    row.classList.add('leaf');
    return row;
  }
  const key = `${ni}|${p.prefix}`;
  const d = el('details', { 'data-key': key }, el('summary', {}, row));
  if (open.has(key) || (first && p.kind === 'aggregate')) d.open = true;
  d.append(...p.children.map((c) => node(ni, c, act, open, first)));
  return d;
}

function line(ni: string, p: PrefixNode, act: TreeActions): HTMLElement {
  const u = p.utilization;
  const pct = percent(u.used, u.total);
  const fill = el('span');
  fill.style.width = `${Math.min(100, pct)}%`;
  const numbers = `${count(u.used)} used / ${count(u.total)} (${pct}%), ${count(u.free)} free${u.largestFree !== undefined ? `, largest free /${u.largestFree}` : ''}`;
  const actions = el('span', { class: 'actions' });
  if (p.kind === 'network' || p.kind === 'loopback') {
    const map = el('button', { type: 'button' }, 'Map');
    map.addEventListener('click', (e) => {
      e.preventDefault();
      act.openMap(ni, p.prefix);
    });
    actions.append(map, ' ');
  }
  const list = el('button', { type: 'button' }, 'Allocations');
  list.addEventListener('click', (e) => {
    e.preventDefault();
    act.listWithin(ni, p.prefix);
  });
  actions.append(list);
  const owner = p.owner ? `${p.package ? `${p.package}: ` : ''}${p.owner}` : '';
  return el(
    'div',
    { class: 'node', 'data-prefix': p.prefix, title: owner ? `owner ${owner}` : '' },
    el('span', { class: 'prefix' }, p.prefix),
    el('span', { class: `kind ${p.kind}` }, p.kind),
    el('span', { class: 'bar', title: `${pct}% used` }, fill),
    el('span', { class: 'numbers' }, numbers),
    actions,
  );
}
