// Builds the function image on a machine without a registry or Docker engine:
//   node --import tsx scripts/image/build.ts [--tag localhost/ipam-injector:dev]
//        [--storage DIR] [--save FILE.tar] [--clean]
// 1. a private podman setup in DIR (default: a new folder under /tmp),
// 2. stand-in base images from the host's node (scripts/image/standin.ts),
// 3. the image from the real Dockerfile, bases passed as build ARGs.
// Then prints the environment to use it (podman, `KPT_FN_RUNTIME=podman kpt fn ...`), or with
// --save writes an OCI archive; --clean removes the storage afterwards.
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createPodman } from './podman.js';
import { buildStandin } from './standin.js';
import { buildFunctionImage, inspectImage } from './function-image.js';

const { values } = parseArgs({
  options: {
    tag: { type: 'string', default: 'localhost/ipam-injector:dev' },
    storage: { type: 'string' },
    save: { type: 'string' },
    clean: { type: 'boolean', default: false },
  },
});

const repo = fileURLToPath(new URL('../..', import.meta.url));
const p = createPodman({ dir: values.storage });
let ok = false;
try {
  const base = buildStandin(p);
  const image = buildFunctionImage(p, {
    context: repo,
    tag: values.tag!,
    buildImage: base.build,
    runtimeImage: base.slim,
  });
  const facts = inspectImage(p, image.tag);
  console.log(`image ${image.tag}: ${(facts.sizeBytes / 1e6).toFixed(1)} MB (storage ${p.driver})`);
  console.log(`BENCH image-standin-build seconds=${base.seconds.toFixed(2)}`);
  console.log(`BENCH image-function-build seconds=${image.seconds.toFixed(2)} podman_build_seconds=${image.buildSeconds.toFixed(2)}`);
  if (values.save) {
    p.podman(['save', '--format', 'oci-archive', '--output', values.save, image.tag]);
    console.log(`saved ${values.save} (load with: podman load -i ${values.save})`);
  }
  if (!values.clean) {
    p.keep();
    console.log('\nto use it:');
    console.log(`  export CONTAINERS_CONF=${p.env.CONTAINERS_CONF} CONTAINERS_STORAGE_CONF=${p.env.CONTAINERS_STORAGE_CONF}`);
    console.log(`  KPT_FN_RUNTIME=podman kpt fn eval PKG --image ${image.tag}`);
    console.log(`remove with: rm -rf ${p.dir}  (after: podman rm -af; podman image umount -a)`);
  }
  ok = true;
} finally {
  if (values.clean || !ok) p.cleanup();
}
