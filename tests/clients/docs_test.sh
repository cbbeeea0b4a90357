#!/usr/bin/env bash
# Docs that run: every `sh` block of README.md and docs/*.md runs against a stack started here,
# in a directory laid out like a checkout with `make run` done (tests/clients/lib.sh), so an
# example that drifted from the code fails the test. What runs and what does not:
# tests/clients/doc_examples.py and docs/testing.md ("Examples in the docs").
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
clients_start_stack
cd "$CLIENTS_WORK"
scripts=$(mktemp -d)
mapfile -t files < <(python3 "$clients_repo_root/tests/clients/doc_examples.py" "$scripts" \
  README.md docs/*.md)
passed=0 failed=0
for script in "${files[@]}"; do
  # A fresh shell per page, without this script's variables: a page's examples must say
  # themselves what they need (`source .run/stack.env`). The deadline keeps a hanging
  # example from holding the run.
  if env -i HOME="$HOME" PATH="$PATH" TERM=dumb timeout 180 bash "$script"; then
    echo "ok   ${script##*/}"
    passed=$((passed + 1))
  else
    echo "FAIL ${script##*/} (exit $?)"
    failed=$((failed + 1))
  fi
done
echo "docs_test: $passed passed, $failed failed"
((failed == 0 && passed > 0))
