# ipam-injector: the KRM function (default entry) and the IPAM server (`serve`) in one image.
#
#   docker build -t ipam-injector .                       # real registry: node:20-bookworm-slim
#   node --import tsx scripts/image/build.ts              # offline build here (podman,
#                                                          # stand-in base from the host's node)
#
# Both stages take their base from a build ARG so the same file builds against a registry image
# and against a locally made stand-in that holds only node (+ npm for the build stage).
ARG BUILD_IMAGE=node:20-bookworm-slim
ARG RUNTIME_IMAGE=node:20-bookworm-slim

# --- build: install everything, bundle, and collect what the bundle needs at run time -------
FROM ${BUILD_IMAGE} AS build
WORKDIR /src
# Dependencies first so that source edits reuse this layer. No install scripts: nothing here
# needs one (esbuild finds its binary through its optional platform package). Offline builds
# pass `--build-arg npm_config_offline=true` and a populated npm cache at /root/.npm.
ARG npm_config_offline=false
COPY package.json package-lock.json ./
RUN ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"]
# .dockerignore narrows this to tsconfig.json, scripts/, proto/, src/ and bin/.
COPY . .
RUN ["node", "scripts/build.mjs"]
# Keep only the production packages that the bundle still imports (esbuild inlines the rest),
# plus their own dependencies: usually none at all.
RUN ["node", "scripts/image/runtime-files.mjs", "/src", "/out"]

# --- runtime: node + the bundle, as an unprivileged user -------------------------------------
FROM ${RUNTIME_IMAGE}
LABEL org.opencontainers.image.title="ipam-injector" \
      org.opencontainers.image.description="KRM function and gRPC server for IP address management in kpt packages" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/ /app/
ENV NODE_ENV=production
# 65534 is `nobody` in Debian images and in the stand-in: numeric so that Kubernetes'
# runAsNonRoot can verify it; kpt runs functions with `--user nobody` anyway.
USER 65534:65534
WORKDIR /tmp
ENTRYPOINT ["node", "/app/bin/ipam-injector"]
