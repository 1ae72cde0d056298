#!/usr/bin/env bash
# Creates a Python virtualenv with the OpenSSF `model_signing` package from PyPI at one pinned
# version (test set-up for the signature interop tests). Cached outside the repo tree; prints the
# venv's python path on stdout (progress goes to stderr).
set -euo pipefail
MODEL_SIGNING_VERSION="${MODEL_SIGNING_VERSION:-1.1.1}"
# model_signing 1.1.1 imports OpenSSL (certificate signing) without declaring pyOpenSSL.
PYOPENSSL_VERSION="${PYOPENSSL_VERSION:-26.4.0}"
VENV="${ONNXOP_CACHE:-$HOME/.cache/onnx-operator}/model-signing-venv"
STAMP="$VENV/.onnxop-model-signing-${MODEL_SIGNING_VERSION}"
if [ -f "$STAMP" ] && [ -x "$VENV/bin/python" ]; then echo "$VENV/bin/python"; exit 0; fi
PY="${PYTHON:-python3}"
command -v "$PY" >/dev/null || { echo "setup-model-signing: python3 is required" >&2; exit 1; }
echo "setup-model-signing: installing model_signing ${MODEL_SIGNING_VERSION} into $VENV (first time only)" >&2
rm -rf "$VENV"
"$PY" -m venv "$VENV" >&2
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "model-signing==${MODEL_SIGNING_VERSION}" "pyOpenSSL==${PYOPENSSL_VERSION}" >&2
"$VENV/bin/python" -c 'import model_signing' >&2
touch "$STAMP"
echo "$VENV/bin/python"
