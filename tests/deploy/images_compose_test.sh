#!/usr/bin/env bash
# `make images` and deploy/compose end to end with podman: the images are built from this
# build (non-root, with a gRPC health check), the compose stack (Kafka, Redis with one ACL
# user per service, the four services, the demo webhook receiver, Prometheus; Grafana's image
# cannot be built here and is left out) comes up, every service reports SERVING through its
# image's own health check, the demo of lapor-cli (run from its image) submits a complaint and
# sees it delivered to and acknowledged by the agency, a webhook agency's item reaches the
# receiver signed, Prometheus scrapes all four services, and SIGTERM stops each service with
# exit status 0.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
deploy_test_init images-compose
mkdir -p "$run_dir/logs"
export CONTAINERS_CONF=$repo_root/deploy/images/containers.conf
compose_file=$repo_root/deploy/compose/compose.yaml
project=lapor-test
services=(intake routing notification sla-monitor)

# One compose stack per machine at a time: it uses fixed host ports.
exec 9>/tmp/lapor-compose-test.lock
flock -w 600 9 || fail "another compose test holds /tmp/lapor-compose-test.lock"

LAPOR_SKIP_IMAGE_BUILD=${LAPOR_SKIP_IMAGE_BUILD:-0}
[[ $LAPOR_SKIP_IMAGE_BUILD == 1 ]] || bash "$repo_root/deploy/images/build.sh"

for svc in "${services[@]}" cli kafka redis prometheus; do
  user=$(podman image inspect --format '{{.Config.User}}' "localhost/lapor-$svc:latest")
  [[ $user == 65532:65532 ]] || fail "lapor-$svc runs as '$user', not the non-root user"
done
for svc in "${services[@]}"; do
  health=$(podman image inspect --format '{{json .Config.Healthcheck.Test}}' "localhost/lapor-$svc:latest")
  grep -q "lapor-cli health" <<<"$health" || fail "lapor-$svc has no gRPC health check: $health"
done
echo "ok   images built: non-root, service images with a gRPC health check"

for port in 19092 19093 16379 17001 17002 17003 17004 17080 17087 17090 17101 17102 17103 17104; do
  if python3 -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1',$port))!=0)"; then
    fail "port $port is in use; the compose stack needs it"
  fi
done

python=$(deploy_python)
compose() { "${python%/python}/podman-compose" -p "$project" -f "$compose_file" "$@"; }
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  local status=$?
  if ((status != 0)); then
    for c in kafka redis webhook-receiver "${services[@]}" prometheus; do
      echo "===== logs of $c ====="
      podman logs --tail 40 "${project}_${c}_1" 2>&1 || true
    done
  fi
  compose down -v >/dev/null 2>&1 || true
  _deploy_test_finish "$status"
}
trap cleanup EXIT

compose up -d kafka redis >"$run_dir/logs/compose-up.log" 2>&1 || fail "compose up: $(tail -5 "$run_dir/logs/compose-up.log")"
lapor_wait_until 120 "Kafka in the compose stack" kcat -b 127.0.0.1:19092 -L -m 2
compose up -d webhook-receiver "${services[@]}" prometheus >>"$run_dir/logs/compose-up.log" 2>&1 ||
  fail "compose up: $(tail -5 "$run_dir/logs/compose-up.log")"

# podman runs health checks from systemd timers, which this machine may not have: run each
# image's own check by hand until it passes.
for svc in "${services[@]}"; do
  lapor_wait_until 120 "health check of $svc" podman healthcheck run "${project}_${svc}_1"
done
echo "ok   the four services report SERVING through their images' health checks"

podman run --rm --network host localhost/lapor-cli:latest demo --intake 127.0.0.1:17001 \
  --notification 127.0.0.1:17003 --sla 127.0.0.1:17004 >"$run_dir/demo.log" 2>&1 ||
  fail "demo: $(cat "$run_dir/demo.log")"
cat "$run_dir/demo.log"
grep -q "^2. delivered  agency=" "$run_dir/demo.log" || fail "the complaint was not delivered"
grep -q "^3. acknowledged by" "$run_dir/demo.log" || fail "the agency could not acknowledge"
echo "ok   a complaint submitted to the compose stack is delivered to its agency"

# A water complaint goes to pdam, which takes its items by webhook: the demo receiver verifies
# the signature (the shared demo secret) and logs it.
podman run --rm --network host localhost/lapor-cli:latest submit --intake 127.0.0.1:17001 \
  --category water --title "Pipa bocor" --description "Air meluber di jalan" \
  --api-key demo-web-key >"$run_dir/water.log" 2>&1 ||
  fail "submit: $(cat "$run_dir/water.log")"
water_webhook() {
  podman logs "${project}_webhook-receiver_1" 2>&1 | grep '"msg":"webhook received"' | grep -q '"agency":"pdam"'
}
lapor_wait_until 60 "pdam's signed webhook at the receiver" water_webhook
echo "ok   a webhook agency's item reaches its receiver, signed with the demo secret"

up_targets() {
  [[ $(curl -fsS --max-time 3 -G --data-urlencode 'query=sum(up{job="lapor"})' http://127.0.0.1:17090/api/v1/query |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)') == 4 ]]
}
lapor_wait_until 90 "Prometheus scraping the four services" up_targets
echo "ok   Prometheus scrapes all four services"

for svc in "${services[@]}"; do
  podman stop -t 20 "${project}_${svc}_1" >/dev/null
  code=$(podman inspect --format '{{.State.ExitCode}}' "${project}_${svc}_1")
  [[ $code == 0 ]] || fail "$svc exited with $code on SIGTERM"
done
echo "ok   SIGTERM stops every service with exit status 0"
echo "images-compose: all checks passed"
