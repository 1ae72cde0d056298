#!/usr/bin/env bash
# Builds helm from the Go module proxy at one pinned version (the chart's tests run the real helm:
# lint, template against values.schema.json, install/upgrade/uninstall into the lab). helm's go.mod
# has no replace/exclude lines, so `go install module@version` builds it as released. Cached per
# version outside the repo tree; prints the binary's path.
set -euo pipefail
HELM_VERSION="${HELM_VERSION:-$(cat "$(dirname "$0")/VERSION")}"
CACHE="${ONNXOP_CACHE:-$HOME/.cache/onnx-operator}/helm/${HELM_VERSION}"
if [ -x "$CACHE/helm" ]; then echo "$CACHE/helm"; exit 0; fi
command -v go >/dev/null || { echo "build-helm: Go is required to build helm $HELM_VERSION (install golang)" >&2; exit 1; }
mkdir -p "$CACHE"
# Two test runs started at once must not build into the same files: the second waits for the first.
exec 9>"$CACHE/.build.lock"
flock 9
[ -x "$CACHE/helm" ] && { echo "$CACHE/helm"; exit 0; }
echo "build-helm: building helm ${HELM_VERSION} (first time only, about 3 minutes on 2 cores; cached in $CACHE)" >&2
major="${HELM_VERSION%%.*}"
GOBIN="$CACHE/bin.tmp" CGO_ENABLED=0 go install -trimpath \
  -ldflags "-s -w -X helm.sh/helm/${major}/internal/version.version=${HELM_VERSION}" \
  "helm.sh/helm/${major}/cmd/helm@${HELM_VERSION}"
mv "$CACHE/bin.tmp/helm" "$CACHE/helm"
rmdir "$CACHE/bin.tmp"
echo "$CACHE/helm"
