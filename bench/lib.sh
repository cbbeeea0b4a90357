# Shared by bench/run.sh and bench/sla_replay.sh (sourced after deploy/local/lib.sh).

# bench_binary NAME MAKE_TARGET ARGS...: sets build_dir (LAPOR_BUILD_DIR, or the repository's
# build/) and bench_bin (its bench/NAME); fails when that is not built, and for -h or --help
# among ARGS runs the binary's help instead of the script.
bench_binary() {
  local name=$1 target=$2
  shift 2
  build_dir=${LAPOR_BUILD_DIR:-$repo_root/build}
  bench_bin=$build_dir/bench/$name
  [[ -x $bench_bin ]] || {
    echo "no $bench_bin; build it first (make $target builds it)" >&2
    exit 1
  }
  local arg
  for arg in "$@"; do
    [[ $arg == -h || $arg == --help ]] && exec "$bench_bin" --help
  done
  return 0
}

# bench_run_dir NAME: sets run_dir to a fresh directory for the processes the script starts
# there (deploy/local/lib.sh), which die with the script (LAPOR_PDEATHSIG) and are stopped when
# it ends; the directory is removed after a success and kept, with its logs, after a failure.
bench_run_dir() {
  # Kafka, Redis and the services die with this script (see deploy/local/lib.sh).
  export LAPOR_PDEATHSIG=1
  run_dir=$(mktemp -d "/tmp/$1.XXXXXX")
  trap _bench_on_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# shellcheck disable=SC2317 # called by the EXIT trap
_bench_on_exit() {
  local status=$?
  trap - EXIT
  lapor_stop_all "$run_dir" || true
  if ((status == 0)); then
    rm -rf "$run_dir"
  else
    echo "benchmark failed (exit $status); logs kept in $run_dir/logs" >&2
  fi
  exit "$status"
}
