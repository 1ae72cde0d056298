#!/usr/bin/env bash
# Runs the test suites with the CPU deliberately slowed, to check that no test depends on how fast
# the machine is (docs/testing.md). Everything the run starts (Jest, its workers, the runtimes,
# operators and gateways the tests spawn) is confined to one CPU with `taskset`, and busy loops run
# on that same CPU at the same priority, so each runnable thread of the tests gets about
# 1/(SLOW_CPU_HOGS + 1) of one core. The lab's own processes (API server, kubelet, Prometheus) run
# where they were started. Before the tests, the slow test model is timed with and without the
# slowdown, and the factor is printed.
#
#   bash scripts/slow-cpu-test.sh                    # the unit suite, then the integration suite
#   bash scripts/slow-cpu-test.sh path/to/x.test.ts --selectProjects unit   # any Jest arguments
#
#   SLOW_CPU_CORE=0   the CPU everything is confined to
#   SLOW_CPU_HOGS=1   busy loops started on it (2 makes it harsher still)
#
# The busy loops are this script's own children, stopped by their pids when it exits.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
CORE="${SLOW_CPU_CORE:-0}"
HOGS="${SLOW_CPU_HOGS:-1}"
say() { printf '[slow-cpu] %s\n' "$*" >&2; }

command -v taskset >/dev/null || { say "taskset (util-linux) is needed"; exit 2; }
hogs=()
stop_hogs() {
  for pid in "${hogs[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${hogs[@]}"; do wait "$pid" 2>/dev/null || true; done
  hogs=()
}
trap stop_hogs EXIT
trap 'exit 130' INT TERM

measure() { bash scripts/run.sh node runtime/test-support/measure-slow-model.ts; }
# The set-up (npm packages, test models) happens here, unslowed, so the measurements time only the model.
normal="$(measure)"
for _ in $(seq "$HOGS"); do
  taskset -c "$CORE" bash -c 'while :; do :; done' &
  hogs+=("$!")
done
say "confined to CPU $CORE with $HOGS busy loop(s) there (pids ${hogs[*]})"
slowed="$(taskset -c "$CORE" bash -c 'bash scripts/run.sh node runtime/test-support/measure-slow-model.ts')"
factor="$(bash scripts/run.sh node -e 'const [a, b] = process.argv.slice(1).map((j) => JSON.parse(j).runsMs); const m = (x) => Math.min(...x); console.log((m(b) / m(a)).toFixed(1))' "$normal" "$slowed")"
say "slow test model, load and warm runs in ms: normal $normal, slowed $slowed: ${factor}x slower"

status=0
if [ $# -gt 0 ]; then
  taskset -c "$CORE" bash scripts/run.sh test "$@" || status=$?
else
  for project in unit integration; do
    say "the $project suite"
    taskset -c "$CORE" bash scripts/run.sh test --selectProjects "$project" || status=$?
  done
fi
say "slow test model: ${factor}x slower than unslowed here (normal $normal, slowed $slowed); tests exit status $status"
exit "$status"
