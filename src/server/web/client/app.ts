// The web view's page: sign-in when the server asks for tokens, then the prefix tree, a
// subnet's map, the allocations table and the VLAN indexes, drawn first from the data the page
// came with and refreshed when the server reports a change.
import { PAGE_ROWS as PAGE, type Boot, type FirstData } from '../boot.js';
import type { AllocationView, InstanceView } from '../views.js';
import * as api from './api.js';
import { byId, el, show } from './dom.js';
import { renderSubnet } from './subnet.js';
import { renderRows } from './table.js';
import { renderTree } from './tree.js';
import { VlanView } from './vlan.js';

const state = { offset: 0, filter: new URLSearchParams(), subnet: undefined as { ni: string; prefix: string } | undefined };
let events: EventSource | undefined;
const vlans = new VlanView((err) => failed(err));

async function start(): Promise<void> {
  byId('login-form').addEventListener('submit', (e) => void signIn(e));
  byId('signout').addEventListener('click', () => void signOut());
  byId('filter').addEventListener('submit', (e) => {
    e.preventDefault();
    applyFilter();
  });
  byId('f-clear').addEventListener('click', () => {
    byId<HTMLFormElement>('filter').reset();
    applyFilter();
  });
  byId('prev').addEventListener('click', () => page(-PAGE));
  byId('next').addEventListener('click', () => page(PAGE));
  byId('subnet-close').addEventListener('click', () => {
    state.subnet = undefined;
    show('subnet', false);
  });
  const boot = readBoot();
  if (boot?.session.signedIn) return enter(boot.session, boot.data, boot.since);
  // a page reached from another site came without its SameSite=Strict cookie: ask from here
  const s = await api.session();
  if (s.tokens && !s.signedIn) return askSignIn();
  enter(s);
}

/** The data block the server put in the page (boot.ts). */
function readBoot(): Boot | undefined {
  const text = document.getElementById('boot')?.textContent;
  return text ? (JSON.parse(text) as Boot) : undefined;
}

function askSignIn(message = ''): void {
  events?.close();
  for (const id of ['space', 'subnet', 'allocations', 'vlans', 'vlan-map', 'signout']) show(id, false);
  show('login', true);
  byId('login-error').textContent = message;
  byId('who').textContent = '';
}

async function signIn(e: Event): Promise<void> {
  e.preventDefault();
  const input = byId<HTMLInputElement>('token');
  try {
    const s = await api.login(input.value);
    input.value = '';
    enter(s);
  } catch (err) {
    askSignIn(err instanceof api.SignInNeeded ? 'The token was refused.' : (err as Error).message);
  }
}

async function signOut(): Promise<void> {
  await api.logout();
  askSignIn();
}

function enter(s: api.Session, first?: FirstData, since?: string): void {
  show('login', false);
  show('space', true);
  show('allocations', true);
  show('signout', s.tokens);
  byId('who').textContent = s.tokens ? (s.scope !== undefined ? `package ${s.scope}` : 'all packages') : '';
  follow(first ? since : undefined);
  if (!first) return void refresh();
  // what the page came with, drawn at once; its stream says whether anything changed since
  showTree(first.tree);
  showRows(first.allocations);
  vlans.showIndexes(first.vlans);
  drawn();
}

/** Live: a change on the server refreshes what is shown (at most a few times a second). A
 *  stream starts with RESYNC when the page may have missed a change (a reconnection, or a
 *  change since the data it came with, named by `since`): read everything again at once. */
function follow(since?: string): void {
  events?.close();
  const live = byId('live');
  events = new EventSource(since ? `/api/events?${new URLSearchParams({ since }).toString()}` : '/api/events');
  let timer: number | undefined;
  events.addEventListener('open', () => {
    live.textContent = 'live';
    live.classList.replace('off', 'on');
  });
  events.addEventListener('error', () => {
    live.textContent = 'offline';
    live.classList.replace('on', 'off');
  });
  events.addEventListener('change', (e) => {
    if ((JSON.parse((e as MessageEvent<string>).data) as { type: string }).type === 'RESYNC') return void refresh();
    if (timer === undefined) timer = window.setTimeout(() => ((timer = undefined), void refresh()), 250);
  });
}

async function refresh(): Promise<void> {
  try {
    await Promise.all([
      api.tree().then((t) => showTree(t.networkInstances)),
      loadRows(),
      api.vlans().then((v) => vlans.showIndexes(v.indexes)),
      state.subnet ? loadSubnet(state.subnet.ni, state.subnet.prefix) : undefined,
      vlans.refresh(),
    ]);
    drawn();
  } catch (err) {
    failed(err);
  }
}

/** Marks when the page first showed data, in ms since its navigation started (tests wait for
 *  it; the page-load benchmark reads it). */
function drawn(): void {
  if (!document.body.hasAttribute('data-loaded')) document.body.setAttribute('data-loaded', performance.now().toFixed(1));
}

function failed(err: unknown): void {
  if (err instanceof api.SignInNeeded) askSignIn();
  else byId('filter-error').textContent = (err as Error).message;
}

function showTree(instances: InstanceView[]): void {
  renderTree(byId('tree'), instances, { openMap: (ni, p) => void openMap(ni, p), listWithin });
  const select = byId<HTMLSelectElement>('f-ni');
  const chosen = select.value;
  const names = instances.map((n) => `${n.namespace}/${n.name}`);
  select.replaceChildren(el('option', { value: '' }, 'all'), ...names.map((n) => el('option', { value: n }, n)));
  select.value = names.includes(chosen) ? chosen : '';
}

async function loadRows(): Promise<void> {
  const q = new URLSearchParams(state.filter);
  q.set('offset', String(state.offset));
  q.set('limit', String(PAGE));
  showRows(await api.allocations(q));
}

function showRows(res: { items: AllocationView[]; more: boolean }): void {
  byId('filter-error').textContent = '';
  renderRows(byId('alloc-rows'), res.items, (ni, p) => void openMap(ni, p));
  byId<HTMLButtonElement>('prev').disabled = state.offset === 0;
  byId<HTMLButtonElement>('next').disabled = !res.more;
  byId('page').textContent = res.items.length ? `${state.offset + 1}-${state.offset + res.items.length}` : '';
}

async function openMap(ni: string, prefix: string): Promise<void> {
  state.subnet = { ni, prefix };
  await loadSubnet(ni, prefix);
}

async function loadSubnet(ni: string, prefix: string): Promise<void> {
  const m = await api.subnet(ni, prefix);
  byId('subnet-title').textContent = `${m.prefix} (${m.networkInstance})`;
  renderSubnet(byId('subnet-body'), m);
  show('subnet', true);
}

function listWithin(ni: string, prefix: string): void {
  byId<HTMLSelectElement>('f-ni').value = ni;
  byId<HTMLInputElement>('f-prefix').value = prefix;
  applyFilter();
}

function applyFilter(): void {
  const q = new URLSearchParams();
  for (const [k, v] of new FormData(byId<HTMLFormElement>('filter'))) if (typeof v === 'string' && v.trim()) q.set(k, v.trim());
  state.filter = q;
  state.offset = 0;
  loadRows().catch(failed);
}

function page(delta: number): void {
  state.offset = Math.max(0, state.offset + delta);
  void loadRows();
}

void start();
