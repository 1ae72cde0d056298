#!/usr/bin/env bash
# Creates a Python virtualenv with NVIDIA's Triton client (`tritonclient[grpc,http]`) from PyPI at
# one pinned version, for the runtime's gRPC/HTTP interop test (runtime/src/grpc/tritonclient-interop.test.ts).
# Cached outside the repo tree; prints the venv's python path on stdout (progress goes to stderr).
set -euo pipefail
TRITONCLIENT_VERSION="${TRITONCLIENT_VERSION:-2.73.0}"
VENV="${ONNXOP_CACHE:-$HOME/.cache/onnx-operator}/tritonclient-venv"
STAMP="$VENV/.onnxop-tritonclient-${TRITONCLIENT_VERSION}"
if [ -f "$STAMP" ] && [ -x "$VENV/bin/python" ]; then echo "$VENV/bin/python"; exit 0; fi
PY="${PYTHON:-python3}"
command -v "$PY" >/dev/null || { echo "setup-tritonclient: python3 is required" >&2; exit 1; }
echo "setup-tritonclient: installing tritonclient[grpc,http] ${TRITONCLIENT_VERSION} into $VENV (first time only)" >&2
rm -rf "$VENV"
"$PY" -m venv "$VENV" >&2
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "tritonclient[grpc,http]==${TRITONCLIENT_VERSION}" >&2
"$VENV/bin/python" -c 'import tritonclient.grpc, tritonclient.http, numpy' >&2
touch "$STAMP"
echo "$VENV/bin/python"
