// The one place the function decides a backend setting it does not read from the config
// alone. The package identity on a shared server: `package=` in the config, else
// IPAM_INJECTOR_PACKAGE (the grpc backend reads the environment itself, so the setting is left
// unset), else the package's root Kptfile name and its cluster (defaultPackageScope).
import type { FnConfig } from './config.js';
import { defaultPackageScope } from './nephio.js';
import type { PackageContents } from './read-package.js';

/** The config the backend is made from; `cfg` is not changed. */
export function backendConfig(cfg: FnConfig, pkg: Pick<PackageContents, 'root' | 'space'>, env: NodeJS.ProcessEnv): FnConfig {
  if (cfg.backend !== 'grpc' || cfg.backendOptions.package || env.IPAM_INJECTOR_PACKAGE || !pkg.root) return cfg;
  const scope = defaultPackageScope(pkg.root.meta, pkg.space.clusters ?? []);
  return { ...cfg, backendOptions: { ...cfg.backendOptions, package: scope } };
}
