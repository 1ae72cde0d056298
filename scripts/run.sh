#!/usr/bin/env bash
# The project's one entry point behind every npm script. On a fresh clone it sets up what is missing
# (Node 24 from the npm registry, npm packages, the lab's Debian packages and Kubernetes binaries),
# then runs the command under Node 24. Each step is skipped when already satisfied.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CALLER_DIR="$PWD"
cd "$ROOT"
CACHE="${ONNXOP_CACHE:-$HOME/.cache/onnx-operator}"
NODE_MAJOR=24
say() { printf '[onnx-operator] %s\n' "$*" >&2; }

ensure_node() {
  local cur
  cur="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
  if [ "$cur" -ge "$NODE_MAJOR" ]; then return; fi
  local dir="$CACHE/node${NODE_MAJOR}"
  if [ ! -x "$dir/node_modules/.bin/node" ]; then
    say "Node $cur is older than $NODE_MAJOR; installing node@$NODE_MAJOR from the npm registry into $dir"
    mkdir -p "$dir"
    if ! npm install --prefix "$dir" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "node@$NODE_MAJOR" >"$dir.log" 2>&1; then
      cat "$dir.log" >&2
      say "could not install node@$NODE_MAJOR (above, and in $dir.log)"
      exit 1
    fi
  fi
  export PATH="$dir/node_modules/.bin:$PATH"
}

ensure_packages() {
  # onnxruntime-node's install script would fetch CUDA libraries from outside: CPU-only here.
  export ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm_config_onnxruntime_node_install_cuda=skip
  local want have=""
  want="$(cat package-lock.json 2>/dev/null | sha256sum | cut -c1-16)-$(node --version)"
  [ -f node_modules/.onnxop-stamp ] && have="$(cat node_modules/.onnxop-stamp)"
  if [ "$want" != "$have" ]; then
    say "installing npm packages (log: $CACHE/npm-install.log)"
    mkdir -p "$CACHE"
    local log="$CACHE/npm-install.log"
    # `npm ci` refuses a lock file without other platforms' optional packages (@swc/core-darwin-*,
    # …), and a registry that serves only this platform's cannot produce one; `npm install
    # --no-save` then installs the locked versions without rewriting the lock. npm's output goes to
    # the log, shown only when both fail: a refusal that the fallback mends is not the user's
    # problem, and a hundred lines of it were the first thing a new user saw.
    if ! npm ci --no-audit --no-fund --loglevel=error >"$log" 2>&1; then
      if ! npm install --no-audit --no-fund --no-save --loglevel=error >>"$log" 2>&1; then
        cat "$log" >&2
        say "npm could not install the packages (above, and in $log)"
        exit 1
      fi
    fi
    echo "$want" >node_modules/.onnxop-stamp
  fi
}

ensure_lab_prereqs() {
  local missing=()
  command -v etcd >/dev/null || missing+=(etcd-server)
  command -v ip >/dev/null || missing+=(iproute2)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v go >/dev/null || missing+=(golang-go)
  # Images and containers: pods run from the project's images (docs/images.md).
  command -v runc >/dev/null || missing+=(runc)
  command -v umoci >/dev/null || missing+=(umoci)
  command -v buildah >/dev/null || missing+=(buildah)
  command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
      say "the lab needs these Debian packages: ${missing[*]}; install them as root (apt-get install ${missing[*]}) and run again"
      exit 1
    fi
    say "installing Debian packages: ${missing[*]}"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
  fi
  # Kubernetes, Prometheus and Jaeger: built once from the Go module proxy, cached per version (the first
  # time takes minutes; the scripts say so and show progress).
  bash e2e/lab/k8s/build.sh >/dev/null
  bash e2e/lab/prometheus-build/build.sh >/dev/null
  # Jaeger, the lab's trace backend (`lab up` starts it): 6 to 14 minutes the first time (docs/lab.md).
  bash e2e/lab/jaeger-build/build.sh >/dev/null
}

# Tools only the tests use, built once from the Go module proxy and cached: helm (the chart's
# tests), promtool (the alert rules' tests), Argo CD's Lua engine (the health check's tests), Kafka
# (the prediction store's tests; Maven Central and Debian, not the Go proxy). Built
# here rather than inside a test so that their first-time minutes count as set-up, with progress.
ensure_test_tools() {
  bash e2e/lab/helm-build/build.sh >/dev/null
  bash e2e/lab/prometheus-build/build.sh promtool >/dev/null
  bash argocd/lua-engine/build.sh >/dev/null
  bash bench/peers/build.sh flagger >/dev/null
  # Apache Kafka (jars from Maven Central, a JRE from Debian): the prediction store's tests and the lab.
  bash e2e/lab/kafka-build/build.sh >/dev/null
}

cmd="${1:-}"; shift || true
ensure_node
case "$cmd" in
  setup) ensure_packages; ensure_lab_prereqs; ensure_test_tools; say "set-up complete (node $(node --version))" ;;
  test)
    ensure_packages; ensure_lab_prereqs; ensure_test_tools
    # Node runs the .ts sources without checking types, so the type check and lint run first.
    if [ $# -eq 0 ]; then
      say "type check and lint"
      node node_modules/typescript/bin/tsc -p tsconfig.json
      node node_modules/eslint/bin/eslint.js .
    fi
    exec node --experimental-vm-modules --no-warnings=ExperimentalWarning node_modules/jest/bin/jest.js "$@" ;;
  lab) ensure_packages; ensure_lab_prereqs; exec node e2e/lab/cli.ts "$@" ;;
  demo) ensure_packages; ensure_lab_prereqs; exec node e2e/demo.ts "$@" ;;
  lint) ensure_packages; exec node node_modules/eslint/bin/eslint.js . "$@" ;;
  typecheck) ensure_packages; exec node node_modules/typescript/bin/tsc -p tsconfig.json "$@" ;;
  format) ensure_packages; exec node node_modules/prettier/bin/prettier.cjs --write . "$@" ;;
  node) ensure_packages; exec node "$@" ;;
  # bin/onnx-operator and bin/onnx-runtime: the program's entry under Node 24, run from the
  # caller's directory so that relative paths in its flags mean what the user meant.
  bin) ensure_packages; entry="$ROOT/$1"; shift; cd "$CALLER_DIR"; exec node "$entry" "$@" ;;
  *) say "usage: scripts/run.sh setup|test|lab|demo|lint|typecheck|format|node|bin [args]"; exit 2 ;;
esac
