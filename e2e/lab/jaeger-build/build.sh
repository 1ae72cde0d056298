#!/usr/bin/env bash
# Builds Jaeger (v2, `cmd/jaeger`: an OpenTelemetry Collector distribution with Jaeger's storage and
# query extensions) from the Go module proxy at one pinned version. The lab runs it with in-memory
# storage as its trace backend: OTLP in, Jaeger's query API (/api/traces) out (e2e/lab/jaeger.ts).
# The module's tag is v1.x although the binary is Jaeger v2 (the repository tags both lines). The
# build runs in a throwaway module that carries Jaeger's own replace lines (Go ignores them in a
# dependency); cached per version outside the repo tree, behind a lock; prints the binary's path.
# The first build takes minutes on a 2-core machine (docs/lab.md has the measured time).
set -euo pipefail
JAEGER_VERSION="${JAEGER_VERSION:-$(cat "$(dirname "$0")/VERSION")}"
CACHE="${ONNXOP_CACHE:-$HOME/.cache/onnx-operator}/jaeger/${JAEGER_VERSION}"
OUT="$CACHE/jaeger"
if [ -x "$OUT" ]; then echo "$OUT"; exit 0; fi
command -v go >/dev/null || { echo "build-jaeger: Go is required (install golang)" >&2; exit 1; }
mkdir -p "$CACHE/module"
# Two test runs started at once must not build into the same files: the second waits for the first.
exec 9>"$CACHE/.build.lock"
flock 9
if [ -x "$OUT" ]; then echo "$OUT"; exit 0; fi
cd "$CACHE/module"
echo "build-jaeger: building jaeger ${JAEGER_VERSION} (first time only; cached in $CACHE)" >&2
go mod download -json "github.com/jaegertracing/jaeger@${JAEGER_VERSION}" >"$CACHE/jaeger.json"
gomod=$(sed -n 's/.*"GoMod": "\(.*\)".*/\1/p' "$CACHE/jaeger.json")
{
  echo "module onnxop.local/labjaeger"
  echo
  grep -E '^go ' "$gomod" | head -1
  echo
  echo "require github.com/jaegertracing/jaeger ${JAEGER_VERSION}"
  echo
  # Carry the upstream module's exclude and replace lines over verbatim.
  awk '/^(exclude|replace) \(/{blk=1} blk{print} blk&&/^\)/{blk=0; next} /^(exclude|replace) [^(]/{print}' "$gomod"
} >go.mod
printf '//go:build tools\n\npackage labjaeger\n\nimport _ "github.com/jaegertracing/jaeger/cmd/jaeger"\n' >tools.go
GOFLAGS=-mod=mod go mod tidy -e >/dev/null 2>&1 || true
start=$SECONDS
GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$OUT.tmp" github.com/jaegertracing/jaeger/cmd/jaeger
mv "$OUT.tmp" "$OUT"
echo "build-jaeger: built jaeger in $((SECONDS - start)) s" >&2
echo "$OUT"
