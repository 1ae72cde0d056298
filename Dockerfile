# One Dockerfile, a target per image:
#   docker build --target operator    -t ghcr.io/onnx-operator/operator:dev .
#   docker build --target runtime     -t ghcr.io/onnx-operator/runtime:dev .
#   docker build --target runtime-gpu -t ghcr.io/onnx-operator/runtime:dev-gpu .
# Node 24 runs the TypeScript sources directly (type stripping), so there is no compile step.
# The images run as uid 65532 with a read-only root filesystem; only /tmp is written.

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# CPU-only onnxruntime-node: its install script would otherwise fetch CUDA libraries.
ENV ONNXRUNTIME_NODE_INSTALL_CUDA=skip
RUN npm ci --omit=dev --no-audit --no-fund || npm install --omit=dev --no-save --no-audit --no-fund

FROM node:24-bookworm-slim AS base
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
USER 65532:65532

FROM base AS operator
COPY operator/src ./operator/src
# Shared with the runtime: the operator/runtime contract and the signing library.
COPY lib ./lib
COPY crds ./crds
ENTRYPOINT ["node", "operator/src/main.ts"]
CMD ["run"]

FROM base AS runtime
COPY runtime/src ./runtime/src
# The operator/runtime contract (lib/contract), and the verifier's manifest code (lib/verify) the
# runtime re-checks a signed model directory with.
COPY lib ./lib
EXPOSE 8080
ENTRYPOINT ["node", "runtime/src/main.ts"]
CMD ["serve"]

# GPU runtime: CUDA and cuDNN from NVIDIA's runtime image, onnxruntime-node's CUDA provider
# installed at build time. Without a GPU (or with a driver mismatch) the runtime stops with a
# visible error unless the model allows CPU fallback (spec.runtime.sessionOptions.cpuFallback).
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04 AS runtime-gpu
# Node from the official image (Ubuntu 24.04's glibc is newer than Debian 12's it was built on).
COPY --from=node:24-bookworm-slim /usr/local/bin/node /usr/local/bin/node
COPY --from=node:24-bookworm-slim /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s /usr/local/lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# onnxruntime-node's install script fetches its CUDA provider libraries here, at image build time.
ENV ONNXRUNTIME_NODE_INSTALL_CUDA=v12
RUN npm ci --omit=dev --no-audit --no-fund || npm install --omit=dev --no-save --no-audit --no-fund
COPY runtime/src ./runtime/src
COPY lib ./lib
ENV NODE_ENV=production
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["node", "runtime/src/main.ts"]
CMD ["serve", "--execution-provider=cuda"]
