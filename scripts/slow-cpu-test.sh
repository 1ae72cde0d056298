#!/usr/bin/env bash
# Runs the test suites with the CPU deliberately slowed, to check that no test depends on how fast
# the machine is (docs/testing.md). Everything the run starts (Jest, its workers, the runtimes,
# operators and gateways the tests spawn) is confined to one CPU with `taskset`, and busy loops run
# on that same CPU at the same priority, so each runnable thread of the tests gets about
# 1/(SLOW_CPU_HOGS + 1) of one core. The lab's own processes (API server, kubelet, Prometheus) run
# where they were started. Before the tests, the slow test model is timed with and without the
# slowdown (twice, alternating), and the factor is printed.
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
start_hogs() {
  for _ in $(seq "$HOGS"); do
    taskset -c "$CORE" bash -c 'while :; do :; done' &
    hogs+=("$!")
  done
}
# Unslowed and slowed, twice, alternating: the machine's own load varies from minute to minute. The
# set-up (npm packages, test models) happens in the first, unslowed, so the others time only the model.
normal=("$(measure)")
start_hogs
slowed=("$(taskset -c "$CORE" bash -c 'bash scripts/run.sh node runtime/test-support/measure-slow-model.ts')")
stop_hogs
normal+=("$(measure)")
start_hogs
slowed+=("$(taskset -c "$CORE" bash -c 'bash scripts/run.sh node runtime/test-support/measure-slow-model.ts')")
say "confined to CPU $CORE with $HOGS busy loop(s) there (pids ${hogs[*]})"
# The factor: median warm run slowed over median warm run unslowed.
factor="$(bash scripts/run.sh node -e '
  const [n, s] = process.argv.slice(1).map((list) => list.split("\n").flatMap((j) => JSON.parse(j).runsMs));
  const median = (x) => { const v = [...x].sort((a, b) => a - b); return (v[(v.length - 1) >> 1] + v[v.length >> 1]) / 2; };
  console.log((median(s) / median(n)).toFixed(1));
' "$(printf '%s\n' "${normal[@]}" | sed '/^$/d')" "$(printf '%s\n' "${slowed[@]}" | sed '/^$/d')")"
summary="slow test model, load and warm runs in ms: normal ${normal[*]}; slowed ${slowed[*]}: ${factor}x slower (medians)"
say "$summary"

status=0
if [ $# -gt 0 ]; then
  taskset -c "$CORE" bash scripts/run.sh test "$@" || status=$?
else
  for project in unit integration; do
    say "the $project suite"
    taskset -c "$CORE" bash scripts/run.sh test --selectProjects "$project" || status=$?
  done
fi
say "$summary; tests exit status $status"
exit "$status"
