#!/usr/bin/env bash
# Kills a whole nested test run (two shards, each with its own broker and Redis, the four
# services and the webhook receiver, on ports of their own) with SIGKILL in the middle of two
# end-to-end tests, then checks that not one of its processes is left. Registered in ctest;
# needs LAPOR_BUILD_DIR (set by tests/run.sh).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
: "${LAPOR_BUILD_DIR:?run through make test}"

log=$(mktemp /tmp/lapor-orphans.XXXXXX)
# setsid: the nested run is its own process group, so nothing here signals the outer run.
setsid env -u LAPOR_TEST_RUN_DIR -u LAPOR_KAFKA_BROKERS -u LAPOR_REDIS_HOST -u LAPOR_REDIS_PORT \
  LAPOR_TEST_SHARDS=2 bash "$repo/tests/run.sh" -R '^e2e\.(flow|process)$' >"$log" 2>&1 &
runner=$!

descendants() {
  local out=() queue=("$1") pid child
  while ((${#queue[@]})); do
    pid=${queue[0]}
    queue=("${queue[@]:1}")
    for child in $(pgrep -P "$pid" 2>/dev/null); do
      out+=("$child")
      queue+=("$child")
    done
  done
  echo "${out[@]:-}"
}

# Two brokers and two Redis servers (one per shard), all four services and the receiver.
has_all() {
  local pids=$1
  local names
  names=$(for p in $pids; do cat "/proc/$p/comm" 2>/dev/null || true; done)
  (($(grep -c '^java$' <<<"$names") >= 2 && $(grep -c '^redis-server$' <<<"$names") >= 2)) &&
    [[ $names == *lapor-intake* && $names == *lapor-routing* && $names == *lapor-notific* &&
       $names == *lapor-sla-moni* && $names == *lapor-webhook-r* ]]
}

# Wait (deadline 180 s) until the brokers, Redis servers, all four services and the receiver
# exist.
deadline=$((SECONDS + 180))
pids=""
until has_all "$pids"; do
  if ((SECONDS > deadline)) || ! kill -0 "$runner" 2>/dev/null; then
    echo "FAIL: the nested run never had all its processes up"; cat "$log"; exit 1
  fi
  sleep 0.2
  pids=$(descendants "$runner")
done
echo "nested run is up: $(for p in $pids; do cat "/proc/$p/comm" 2>/dev/null || true; done | sort | uniq -c | tr -s ' \n' ' ')"

kill -KILL "$runner"
deadline=$((SECONDS + 30))
while :; do
  left=""
  for p in $pids; do
    if [ -e "/proc/$p" ] && [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null || true)" != Z ]; then
      left+=" $p($(cat "/proc/$p/comm" 2>/dev/null || true))"
    fi
  done
  [ -z "$left" ] && break
  if ((SECONDS > deadline)); then
    echo "FAIL: processes left 30 s after the test run was killed:$left"
    for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
    exit 1
  fi
  sleep 0.2
done
# Processes the run started after the snapshot above (the next test's) go too: none may still
# name the run directory (a broker's properties, Redis's --dir, a shard's ctest --test-dir).
nested_dir=$(sed -n 's/^test run directory: //p' "$log" | head -n1)
if [[ $nested_dir == /tmp/lapor-test.* ]]; then
  deadline=$((SECONDS + 30))
  while later=$(pgrep -a -f -- "$nested_dir"); do
    if ((SECONDS > deadline)); then
      echo "FAIL: processes of the killed run still running 30 s after it: $later"
      exit 1
    fi
    sleep 0.2
  done
  # A run killed with SIGKILL cannot clean up after itself: remove its run directory here.
  rm -rf "$nested_dir"
fi
rm -f "$log"
echo "1 passed, 0 failed: no broker, Redis or service process outlived the killed test run"
