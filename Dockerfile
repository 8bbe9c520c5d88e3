# syntax=docker/dockerfile:1
# Lectern's container image (compose.yaml builds it). Two stages: the build stage installs the
# runtime dependencies and bundles the console; the image keeps only what serving needs.

ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# onnxruntime-node's install step fetches CUDA files; its CPU binaries ship inside the package.
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev && npm cache clean --force
COPY . .
# esbuild is a runtime dependency, so the console builds without the dev tools.
RUN node scripts/build-web.ts
# ONNX Runtime ships binaries for every OS and CPU; keep this image's own.
RUN set -eu; keep="linux/$(node -p process.arch)"; \
    for dir in node_modules/onnxruntime-node/bin/napi-v*/*/*; do \
      case "$dir" in *"/$keep") ;; *) rm -rf "$dir" ;; esac; \
    done; \
    find node_modules/onnxruntime-node/bin -mindepth 2 -maxdepth 2 -type d -empty -delete

FROM ${NODE_IMAGE}
# espeak-ng speaks (and gives Piper voices their phonemes); tini reaps children and passes SIGTERM on.
RUN apt-get update \
 && apt-get install -y --no-install-recommends espeak-ng tini ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# A fixed uid, so files on the volumes keep one owner across rebuilds.
RUN groupadd --system --gid 10001 lectern \
 && useradd --system --uid 10001 --gid lectern --home-dir /data --no-create-home --shell /usr/sbin/nologin lectern \
 && mkdir -p /data /models /backups \
 && chown lectern:lectern /data /models /backups
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/server ./server
COPY --from=build /app/scripts ./scripts
COPY --from=build /app/models ./models
COPY --from=build /app/web/dist ./web/dist
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/data \
    MODELS_DIR=/models
USER lectern
# /backups: BACKUP_DIR by default (beside DATA_DIR, never inside it).
VOLUME ["/data", "/models", "/backups"]
EXPOSE 8080
# /healthz answers from the moment the server listens, before models and the index are loaded.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "server/main.ts"]
