// The page's first data, served inside its HTML: the page draws the space as soon as its
// script runs, without a round of requests for the session, the tree and the first rows (it
// then follows changes through the API like before). Shared by the server and the page's
// script, so it imports nothing but types.
import type { AllocationView, InstanceView } from './views.js';
import type { VlanIndexView } from './vlan-views.js';

/** Rows of the allocations table per page. */
export const PAGE_ROWS = 50;

export interface Session {
  tokens: boolean;
  signedIn: boolean;
  scope?: string;
}

export interface FirstData {
  tree: InstanceView[];
  /** The first page of allocations, unfiltered. */
  allocations: { items: AllocationView[]; more: boolean };
  vlans: VlanIndexView[];
}

export interface Boot {
  session: Session;
  /** Absent when the viewer must sign in first. */
  data?: FirstData;
  /** When `data` was read, for the event stream (`/api/events?since=`): it starts by saying
   *  whether anything changed since. */
  since?: string;
}

const MARK = '<script id="boot" type="application/json">';

/** The page with `boot` as its JSON data block. Every `<` is escaped, so no value (owner names
 *  and labels come from users) can close the element or open another. */
export function withBoot(template: string, boot: Boot): string {
  const at = template.indexOf(MARK);
  if (at < 0) throw new Error('web view: index.html has no boot data block');
  const json = JSON.stringify(boot).replace(/</g, '\\u003c');
  return `${template.slice(0, at + MARK.length)}${json}${template.slice(at + MARK.length)}`;
}
