#!/usr/bin/env bash
# Builds the lab's Kubernetes control plane (kube-apiserver, kube-controller-manager, kube-scheduler,
# kubectl) from the Go module proxy at one pinned release, in a throwaway module of ours whose go.mod
# pins every staging module (k8s.io/kubernetes' own go.mod replaces them with local paths, which Go
# ignores in a dependency). Output is cached per version outside the repo tree.
set -euo pipefail
K8S_VERSION="${K8S_VERSION:-$(cat "$(dirname "$0")/VERSION")}"
CACHE="${ONNXOP_CACHE:-$HOME/.cache/onnx-operator}/k8s/${K8S_VERSION}"
BIN="$CACHE/bin"
COMPONENTS=(kube-apiserver kube-controller-manager kube-scheduler kubectl)

have_all() { for c in "${COMPONENTS[@]}"; do [ -x "$BIN/$c" ] || return 1; done; }
if have_all; then echo "$BIN"; exit 0; fi

command -v go >/dev/null || { echo "build-k8s: Go is required to build Kubernetes $K8S_VERSION (install golang)" >&2; exit 1; }
mkdir -p "$CACHE/module" "$BIN"
# Two test runs started at once must not build into the same files: the second waits for the first.
exec 9>"$CACHE/.build.lock"
flock 9
if have_all; then echo "$BIN"; exit 0; fi
cd "$CACHE/module"
staging="v0.${K8S_VERSION#v1.}"

# The staging module list comes from the pinned k8s.io/kubernetes go.mod itself.
go mod download -json "k8s.io/kubernetes@${K8S_VERSION}" >"$CACHE/kubernetes.json"
gomod=$(sed -n 's/.*"GoMod": "\(.*\)".*/\1/p' "$CACHE/kubernetes.json")
{
  echo "module onnxop.local/labk8s"
  echo
  sed -n 's/^go \(.*\)$/go \1/p' "$gomod" | head -1
  echo
  echo "require k8s.io/kubernetes ${K8S_VERSION}"
  echo
  echo "replace ("
  grep -E '^\s*k8s\.io/[a-z0-9-]+ => \./staging/' "$gomod" | awk -v v="$staging" '{print "\t" $1 " => " $1 " " v}'
  echo ")"
} >go.mod
cat >tools.go <<'GO'
//go:build tools

package labk8s

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
GOFLAGS=-mod=mod go mod tidy -e >/dev/null 2>&1 || true
for c in "${COMPONENTS[@]}"; do
  [ -x "$BIN/$c" ] && continue
  echo "build-k8s: building $c $K8S_VERSION (first time only; cached in $BIN)" >&2
  GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "-s -w \
    -X k8s.io/component-base/version.gitVersion=${K8S_VERSION} \
    -X k8s.io/client-go/pkg/version.gitVersion=${K8S_VERSION} \
    -X k8s.io/component-base/version.gitMajor=1 \
    -X k8s.io/component-base/version.gitMinor=${K8S_VERSION#v1.} " \
    -o "$BIN/$c.tmp" "k8s.io/kubernetes/cmd/$c"
  mv "$BIN/$c.tmp" "$BIN/$c"
done
echo "$BIN"
