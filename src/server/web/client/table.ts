// The allocations table: one page at a time, filtered on the server.
import type { AllocationView } from '../views.js';
import { el } from './dom.js';

export function renderRows(body: HTMLElement, items: AllocationView[], openMap: (ni: string, prefix: string) => void): void {
  if (items.length === 0) {
    body.replaceChildren(el('tr', {}, el('td', { colspan: '8' }, 'No allocation matches.')));
    return;
  }
  body.replaceChildren(...items.map((a) => row(a, openMap)));
}

function row(a: AllocationView, openMap: (ni: string, prefix: string) => void): HTMLElement {
  const link = el('button', { type: 'button', class: 'subnet-link' }, a.parent);
  link.addEventListener('click', () => openMap(a.networkInstance, a.parent));
  const labels = Object.entries(a.labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return el(
    'tr',
    { 'data-prefix': a.prefix },
    el('td', {}, a.networkInstance),
    el('td', { class: 'mono' }, a.prefix),
    el('td', { class: 'mono' }, a.gateway),
    el('td', {}, a.kind),
    el('td', {}, a.package),
    el('td', { class: 'owner' }, a.owner || 'another package'),
    el('td', { class: 'labels' }, labels),
    el('td', {}, link),
  );
}
