#!/usr/bin/env bash
# The local Lapor stack behind `make run`, `make stop`, `make status` and `make demo`: Kafka,
# Redis, the agencies' webhook receiver and the four services on free loopback ports, kept in
# .run/ of the repository until stopped. Endpoints are written to .run/stack.env for `source`.
#
#   stack.sh start    start everything (says so and does nothing if a stack already runs)
#   stack.sh stop     stop everything that runs (fine if nothing does)
#   stack.sh status   which processes of the stack are alive
#   stack.sh demo     walk one complaint through the running stack with lapor-cli, and show it
#                     delivered on all three channels (stream, webhook, the agency's Kafka group)
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=deploy/local/lib.sh
source "$repo_root/deploy/local/lib.sh"

run_dir=$repo_root/.run
stack_env=$run_dir/stack.env
services=(intake routing notification sla-monitor)
# Every process the stack can have, in start order.
components=(kafka redis webhook-receiver "${services[@]}")
# The demo's Kafka-channel agency and its consumer group (delivery in deploy/config/agencies.yaml).
kafka_agency=polres-kutim
kafka_agency_group=agency-polres-kutim.dispatch
webhook_agency=rsud-kudungga

export LAPOR_BUILD_DIR=${LAPOR_BUILD_DIR:-$repo_root/build}
export LAPOR_CONFIG_DIR=${LAPOR_CONFIG_DIR:-$repo_root/deploy/config}

usage() {
  echo "usage: $0 start|stop|status|demo" >&2
  exit 2
}

# Names of the stack's processes that are alive, one a line.
alive_components() {
  local name
  for name in "${components[@]}"; do
    if _lapor_pid_alive "$run_dir" "$name"; then
      echo "$name"
    fi
  done
}

# The stack outlives this script. An inherited LAPOR_PDEATHSIG=1 (a shell that sourced a test
# environment) would kill it the moment start returns.
start() {
  export LAPOR_PDEATHSIG=0

  local running
  running=$(alive_components)
  if [[ -n $running ]]; then
    echo "stack already running ($(echo "$running" | paste -sd' ')); endpoints in ${stack_env#"$repo_root"/}"
    echo "stop it first with: make stop"
    exit 0
  fi

  # Refuse before starting anything, rather than after a broker has come up.
  local name missing=0
  for name in "${services[@]}"; do
    if [[ ! -x $LAPOR_BUILD_DIR/services/$name/lapor-$name ]]; then
      echo "missing $LAPOR_BUILD_DIR/services/$name/lapor-$name; build first (make build)" >&2
      missing=1
    fi
  done
  if [[ ! -x $LAPOR_BUILD_DIR/tools/lapor-webhook-receiver ]]; then
    echo "missing $LAPOR_BUILD_DIR/tools/lapor-webhook-receiver; build first (make build)" >&2
    missing=1
  fi
  ((missing == 0)) || exit 1

  # Nothing runs, so whatever is in .run is from an earlier stack: start clean, so logs and
  # pid files never mix two runs.
  rm -rf "$run_dir"
  mkdir -p "$run_dir"

  # A failure or Ctrl-C half-way must not leave half a stack behind. An EXIT trap sees every
  # way out, including set -e firing inside a library function.
  started=0
  trap 'on_start_exit' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  echo "starting Kafka..."
  lapor_start_kafka "$run_dir"
  echo "starting Redis..."
  lapor_start_redis "$run_dir"
  echo "starting the agencies' webhook receiver..."
  # Every agency with a webhook in notification.yaml posts to it (rsud-kudungga, disdukcapil,
  # pdam), signed with a fresh LAPOR_DEMO_WEBHOOK_SECRET (never written to stack.env); exports
  # LAPOR_WEBHOOK_BASE_URL, which those webhooks' paths are relative to.
  lapor_start_webhook_receiver "$run_dir"
  # Intake's Open311 HTTP port (the other services ignore it); kept in stack.env for clients.
  LAPOR_OPEN311_PORT=$(lapor_free_port 1)
  export LAPOR_OPEN311_PORT
  for name in "${services[@]}"; do
    echo "starting $name..."
    lapor_start_service "$run_dir" "$name"
  done
  started=1
  trap - EXIT INT TERM

  lapor_write_stack_env "$stack_env" \
    "Endpoints of the local Lapor stack started $(date -Iseconds); source this file."
  print_endpoints
}

