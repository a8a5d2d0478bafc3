// Chooses the backend the function config asks for. grpc is imported only in grpc mode, so
// the builtin path never loads gRPC code (it is a separate chunk of the bundle). The import
// is a template literal: esbuild bundles whichever backend modules exist, and a build
// without the grpc module answers with a clear error instead of failing to build.
import type { Backend } from './backend.js';
import { createBuiltinBackend } from './builtin.js';

export const BACKENDS = ['builtin', 'grpc'] as const;

type GrpcModule = { createGrpcBackend(options: Record<string, unknown>): Backend | Promise<Backend> };

async function loadBackendModule(name: string): Promise<unknown> {
  try {
    return await import(`./${name}.ts`);
  } catch (e) {
    throw new Error(`the ${name} backend is not part of this build (${(e as Error).message})`);
  }
}

export async function createBackend(name: string, options: Record<string, unknown>): Promise<Backend> {
  if (name === 'builtin') return createBuiltinBackend(options);
  if (name === 'grpc') {
    const mod = (await loadBackendModule('grpc')) as Partial<GrpcModule>;
    if (typeof mod.createGrpcBackend !== 'function') throw new Error('the grpc backend module has no createGrpcBackend');
    return await mod.createGrpcBackend(options);
  }
  throw new Error(`unknown backend "${name}" (want ${BACKENDS.join(' or ')})`);
}
