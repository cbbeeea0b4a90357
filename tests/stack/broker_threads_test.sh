#!/usr/bin/env bash
# The local broker's request threads are sized to the machine (deploy/local/lib.sh,
# lapor_broker_threads), and the broker this test run started was given them. Registered in
# ctest; needs LAPOR_TEST_RUN_DIR (set by tests/run.sh).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
: "${LAPOR_TEST_RUN_DIR:?run through make test}"
# shellcheck source=deploy/local/lib.sh
source "$repo/deploy/local/lib.sh"

fail=0
expect() {
  local cores=$1 want=$2 got
  got=$(lapor_broker_threads "$cores")
  if [[ $got != "$want" ]]; then
    echo "lapor_broker_threads $cores: got '$got', want '$want'" >&2
    fail=1
  fi
}
expect 1 "1 2"
expect 2 "1 2"
expect 4 "2 4"
expect 6 "3 6"
expect 16 "3 8"

# The running broker's own properties (the run directory, or a shard's in it, holds its broker).
props=$(find "$LAPOR_TEST_RUN_DIR" -path '*/kafka/server.properties' | head -1)
[[ -n $props ]] || { echo "no kafka/server.properties under $LAPOR_TEST_RUN_DIR" >&2; exit 1; }
read -r net io <<<"$(lapor_broker_threads "$(nproc)")"
if ! grep -qx "num.network.threads=$net" "$props"; then
  echo "$props: num.network.threads is not $net" >&2
  fail=1
fi
if ! grep -qx "num.io.threads=$io" "$props"; then
  echo "$props: num.io.threads is not $io" >&2
  fail=1
fi
exit $fail
