# shellcheck shell=bash
# The environment of the outside-client tests: the four services against the test run's Kafka
# and Redis (tests/run.sh), in a work directory laid out like a checkout with a running local
# stack, so a command written for users (`source .run/stack.env; build/tools/lapor-cli ...`)
# runs there unchanged:
#   $CLIENTS_WORK/.run/stack.env   the endpoints, in the format deploy/local/stack.sh writes
#   $CLIENTS_WORK/build            the build tree (a link)
#   $CLIENTS_WORK/{deploy,docs,proto,README.md}   copies, so a command that writes there
#                                  leaves the source tree alone
# and PATH has the pinned outside clients (tests/clients/tools.sh) first.
#
#   source tests/clients/lib.sh; clients_start_stack; ...; (stopped at exit)

clients_repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=deploy/local/lib.sh
source "$clients_repo_root/deploy/local/lib.sh"

# ok WHAT: one check passed; fail WHAT: one failed, which ends the script.
clients_passed=0
ok() {
  echo "ok   $*"
  clients_passed=$((clients_passed + 1))
}
fail() {
  echo "FAIL $*" >&2
  exit 1
}

clients_start_stack() {
  trap 'echo "FAIL ${BASH_SOURCE[0]##*/}:$LINENO: $BASH_COMMAND (exit $?)" >&2' ERR
  local v
  for v in LAPOR_KAFKA_BROKERS LAPOR_REDIS_HOST LAPOR_REDIS_PORT LAPOR_BUILD_DIR; do
    if [[ -z ${!v:-} ]]; then
      echo "clients: $v is not set; run through tests/run.sh (make test)" >&2
      exit 1
    fi
  done
  bash "$clients_repo_root/tests/clients/tools.sh"
  export PATH=$clients_repo_root/.cache/tools/bin:$PATH
  CLIENTS_PYTHON=$clients_repo_root/.cache/tools/venv/bin/python

  CLIENTS_WORK=$(mktemp -d "${LAPOR_TEST_RUN_DIR:-/tmp}/clients.XXXXXX")
  local run_dir=$CLIENTS_WORK/.run
  mkdir -p "$run_dir"
  ln -s "$LAPOR_BUILD_DIR" "$CLIENTS_WORK/build"
  cp -r "$clients_repo_root/deploy" "$clients_repo_root/docs" "$clients_repo_root/proto" \
    "$clients_repo_root/README.md" "$CLIENTS_WORK/"
  export LAPOR_CONFIG_DIR=$CLIENTS_WORK/deploy/config
  # A Redis prefix of its own, so earlier tests' complaints are not in this stack's views.
  export LAPOR_REDIS_PREFIX="clients-$$-$RANDOM:"
  LAPOR_OPEN311_PORT=$(lapor_free_port 1)
  export LAPOR_OPEN311_PORT
  trap clients_stop_stack EXIT
  # The agencies that take webhooks (rsud-kudungga, disdukcapil, pdam) get them, as in the local
  # stack: the receiver, with a fresh demo secret (kept out of stack.env, like the local stack).
  unset LAPOR_DEMO_WEBHOOK_SECRET
  lapor_start_webhook_receiver "$run_dir"
  local name
  for name in intake routing notification sla-monitor; do
    lapor_start_service "$run_dir" "$name"
  done
  lapor_write_stack_env "$run_dir/stack.env" "Endpoints of the test's Lapor stack; source this file."
  # Every service answers health before a test starts.
  for name in INTAKE ROUTING NOTIFICATION SLA_MONITOR; do
    v=LAPOR_${name}_GRPC_PORT
    lapor_wait_until 30 "${name,,} gRPC health" \
      "$LAPOR_BUILD_DIR/tools/lapor-cli" health "127.0.0.1:${!v}" >/dev/null
  done
}

# clients_wait_view TRACKING_ID: waits until intake's tracking view shows the submission (the
# view follows the lifecycle topic, so a read right after the submission may not have it yet).
clients_wait_view() {
  lapor_wait_until 30 "$1 in the tracking view" _clients_view_submitted "$1"
}

_clients_view_submitted() {
  "$LAPOR_BUILD_DIR/tools/lapor-cli" get --intake "127.0.0.1:$LAPOR_INTAKE_GRPC_PORT" "$1" |
    jq -e '(.submittedAtMs // "0") != "0"' >/dev/null
}

clients_stop_stack() {
  local status=$?
  lapor_stop_all "$CLIENTS_WORK/.run" || true
  if ((status != 0)) && [[ -d $CLIENTS_WORK/.run/logs ]]; then
    local log
    for log in "$CLIENTS_WORK"/.run/logs/*.log; do
      echo "---- last lines of ${log##*/}"
      tail -n 40 "$log"
    done
  fi
  exit "$status"
}