on_start_exit() {
  if ((started == 0)); then
    echo "start failed; stopping what was started (logs in ${run_dir#"$repo_root"/}/logs)" >&2
    lapor_stop_all "$run_dir"
  fi
}

print_endpoints() {
  local name var
  echo
  printf '%-14s %-22s %s\n' COMPONENT ENDPOINT METRICS
  printf '%-14s %-22s %s\n' kafka "$LAPOR_KAFKA_BROKERS" -
  printf '%-14s %-22s %s\n' redis "$LAPOR_REDIS_HOST:$LAPOR_REDIS_PORT" -
  printf '%-14s %-22s %s\n' webhook-recv "$LAPOR_WEBHOOK_BASE_URL" "(log: ${run_dir#"$repo_root"/}/logs/webhook-receiver.log)"
  for name in "${services[@]}"; do
    var=${name^^}
    var=LAPOR_${var//-/_}
    local grpc=${var}_GRPC_PORT metrics=${var}_METRICS_PORT
    printf '%-14s %-22s %s\n' "$name" "grpc 127.0.0.1:${!grpc}" "http://127.0.0.1:${!metrics}/metrics"
  done
  printf '%-14s %-22s %s\n' open311 "http://127.0.0.1:${LAPOR_OPEN311_PORT:-?}" "(intake)"
  echo
  echo "endpoints: source ${stack_env#"$repo_root"/}; logs: ${run_dir#"$repo_root"/}/logs; stop: make stop"
}

stop() {
  lapor_stop_all "$run_dir"
  # The endpoints are gone; a stale stack.env would only point clients at closed ports.
  rm -f "$stack_env"
  if ((${#_LAPOR_STOPPED[@]} > 0)); then
    echo "stopped: ${_LAPOR_STOPPED[*]}"
  else
    echo "nothing was running"
  fi
}

status() {
  if [[ ! -d $run_dir/pids ]] || ! compgen -G "$run_dir/pids/*.pid" >/dev/null; then
    echo "not running"
    return 0
  fi
  local name pid state
  for name in "${components[@]}"; do
    [[ -f $run_dir/pids/$name.pid ]] || continue
    read -r pid <"$run_dir/pids/$name.pid" || true
    if _lapor_pid_alive "$run_dir" "$name"; then state=running; else state=dead; fi
    printf '%-17s pid %-8s %s\n' "$name" "$pid" "$state"
  done
  [[ ! -f $stack_env ]] || echo "endpoints: ${stack_env#"$repo_root"/}"
}

demo() {
  if [[ ! -f $stack_env ]]; then
    echo "no running stack (${stack_env#"$repo_root"/} is missing); start it with: make run" >&2
    exit 1
  fi
  local name
  for name in "${components[@]}"; do
    if ! _lapor_pid_alive "$run_dir" "$name"; then
      echo "$name of the stack is not running (logs in ${run_dir#"$repo_root"/}/logs); restart with: make stop run" >&2
      exit 1
    fi
  done
  # The caller's build dir wins over the one recorded at start: `make demo BUILD_DIR=...`.
  local build_dir=$LAPOR_BUILD_DIR
  # shellcheck source=/dev/null
  source "$stack_env"
  local out=$run_dir/demo.out
  "$build_dir/tools/lapor-cli" demo \
    --intake "127.0.0.1:$LAPOR_INTAKE_GRPC_PORT" \
    --notification "127.0.0.1:$LAPOR_NOTIFICATION_GRPC_PORT" \
    --sla "127.0.0.1:$LAPOR_SLA_MONITOR_GRPC_PORT" | tee "$out"
  demo_channels "$build_dir" "$out"
}

# The line the webhook receiver logged for COMPLAINT and AGENCY, if any.
_demo_webhook_line() {
  grep -F "\"complaint_id\":\"$1\"" "$run_dir/logs/webhook-receiver.log" 2>/dev/null |
    grep -F "\"agency\":\"$2\"" | grep -F '"msg":"webhook received"' | head -n 1
}

# "agency channel" for each delivered entry of the complaint's tracking view, one a line.
_demo_webhook_seen() {
  [[ -n $(_demo_webhook_line "$1" "$2") ]]
}

_demo_deliveries() {
  local build_dir=$1 tracking=$2
  "$build_dir/tools/lapor-cli" get --intake "127.0.0.1:$LAPOR_INTAKE_GRPC_PORT" "$tracking" \
    2>/dev/null | python3 -c '
import json, sys
for e in json.load(sys.stdin).get("timeline", []):
    if e.get("what") == "delivered":
        print(e.get("agencyId", ""), e.get("note", ""))'
}

_demo_all_delivered() {
  local d
  d=$(_demo_deliveries "$1" "$2")
  grep -q "^$webhook_agency webhook$" <<<"$d" && grep -q "^$kafka_agency kafka$" <<<"$d"
}

# The demo fire goes to disdamkar (lead, the stream above), rsud-kudungga and polres-kutim
# (support): the other two channels, shown from the agencies' side and in the tracking view.
demo_channels() {
  local build_dir=$1 out=$2 complaint tracking line
  complaint=$(sed -n 's/^1\. submitted .*complaint_id=\([^ ]*\).*/\1/p' "$out")
  tracking=$(sed -n 's/^1\. submitted .*tracking_id=\([^ ]*\).*/\1/p' "$out")
  if [[ -z $complaint || -z $tracking ]]; then
    echo "the demo printed no submitted complaint" >&2
    exit 1
  fi
  lapor_wait_until 30 "the webhook to $webhook_agency" _demo_webhook_seen "$complaint" "$webhook_agency" || exit 1
  line=$(_demo_webhook_line "$complaint" "$webhook_agency")
  echo "6. webhook    agency=$webhook_agency kind=$(sed -n 's/.*"kind":"\([^"]*\)".*/\1/p' <<<"$line") signature verified and answered 200 by the receiver (${run_dir#"$repo_root"/}/logs/webhook-receiver.log)"

  # The agency's own Kafka consumer: one read of its topic in its group, committed on exit.
  local keys
  keys=$(kcat -C -b "$LAPOR_KAFKA_BROKERS" -G "$kafka_agency_group" -X isolation.level=read_committed \
    -X auto.offset.reset=earliest -e -q -f '%k\n' "lapor.dispatch.$kafka_agency.v1")
  if ! grep -qxF "$complaint" <<<"$keys"; then
    echo "$kafka_agency's consumer did not find the complaint on lapor.dispatch.$kafka_agency.v1" >&2
    exit 1
  fi
  echo "7. kafka      agency=$kafka_agency read lapor.dispatch.$kafka_agency.v1 in consumer group $kafka_agency_group ($(grep -c . <<<"$keys") new item(s)) and committed"

  lapor_wait_until 30 "delivery on every channel in the tracking view" _demo_all_delivered "$build_dir" "$tracking" || exit 1
  echo "8. delivered on every channel, per the tracking view: $(_demo_deliveries "$build_dir" "$tracking" | sed 's/ /=/' | paste -sd' ')"
}

(($# == 1)) || usage
case $1 in
  start) start ;;
  stop) stop ;;
  status) status ;;
  demo) demo ;;
  *) usage ;;
esac
