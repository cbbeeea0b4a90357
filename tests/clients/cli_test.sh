#!/usr/bin/env bash
# lapor-cli as a user runs it (tests/clients/lib.sh: a work directory laid out like a checkout
# with a running local stack): what its options promise, beyond the docs' examples.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
clients_start_stack
cd "$CLIENTS_WORK"
# shellcheck source=/dev/null
source .run/stack.env
cli=build/tools/lapor-cli

submit() {
  "$cli" submit --category road-damage --priority normal --title "$1" \
    --description "Uji pilihan --complaint" --kecamatan "Sangatta Selatan" | jq -r .complaintId
}

# subscribe --complaint: the first complaint's item is on dinas-pu's stream, left unconfirmed,
# before the second is submitted; a subscription for the second reads past the first's.
first=$(submit "Lubang pertama")
seen=$("$cli" subscribe --agency dinas-pu --no-confirm --complaint "$first" --count 1 --timeout 60)
[[ $(jq -r .item.assignment.complaintId <<<"$seen") == "$first" ]] ||
  fail "the first complaint's item never reached the stream: $seen"
second=$(submit "Lubang kedua")
item=$("$cli" subscribe --agency dinas-pu --complaint "$second" --count 1 --timeout 60)
got=$(jq -r .item.assignment.complaintId <<<"$item")
[[ $got == "$second" ]] || fail "subscribe --complaint $second printed complaint $got"
ok "subscribe --complaint prints only that complaint's items"

echo "cli_test: $clients_passed passed, 0 failed"
