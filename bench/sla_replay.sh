#!/usr/bin/env bash
# The SLA monitor's lifecycle handler alone against a private Redis (lapor-bench-sla), for
# changes to the monitor's store: `make bench-sla`, or bash bench/sla_replay.sh [OPTIONS]
# (--help for them). Redis runs as the stack runs it (deploy/local/lib.sh, lapor_start_redis).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=deploy/local/lib.sh
source "$repo_root/deploy/local/lib.sh"

# shellcheck source=bench/lib.sh
source "$repo_root/bench/lib.sh"
bench_binary lapor-bench-sla bench-sla "$@"
bench_run_dir lapor-bench-sla

lapor_start_redis "$run_dir"
read -r LAPOR_BENCH_REDIS_PID <"$run_dir/pids/redis.pid"
export LAPOR_BENCH_REDIS_PID
"$bench_bin" "$@"
