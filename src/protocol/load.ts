// The three services as grpc-js definitions, built once from the generated descriptors
// (see proto/generate.mjs for why they are generated rather than parsed at start).
import { fromJSON, type PackageDefinition } from '@grpc/proto-loader';
import { loadPackageDefinition, type GrpcObject, type ServiceClientConstructor, type ServiceDefinition } from '@grpc/grpc-js';
import { descriptorsJson } from './descriptors.gen.js';

/** Message shapes in JS: camelCase fields, enums as names, 64-bit as strings, empty maps and
 *  lists present, unset scalars absent (so "not given" differs from 0/""), oneofs named. */
export const LOADER_OPTIONS = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: false,
  arrays: true,
  objects: true,
  oneofs: true,
} as const;

export const SERVICE_NAMES = {
  alloc: 'alloc.Allocation',
  resource: 'resource.Resource',
  admin: 'ipaminjector.admin.v1.Admin',
} as const;

let cached: PackageDefinition | undefined;

export function packageDefinition(): PackageDefinition {
  cached ??= fromJSON(JSON.parse(descriptorsJson), LOADER_OPTIONS);
  return cached;
}

export function serviceDefinition(name: keyof typeof SERVICE_NAMES): ServiceDefinition {
  return packageDefinition()[SERVICE_NAMES[name]] as unknown as ServiceDefinition;
}

let grpcObject: GrpcObject | undefined;

/** Client constructor of one service (`new (clientConstructor('alloc'))(address, creds, options)`). */
export function clientConstructor(name: keyof typeof SERVICE_NAMES): ServiceClientConstructor {
  grpcObject ??= loadPackageDefinition(packageDefinition());
  let node: unknown = grpcObject;
  for (const part of SERVICE_NAMES[name].split('.')) node = (node as Record<string, unknown>)[part];
  return node as ServiceClientConstructor;
}
