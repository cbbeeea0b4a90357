#!/usr/bin/env bash
# The SLA monitor's lifecycle handler alone against a private Redis (lapor-bench-sla), for
# changes to the monitor's store: `make bench-sla`, or bash bench/sla_replay.sh [OPTIONS]
# (--help for them). Redis runs as the stack runs it (deploy/local/lib.sh, lapor_start_redis).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$repo_root/deploy/local/lib.sh"

build_dir=${LAPOR_BUILD_DIR:-$repo_root/build}
bin=$build_dir/bench/lapor-bench-sla
[[ -x $bin ]] || {
  echo "no $bin; build it first (make bench-sla builds it)" >&2
  exit 1
}
for arg in "$@"; do
  [[ $arg == -h || $arg == --help ]] && exec "$bin" --help
done

run_dir=$(mktemp -d /tmp/lapor-bench-sla.XXXXXX)
on_exit() {
  local status=$?
  trap - EXIT
  lapor_stop_all "$run_dir" || true
  rm -rf "$run_dir"
  exit "$status"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

lapor_start_redis "$run_dir"
read -r LAPOR_BENCH_REDIS_PID <"$run_dir/pids/redis.pid"
export LAPOR_BENCH_REDIS_PID
"$bin" "$@"
