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
# onnxruntime-node ships its binaries for every platform (~290 MB): keep only the build's own.
RUN (npm ci --omit=dev --no-audit --no-fund || npm install --omit=dev --no-save --no-audit --no-fund) \
 && keep="$(node -p 'process.platform + "/" + process.arch')" \
 && for d in node_modules/onnxruntime-node/bin/napi-v6/*/*; do case "$d" in */"$keep") ;; *) rm -rf "$d" ;; esac; done

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

# GPU runtime: the runtime image plus CUDA 13 and cuDNN 9 user-space libraries and onnxruntime's CUDA
# execution provider, all from PyPI wheels: NVIDIA's nvidia-* (the libraries nvidia/cuda images ship,
# redistributed by NVIDIA) and the provider libraries of onnxruntime-gpu at exactly
# onnxruntime-node's version (PyPI builds it against CUDA 13; onnxruntime-node's own installer
# would fetch them from NuGet). One base for every image (Debian 12 + Node 24), no registry beyond
# PyPI and npm; the GPU driver (libcuda) comes from the node, as with any CUDA image (NVIDIA
# container toolkit). Without a GPU (or with a driver older than CUDA 13's) the runtime stops with
# a visible error unless the model allows CPU fallback (spec.runtime.sessionOptions.cpuFallback).
# docs/images.md says why and what was checked.
FROM node:24-bookworm-slim AS cuda
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3-pip \
 && rm -rf /var/lib/apt/lists/*
RUN pip install --no-deps --no-compile --break-system-packages --target /opt/wheels \
      onnxruntime-gpu==1.30.0 \
      nvidia-cuda-runtime==13.0.96 nvidia-cublas==13.1.0.3 nvidia-cufft==12.0.0.61 nvidia-curand==10.4.0.35 \
      nvidia-nvjitlink==13.0.88 nvidia-cuda-nvrtc==13.0.88 nvidia-cudnn-cu13==9.28.1.4 \
 && mkdir -p /opt/cuda/lib /opt/cuda/ort \
 && find /opt/wheels/nvidia -name 'lib*.so*' -exec cp -a {} /opt/cuda/lib/ \; \
 && cp /opt/wheels/onnxruntime/capi/libonnxruntime_providers_cuda.so /opt/wheels/onnxruntime/capi/libonnxruntime_providers_shared.so /opt/cuda/ort/ \
 && rm -rf /opt/wheels

# The CUDA libraries first, on the plain base: ~2.5 GB that a change of the sources or the npm
# packages does not touch, so neither a rebuild nor a pull of a new version moves them again.
FROM node:24-bookworm-slim AS runtime-gpu
COPY --from=cuda /opt/cuda/lib/ /usr/local/lib/onnxop-cuda/
ENV LD_LIBRARY_PATH=/usr/local/lib/onnxop-cuda
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
# onnxruntime loads its provider libraries from the directory of libonnxruntime.so.
COPY --from=cuda /opt/cuda/ort/ ./node_modules/onnxruntime-node/bin/napi-v6/linux/x64/
COPY package.json ./
USER 65532:65532
COPY runtime/src ./runtime/src
COPY lib ./lib
EXPOSE 8080
ENTRYPOINT ["node", "runtime/src/main.ts"]
CMD ["serve", "--execution-provider=cuda"]
