#!/usr/bin/env bash
# Builds cosign from the Go module proxy at one pinned version (test set-up for the signature
# interop tests; nothing else is downloaded). The build runs in a throwaway module under the cache
# that carries cosign's own replace/exclude lines (Go ignores them in a dependency). Cached per
# version outside the repo tree; prints the binary's path on stdout (progress goes to stderr).
set -euo pipefail
COSIGN_VERSION="${COSIGN_VERSION:-v2.6.5}"
CACHE="${ONNXOP_CACHE:-$HOME/.cache/onnx-operator}/cosign/${COSIGN_VERSION}"
if [ -x "$CACHE/cosign" ]; then echo "$CACHE/cosign"; exit 0; fi
command -v go >/dev/null || { echo "build-cosign: Go is required (install golang)" >&2; exit 1; }
mkdir -p "$CACHE/module"
cd "$CACHE/module"
echo "build-cosign: building cosign ${COSIGN_VERSION} (first time only; cached in $CACHE)" >&2
major="${COSIGN_VERSION%%.*}"
mod="github.com/sigstore/cosign/${major}"
go mod download -json "${mod}@${COSIGN_VERSION}" >"$CACHE/cosign.json"
gomod=$(sed -n 's/.*"GoMod": "\(.*\)".*/\1/p' "$CACHE/cosign.json")
{
  echo "module onnxop.local/labcosign"
  echo
  grep -E '^go ' "$gomod" | head -1
  echo
  echo "require ${mod} ${COSIGN_VERSION}"
  echo
  awk '/^(exclude|replace) \(/{blk=1} blk{print} blk&&/^\)/{blk=0; next} /^(exclude|replace) [^(]/{print}' "$gomod"
} >go.mod
cat >tools.go <<GO
//go:build tools

package labcosign

import _ "${mod}/cmd/cosign"
GO
GOFLAGS=-mod=mod go mod tidy -e >&2 || true
GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$CACHE/cosign.tmp" "${mod}/cmd/cosign" >&2
mv "$CACHE/cosign.tmp" "$CACHE/cosign"
echo "$CACHE/cosign"
