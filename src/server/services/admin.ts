// ipaminjector.admin.v1.Admin: listing (admin-lists.ts), space management and generic
// allocate/release (admin-space.ts), the per-package Batch the function uses (batch.ts), Watch
// (admin-watch.ts) and the VLAN rpcs (vlan-admin.ts). This file only assembles the table.
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { SERVICE_NAMES } from '../../protocol/load.js';
import { listAllocations, listNetworkInstances, listPrefixes } from './admin-lists.js';
import { allocate, applyNetworkInstance, applyPrefix, release, removeNetworkInstance, removePrefix } from './admin-space.js';
import { watch } from './admin-watch.js';
import { batchHandler, Turns } from './batch.js';
import { implement, type ServiceContext } from './context.js';
import { vlanAdminHandlers } from './vlan-admin.js';

export function adminService(ctx: ServiceContext): UntypedServiceImplementation {
  return implement(ctx, SERVICE_NAMES.admin, {
    unary: {
      ListNetworkInstances: listNetworkInstances,
      ListPrefixes: listPrefixes,
      ListAllocations: listAllocations,
      ApplyNetworkInstance: applyNetworkInstance,
      RemoveNetworkInstance: removeNetworkInstance,
      ApplyPrefix: applyPrefix,
      RemovePrefix: removePrefix,
      Allocate: allocate,
      Release: release,
      Batch: batchHandler(new Turns()),
      ...vlanAdminHandlers,
    },
    streams: { Watch: watch },
  });
}
