// Space definitions in a package (NetworkInstance, IPPrefix, Network, WorkloadCluster): read
// by the shared reader (src/space/read.ts), with its errors as the function's FieldErrors.
import type { PackageSpace } from '../backends/backend.js';
import { readSpaceDefinition, SpaceFieldError } from '../space/read.js';
import type { Obj } from './item.js';
import { FieldError } from './requests.js';
import { filePath, type Meta } from './resource.js';

/** Records the resource in `space`; returns the owner key of what it defines. */
export function readSpace(obj: Obj, m: Meta, space: PackageSpace): string {
  try {
    return readSpaceDefinition(obj, space, filePath(m));
  } catch (err) {
    if (err instanceof SpaceFieldError) throw new FieldError(err.field, err.message);
    throw err;
  }
}
