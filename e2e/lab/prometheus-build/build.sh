#!/usr/bin/env bash
# Builds Prometheus (or, with the argument `promtool`, its promtool) from the Go module proxy at one
# pinned version, with only the Kubernetes service discovery compiled in. Debian's `prometheus`
# package is built without Kubernetes discovery ("field kubernetes_sd_configs not found"), which
# the lab needs; promtool (`promtool test rules`, `check rules`) tests the alerting rules against
# the same PromQL engine. The build runs in a throwaway module that carries Prometheus's own
# replace/exclude lines (Go ignores them in a dependency); both binaries share it and Go's compile
# cache, so the second one builds in a fraction of the first's time. Cached per version outside
# the repo tree; prints the binary's path.
set -euo pipefail
BIN="${1:-prometheus}"
case "$BIN" in prometheus | promtool) ;; *) echo "build-prometheus: unknown binary '$BIN' (prometheus or promtool)" >&2; exit 2 ;; esac
PROM_VERSION="${PROM_VERSION:-$(cat "$(dirname "$0")/VERSION")}"
CACHE="${ONNXOP_CACHE:-$HOME/.cache/onnx-operator}/prometheus/${PROM_VERSION}"
if [ -x "$CACHE/$BIN" ]; then echo "$CACHE/$BIN"; exit 0; fi
command -v go >/dev/null || { echo "build-prometheus: Go is required (install golang)" >&2; exit 1; }
mkdir -p "$CACHE/module"
# Two test runs started at once must not build into the same files: the second waits for the first.
exec 9>"$CACHE/.build.lock"
flock 9
[ -x "$CACHE/$BIN" ] && { echo "$CACHE/$BIN"; exit 0; }
cd "$CACHE/module"
echo "build-prometheus: building $BIN ${PROM_VERSION} (first time only; cached in $CACHE)" >&2
go mod download -json "github.com/prometheus/prometheus@${PROM_VERSION}" >"$CACHE/prometheus.json"
gomod=$(sed -n 's/.*"GoMod": "\(.*\)".*/\1/p' "$CACHE/prometheus.json")
{
  echo "module onnxop.local/labprometheus"
  echo
  grep -E '^go ' "$gomod" | head -1
  echo
  echo "require github.com/prometheus/prometheus ${PROM_VERSION}"
  echo
  # Carry the upstream module's exclude and replace blocks over verbatim.
  awk '/^(exclude|replace) \(/{blk=1} blk{print} blk&&/^\)/{blk=0; next} /^(exclude|replace) [^(]/{print}' "$gomod"
} >go.mod
cat >tools.go <<'GO'
//go:build tools

package labprometheus

import (
	_ "github.com/prometheus/prometheus/cmd/prometheus"
	_ "github.com/prometheus/prometheus/cmd/promtool"
)
GO
GOFLAGS=-mod=mod go mod tidy -e >/dev/null 2>&1 || true
GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -tags remove_all_sd,enable_kubernetes_sd -ldflags "-s -w" \
  -o "$CACHE/$BIN.tmp" "github.com/prometheus/prometheus/cmd/$BIN"
mv "$CACHE/$BIN.tmp" "$CACHE/$BIN"
echo "$CACHE/$BIN"
