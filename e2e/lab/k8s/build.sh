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
# One `go build` for all four: Go schedules their shared packages once and in parallel (building
# them one by one re-checked the whole graph per binary). The first build on a 2-core machine takes
# the time docs/lab.md gives; a ticker says it is still going.
echo "build-k8s: building ${COMPONENTS[*]} $K8S_VERSION from the Go module proxy (first time only, several minutes; cached in $BIN)" >&2
start=$SECONDS
( while sleep 60; do echo "build-k8s: still building ($(((SECONDS - start) / 60)) min so far)" >&2; done ) &
ticker=$!
trap 'kill $ticker 2>/dev/null || true' EXIT
rm -rf "$BIN/.tmp" && mkdir -p "$BIN/.tmp"
GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "-s -w \
  -X k8s.io/component-base/version.gitVersion=${K8S_VERSION} \
  -X k8s.io/client-go/pkg/version.gitVersion=${K8S_VERSION} \
  -X k8s.io/component-base/version.gitMajor=1 \
  -X k8s.io/component-base/version.gitMinor=${K8S_VERSION#v1.} " \
  -o "$BIN/.tmp/" "${COMPONENTS[@]/#/k8s.io/kubernetes/cmd/}"
for c in "${COMPONENTS[@]}"; do mv "$BIN/.tmp/$c" "$BIN/$c"; done
rmdir "$BIN/.tmp"
echo "build-k8s: built in $(((SECONDS - start) / 60)) min $(((SECONDS - start) % 60)) s" >&2
echo "$BIN"
