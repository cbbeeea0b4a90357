#!/usr/bin/env bash
# Prints Prometheus file_sd targets for the local stack from .run/stack.env (make run).
set -euo pipefail
env_file=${1:-"$(dirname "$0")/../../.run/stack.env"}
# shellcheck disable=SC1090
source "$env_file"
first=1
echo "["
for name in intake routing notification sla-monitor; do
  var="LAPOR_$(echo "$name" | tr 'a-z-' 'A-Z_')_METRICS_PORT"
  port=${!var:-}
  [[ -n "$port" ]] || continue
  [[ $first == 1 ]] || echo ","
  first=0
  printf '  {"targets": ["127.0.0.1:%s"], "labels": {"service": "%s"}}' "$port" "$name"
done
echo
echo "]"
