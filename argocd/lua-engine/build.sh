#!/usr/bin/env bash
# Builds argocd-lua-test (main.go next to this file) against Argo CD's own Lua engine,
# github.com/argoproj/argo-cd/v3/util/lua, from the Go module proxy at the version in VERSION.
# The build runs in a throwaway module that carries Argo CD's replace lines (the k8s.io pins; Go
# ignores them in a dependency); every other version is the one Argo CD's go.mod selects. Cached
# per Argo CD version and main.go outside the repo tree; prints the binary's path.
#
# Why this Argo CD version: it is the newest whose util/lua builds from the proxy with Go 1.26.
# v3.3.0 to v3.5.x take gitops-engine from a folder inside their own repository
# (`replace … => ./gitops-engine`), which the module zip leaves out, and the proxy refuses that
# module's pseudo-version (github.com/argoproj/argo-cd/gitops-engine@v0.7.1-0.20250908182407-97ad5b59a627:
# 403 "This module version is not available"); v3.6.x requires Go >= 1.27.0. The engine's code
# (util/lua/lua.go, oslib_safe.go) is the same in v3.5.7 but for a type lookup in an error path.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ARGOCD_VERSION="${ARGOCD_VERSION:-$(cat "$HERE/VERSION")}"
SRC_HASH="$(sha256sum "$HERE/main.go" | cut -c1-12)"
CACHE="${ONNXOP_CACHE:-$HOME/.cache/onnx-operator}/argocd-lua/${ARGOCD_VERSION}-${SRC_HASH}"
BIN="$CACHE/argocd-lua-test"
if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi
command -v go >/dev/null || { echo "build-argocd-lua: Go is required (install golang)" >&2; exit 1; }
mkdir -p "$CACHE/module"
# Two test runs started at once must not build into the same files: the second waits for the first.
exec 9>"$CACHE/.build.lock"
flock 9
[ -x "$BIN" ] && { echo "$BIN"; exit 0; }
cd "$CACHE/module"
echo "build-argocd-lua: building Argo CD ${ARGOCD_VERSION}'s Lua engine test runner (first time only, a few minutes; cached in $CACHE)" >&2
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
go mod download -json "github.com/argoproj/argo-cd/v3@${ARGOCD_VERSION}" >"$CACHE/argocd.json"
gomod=$(sed -n 's/.*"GoMod": "\(.*\)".*/\1/p' "$CACHE/argocd.json")
{
  echo "module onnxop.local/argocdluatest"
  echo
  grep -E '^go ' "$gomod" | head -1
  echo
  echo "require github.com/argoproj/argo-cd/v3 ${ARGOCD_VERSION}"
  echo
  # Carry the upstream module's exclude and replace blocks over verbatim.
  awk '/^(exclude|replace) \(/{blk=1} blk{print} blk&&/^\)/{blk=0; next} /^(exclude|replace) [^(]/{print}' "$gomod"
} >go.mod
cp "$HERE/main.go" main.go
# -mod=mod adds the packages main.go imports at the versions Argo CD's requirements select.
go build -trimpath -ldflags "-s -w" -o "$BIN.tmp" .
mv "$BIN.tmp" "$BIN"
echo "$BIN"
