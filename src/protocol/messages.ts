// JS shapes of the wire messages as proto-loader hands them over with LOADER_OPTIONS
// (camelCase fields; maps and lists always present on decoded messages; unset scalars and
// messages absent). Encoders accept the same shapes with anything optional.

export type StringMap = Record<string, string>;

// ---- alloc ----
export interface AllocSpec {
  prefixkind?: string;
  prefix?: string;
  prefixLength?: number;
  network?: string;
  addressFamily?: string;
  selector?: StringMap;
}
export interface AllocRequest {
  namespace?: string;
  name?: string;
  kind?: string;
  labels?: StringMap;
  spec?: AllocSpec;
}
export interface AllocResponse {
  allocatedPrefix?: string;
  gateway?: string;
}

// ---- resource ----
export interface GVK {
  group?: string;
  version?: string;
  kind?: string;
}
export interface NSN {
  namespace?: string;
  name?: string;
}
export interface Header {
  gvk?: GVK;
  nsn?: NSN;
  ownerGvk?: GVK;
  ownerNsn?: NSN;
}
export type StatusCode = 'Valid' | 'InValid' | 'Unknown';
export interface ClaimRequest {
  header?: Header;
  spec?: string;
  expiryTime?: string;
}
export interface ClaimResponse {
  header?: Header;
  spec?: string;
  status?: string;
  statusCode?: StatusCode;
  expiryTime?: string;
}
export interface WatchClaimRequest {
  header?: Header;
}
export interface WatchClaimResponse {
  header?: Header;
  statusCode?: StatusCode;
}

// ---- admin (ipaminjector.admin.v1) ----
export interface WNetworkInstanceRef {
  name?: string;
  namespace?: string;
}
export interface WLabelSelector {
  matchLabels?: StringMap;
  matchExpressions?: { key?: string; operator?: string; values?: string[] }[];
}
export interface WInstancePrefix {
  prefix?: string;
  labels?: StringMap;
}
export interface WNetworkInstance {
  name?: string;
  namespace?: string;
  owner?: string;
  prefixes?: WInstancePrefix[];
}
export interface WUtilization {
  total?: string;
  used?: string;
  free?: string;
}
export interface WPrefix {
  networkInstance?: WNetworkInstanceRef;
  prefix?: string;
  kind?: string;
  addressFamily?: string;
  labels?: StringMap;
  owner?: string;
  reserved?: string[];
  utilization?: WUtilization;
}
export interface WPrefixSpec {
  networkInstance?: WNetworkInstanceRef;
  prefix?: string;
  kind?: string;
  networkName?: string;
  labels?: StringMap;
  owner?: string;
}
export interface WAllocationRequest {
  owner?: string;
  networkInstance?: WNetworkInstanceRef;
  kind?: string;
  selector?: WLabelSelector;
  prefix?: string;
  prefixLength?: number;
  addressFamily?: string;
  createPrefix?: boolean;
  labels?: StringMap;
  index?: number;
  hint?: string;
  dryRun?: boolean;
}
export interface WAllocation {
  owner?: string;
  networkInstance?: WNetworkInstanceRef;
  kind?: string;
  addressFamily?: string;
  prefix?: string;
  gateway?: string;
  parent?: string;
  labels?: StringMap;
}
export interface WError {
  code?: number;
  message?: string;
  reason?: string;
  networkInstance?: string;
  selector?: string;
  prefix?: string;
  field?: string;
  dependents?: string[];
  subject?: string;
}
export interface WOutcome {
  allocation?: WAllocation;
  error?: WError;
  result?: 'allocation' | 'error';
}
export interface WApplyNetworkInstanceRequest {
  ref?: WNetworkInstanceRef;
  prefixes?: WInstancePrefix[];
  owner?: string;
}
export interface WBatchRequest {
  package?: string;
  networkInstances?: WApplyNetworkInstanceRequest[];
  prefixes?: WPrefixSpec[];
  release?: string[];
  requests?: WAllocationRequest[];
  prune?: boolean;
  dryRun?: boolean;
  compact?: boolean;
  atomic?: boolean;
  networks?: string[];
  clusters?: string[];
}
export interface WBatchResponse {
  outcomes?: WOutcome[];
  spaceErrors?: WError[];
  released?: WAllocation[];
}
export interface WListAllocationsRequest {
  networkInstance?: WNetworkInstanceRef;
  owner?: string;
  ownerPrefix?: string;
  selector?: WLabelSelector;
  limit?: number;
  continue?: string;
}
export interface WListPrefixesRequest {
  networkInstance?: WNetworkInstanceRef;
  utilization?: boolean;
  limit?: number;
  continue?: string;
}
export interface WRemoveNetworkInstanceRequest {
  ref?: WNetworkInstanceRef;
  force?: boolean;
}
export interface WRemovePrefixRequest {
  networkInstance?: WNetworkInstanceRef;
  prefix?: string;
  force?: boolean;
}
export interface WReleaseRequest {
  owner?: string;
  force?: boolean;
}
export interface WWatchRequest {
  networkInstance?: WNetworkInstanceRef;
  ownerPrefix?: string;
  initial?: boolean;
}
export interface WEvent {
  seq?: string;
  type?: string;
  allocation?: WAllocation;
  prefix?: WPrefix;
  networkInstance?: WNetworkInstance;
}
