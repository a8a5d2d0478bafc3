// The view's JSON endpoints. A 401 means "sign in"; every other error carries a message.
import type { Session } from '../boot.js';
import type { AllocationView, InstanceView, SubnetMap } from '../views.js';
import type { VlanIndexMap, VlanIndexView } from '../vlan-views.js';

export type { Session };

export class SignInNeeded extends Error {}

async function call<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(path, { credentials: 'same-origin', ...init });
  if (res.status === 401) throw new SignInNeeded('sign in');
  const body = (await res.json()) as T & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `${res.status}`);
  return body;
}

export const session = () => call<Session>('/api/session');
export const login = (token: string) =>
  call<Session>('/api/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
export const logout = () => call<Session>('/api/logout', { method: 'POST' });
export const tree = () => call<{ networkInstances: InstanceView[] }>('/api/tree');
export const allocations = (q: URLSearchParams) => call<{ items: AllocationView[]; more: boolean }>(`/api/allocations?${q.toString()}`);
export const subnet = (networkInstance: string, prefix: string) =>
  call<SubnetMap>(`/api/subnet?${new URLSearchParams({ networkInstance, prefix }).toString()}`);
export const vlans = () => call<{ indexes: VlanIndexView[] }>('/api/vlans');
export const vlan = (index: string) => call<VlanIndexMap>(`/api/vlan?${new URLSearchParams({ index }).toString()}`);
