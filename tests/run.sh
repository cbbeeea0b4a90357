#!/usr/bin/env bash
# The body of `make test`: starts a private Kafka broker and Redis on free loopback ports in a
# fresh run directory, runs ctest against them, and always stops them again. Arguments are
# passed on to ctest (e.g. `tests/run.sh -L e2e`). On failure the logs are printed and the
# run directory is kept for a closer look; on success it is removed.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=deploy/local/lib.sh
source "$repo_root/deploy/local/lib.sh"

export LAPOR_BUILD_DIR=${LAPOR_BUILD_DIR:-$repo_root/build}
export LAPOR_CONFIG_DIR=${LAPOR_CONFIG_DIR:-$repo_root/deploy/config}
# Everything started from here dies with this script, even when it is killed with SIGKILL
# (a CI timeout), so no broker outlives its test run.
export LAPOR_PDEATHSIG=1

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
  lapor_stop_all "$run_dir" || true
  if ((status == 0)); then
    rm -rf "$run_dir"
  else
    # Logs of Kafka and Redis, and of the services the e2e tests started (they write them to
    # $LAPOR_TEST_RUN_DIR/logs too).
    lapor_dump_logs "$run_dir" || true
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
lapor_start_kafka "$run_dir"
lapor_start_redis "$run_dir"
echo "Kafka on $LAPOR_KAFKA_BROKERS, Redis on $LAPOR_REDIS_HOST:$LAPOR_REDIS_PORT"

# Not exec'd: this shell has to stay to run the EXIT trap (and to be the parent that the
# pdeathsig of Kafka and Redis watches). ctest gets the same pdeathsig: the test binaries tie
# themselves (and the services they start) to ctest, so a killed run takes all of it down.
# In the foreground, so a Ctrl-C reaches ctest and the tests directly.
status=0
setpriv --pdeathsig SIGKILL -- ctest --test-dir "$LAPOR_BUILD_DIR" --output-on-failure "$@" ||
  status=$?
exit "$status"
