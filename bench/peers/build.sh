#!/usr/bin/env bash
# Builds a progressive-delivery peer from the Go module proxy at a pinned version, for the
# side-by-side benchmark (docs/comparison.md): `flagger` or `argo-rollouts`. Each is built in a
# throwaway module of ours (Argo Rollouts carries replace lines for the k8s.io modules, which Go
# ignores in a dependency, so they are copied in). Cached per version outside the repo tree, behind
# a lock; prints the binary's path. The first build takes minutes on a 2-core machine.
set -euo pipefail
PEER="${1:-}"
FLAGGER_VERSION=v1.36.1
ARGO_ROLLOUTS_VERSION=v1.10.2
case "$PEER" in
  flagger) MODULE=github.com/fluxcd/flagger; VERSION=$FLAGGER_VERSION; PKG=$MODULE/cmd/flagger ;;
  # v1.10.2 declares go 1.26.10; this machine's Go is 1.26.8, so the go command fetches the approved
  # toolchain from the module proxy (GOTOOLCHAIN), for this build only.
  argo-rollouts) MODULE=github.com/argoproj/argo-rollouts; VERSION=$ARGO_ROLLOUTS_VERSION; PKG=$MODULE/cmd/rollouts-controller; export GOTOOLCHAIN=go1.27.3 ;;
  *) echo "build-peer: which peer? flagger or argo-rollouts" >&2; exit 2 ;;
esac
CACHE="${ONNXOP_CACHE:-$HOME/.cache/onnx-operator}/peers/$PEER/$VERSION"
OUT="$CACHE/$PEER"
if [ -x "$OUT" ]; then echo "$OUT"; exit 0; fi
command -v go >/dev/null || { echo "build-peer: Go is required (install golang)" >&2; exit 1; }
mkdir -p "$CACHE/module"
exec 9>"$CACHE/.build.lock"
flock 9
if [ -x "$OUT" ]; then echo "$OUT"; exit 0; fi
cd "$CACHE/module"
go mod download -json "$MODULE@$VERSION" >"$CACHE/module.json"
gomod=$(sed -n 's/.*"GoMod": "\(.*\)".*/\1/p' "$CACHE/module.json")
dir=$(sed -n 's/.*"Dir": "\(.*\)".*/\1/p' "$CACHE/module.json")
{
  echo "module onnxop.local/peer"
  echo
  sed -n 's/^go \(.*\)$/go \1/p' "$gomod" | head -1
  echo
  echo "require $MODULE $VERSION"
  echo
  # The peer's own replace lines (only those naming a module version; local paths cannot apply).
  awk '/^replace \($/{r=1;next} r&&/^\)/{r=0;next} r&&/=>/&&$NF!~/^\./{print "replace " $0} /^replace [^(]/&&$NF!~/^\./{print}' "$gomod"
} >go.mod
printf '//go:build tools\n\npackage peer\n\nimport _ "%s"\n' "$PKG" >tools.go
GOFLAGS=-mod=mod go mod tidy -e >/dev/null 2>&1 || true
echo "build-peer: building $PEER $VERSION from the Go module proxy (first time only; cached in $CACHE)" >&2
start=$SECONDS
GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$OUT.tmp" "$PKG"
mv "$OUT.tmp" "$OUT"
# The peer's CRDs and manifests come from its own module files, at the same version.
rm -rf "$CACHE/src" && cp -r "$dir" "$CACHE/src" && chmod -R u+w "$CACHE/src"
echo "build-peer: built $PEER in $((SECONDS - start)) s" >&2
echo "$OUT"
