#!/usr/bin/env bash
# The body of `make test`: runs ctest against private Kafka brokers and Redis servers on free
# loopback ports in a fresh run directory, and always stops them again. Arguments are passed on
# to ctest (e.g. `tests/run.sh -L e2e`). On failure the logs are printed and the run directory
# is kept for a closer look; on success it is removed.
#
# LAPOR_TEST_SHARDS (default 2) stacks of one broker and one Redis each run the selected tests
# side by side: each shard takes the next test from one shared queue (in ctest's order) when it
# is done with its last, so the shards finish close together. The tests of one shard
# never see another shard's topics, consumer groups, transactional ids or keys. With one shard,
# or one test, it is a single ctest run against a single stack, as before.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=deploy/local/lib.sh
source "$repo_root/deploy/local/lib.sh"

export LAPOR_BUILD_DIR=${LAPOR_BUILD_DIR:-$repo_root/build}
export LAPOR_CONFIG_DIR=${LAPOR_CONFIG_DIR:-$repo_root/deploy/config}
# Everything started from here dies with this script, even when it is killed with SIGKILL
# (a CI timeout), so no broker outlives its test run.
export LAPOR_PDEATHSIG=1

# start_stack DIR LABEL: a broker and Redis in DIR, their addresses exported and printed.
start_stack() {
  lapor_start_kafka "$1"
  lapor_start_redis "$1"
  echo "${2}Kafka on $LAPOR_KAFKA_BROKERS, Redis on $LAPOR_REDIS_HOST:$LAPOR_REDIS_PORT"
}

# One shard (run by the orchestrator below as `run.sh --shard N RUN_DIR`): its own
# broker and Redis in RUN_DIR/shard-N, then tests from RUN_DIR/queue until it is empty, each as
# `ctest -I K,K` in a test directory of its own (so the shards' ctest files never collide).
# Prints one line per test; the numbers of failed tests go to RUN_DIR/failed.
# With shards, the arguments only choose the tests; ctest's other options (-V, --repeat ...)
# take effect with LAPOR_TEST_SHARDS=1.
if [[ ${1:-} == --shard ]]; then
  shard=$2 run_dir=$3
  dir=$run_dir/shard-$shard
  mkdir -p "$dir/ctest" "$dir/out"
  export LAPOR_TEST_RUN_DIR=$dir
  trap 'lapor_stop_all "$dir" || true' EXIT
  start_stack "$dir" "shard $shard: "
  printf 'subdirs("%s")\n' "$LAPOR_BUILD_DIR" >"$dir/ctest/CTestTestfile.cmake"
  exec {lock}>"$run_dir/queue.lock"
  while :; do
    flock "$lock"
    next=$(head -n 1 "$run_dir/queue")
    sed -i 1d "$run_dir/queue"
    flock -u "$lock"
    [[ -n $next ]] || break
    start=$SECONDS
    status=0
    # The number alone: with a label or name filter too, ctest would count among the tests
    # that filter leaves.
    setpriv --pdeathsig SIGKILL -- ctest --test-dir "$dir/ctest" --output-on-failure \
      -I "$next,$next" >"$dir/out/$next.log" 2>&1 || status=$?
    # ctest finding no test #K exits 0: a missing result line counts as a failure.
    if result=$(grep -m 1 -E "Test +#$next: " "$dir/out/$next.log"); then
      result=$(sed -E 's/^ *[0-9]+\/[0-9]+ +//' <<<"$result")
    else
      result="Test #$next: no result from ctest"
      ((status != 0)) || status=1
    fi
    if ((status != 0)); then
      echo "$next" >>"$run_dir/failed"
      result="$result [FAILED, exit $status]"
    fi
    printf 'shard %s: %s (%d s)\n' "$shard" "$result" $((SECONDS - start))
  done
  exit 0
fi

if [[ ! -d $LAPOR_BUILD_DIR ]]; then
  echo "no build in $LAPOR_BUILD_DIR; build first (make build)" >&2
  exit 1
fi

run_dir=$(mktemp -d /tmp/lapor-test.XXXXXX)
export LAPOR_TEST_RUN_DIR=$run_dir

# shellcheck disable=SC2317 # called by the EXIT trap, not inline
finish() {
  local status=$?
  trap - EXIT INT TERM
  local d
  for d in "$run_dir" "$run_dir"/shard-*; do
    [[ -d $d ]] && { lapor_stop_all "$d" || true; }
  done
  if ((status == 0)); then
    rm -rf "$run_dir"
  else
    # Logs of Kafka and Redis, and of the services the e2e tests started (they write them to
    # $LAPOR_TEST_RUN_DIR/logs too).
    for d in "$run_dir" "$run_dir"/shard-*; do
      [[ -d $d ]] && { lapor_dump_logs "$d" || true; }
    done
    echo
    echo "tests failed (exit $status); run directory kept: $run_dir"
  fi
  exit "$status"
}
trap finish EXIT
# Turn signals into a normal exit so that finish runs with a meaningful status.
trap 'exit 130' INT
trap 'exit 143' TERM

echo "test run directory: $run_dir"

# The selected tests in ctest's order. Each shard runs a part of that sequence in the same
# order, so no test meets what another left on its broker or Redis unless it would in a run on
# one stack too. Listing also brings gtest's discovered test lists up to date once, before the
# shards read them.
ctest --test-dir "$LAPOR_BUILD_DIR" -N "$@" >"$run_dir/list.txt"
sed -nE 's/^ *Test +#([0-9]+): .*/\1/p' "$run_dir/list.txt" >"$run_dir/queue"
count=$(grep -c . "$run_dir/queue" || true)
shards=${LAPOR_TEST_SHARDS:-2}
if ! [[ $shards =~ ^[1-9][0-9]*$ ]]; then
  echo "LAPOR_TEST_SHARDS must be a positive number, not '$shards'" >&2
  exit 2
fi
((count >= shards)) || shards=$((count > 0 ? count : 1))

status=0
if ((shards == 1)); then
  start_stack "$run_dir" ""
  # Not exec'd: this shell has to stay to run the EXIT trap (and to be the parent that the
  # pdeathsig of Kafka and Redis watches). ctest gets the same pdeathsig: the test binaries
  # tie themselves (and the services they start) to ctest, so a killed run takes all of it
  # down. In the foreground, so a Ctrl-C reaches ctest and the tests directly.
  setpriv --pdeathsig SIGKILL -- ctest --test-dir "$LAPOR_BUILD_DIR" --output-on-failure "$@" ||
    status=$?
  exit "$status"
fi

echo "$count tests on $shards shards"
start=$SECONDS
: >"$run_dir/failed"
pids=()
for ((i = 1; i <= shards; i++)); do
  setpriv --pdeathsig SIGKILL -- bash "${BASH_SOURCE[0]}" --shard "$i" "$run_dir" &
  pids+=($!)
done
for pid in "${pids[@]}"; do
  wait "$pid" || status=$?
done
failed=$(grep -c . "$run_dir/failed" || true)
left=$(grep -c . "$run_dir/queue" || true)
for n in $(cat "$run_dir/failed"); do
  echo
  echo "===== test #$n ====="
  cat "$run_dir"/shard-*/out/"$n".log
done
echo
echo "$((count - failed - left)) of $count tests passed, $failed failed$( ((left)) && echo ", $left not run"), in $((SECONDS - start)) s on $shards shards"
if ((failed)); then
  echo "failed:"
  for n in $(cat "$run_dir/failed"); do
    sed -nE "s/^ *Test +#$n: (.*)/  #$n \1/p" "$run_dir/list.txt"
  done
fi
((status == 0 && failed == 0 && left == 0)) || exit 1
