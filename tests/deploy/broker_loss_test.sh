#!/usr/bin/env bash
# A replicated Kafka losing a broker under load: three KRaft nodes on loopback, the services
# with the production topic settings (replication factor 3, min ISR 2: no single-node
# overrides), a stream of submissions, and kill -9 of the node that leads the lifecycle
# topic's first partition while they run; it is started again while the load goes on.
# Then: intake kept accepting (every submission answered, a retry with the same idempotency
# key allowed), nothing is lost and nothing duplicated: the agency's dispatch topic holds each
# complaint exactly once and the agency's Subscribe stream delivers each exactly once, and the
# restarted broker is back in every ISR.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
deploy_test_init broker-loss
python=$(deploy_python)
total=${LAPOR_BROKER_LOSS_SUBMISSIONS:-120}
kill_at=$((total / 3)) restart_at=$((2 * total / 3))

lapor_kafka_cluster_start "$run_dir" 3
lapor_start_redis "$run_dir"
unset LAPOR_KAFKA_REPLICATION_FACTOR LAPOR_KAFKA_MIN_INSYNC_REPLICAS
lapor_start_webhook_receiver "$run_dir"   # the shipped notification.yaml's webhook agencies
# Routing in Kafka transactions, so that the dispatch topic itself (read_committed) holds each
# assignment once; with the default, idempotent dispatch, a repeat may appear there as the same
# event, which readers drop (docs/events.md), and the stream below still delivers it once.
export LAPOR_ROUTING_DELIVERY=transactions
for svc in intake routing notification; do lapor_start_service "$run_dir" "$svc"; done
echo "ok   three brokers ($LAPOR_KAFKA_BROKERS) and intake, routing, notification running"

# The topics the services made carry the production settings.
"$python" - <<'PY'
import os, sys
from confluent_kafka.admin import AdminClient, ConfigResource
a = AdminClient({"bootstrap.servers": os.environ["LAPOR_KAFKA_BROKERS"]})
md = a.list_topics(timeout=10)
bad = []
for t in ["lapor.complaints.v1", "lapor.dispatch.dinas-pu.v1", "lapor.deadletter.v1"]:
    rf = {len(p.replicas) for p in md.topics[t].partitions.values()}
    if rf != {3}:
        bad.append(f"{t}: replicas {rf}")
res = a.describe_configs([ConfigResource("topic", "lapor.complaints.v1")])
cfg = list(res.values())[0].result()
if cfg["min.insync.replicas"].value != "2" or cfg["retention.ms"].value != "-1":
    bad.append(f"lapor.complaints.v1: min.insync.replicas={cfg['min.insync.replicas'].value} retention.ms={cfg['retention.ms'].value}")
print("\n".join(f"FAIL {b}" for b in bad) or "ok   topics have RF 3, min ISR 2, the lifecycle topic unlimited retention")
sys.exit(1 if bad else 0)
PY

victim=$(kcat -b "$LAPOR_KAFKA_BROKERS" -L -t lapor.complaints.v1 |
  sed -n 's/^ *partition 0, leader \([0-9]*\),.*/\1/p')
[[ $victim =~ ^[1-3]$ ]] || fail "no leader for lapor.complaints.v1 partition 0"

submit() { # submit I: prints the complaint id; retries with the same key for up to 60 s
  local i=$1 end=$((SECONDS + 60)) out
  while :; do
    if out=$("$cli" submit --intake "127.0.0.1:$LAPOR_INTAKE_GRPC_PORT" --category road-damage \
      --priority normal --title "Jalan rusak $i" --description "Lubang di jalan, laporan $i" \
      --kecamatan "Sangatta Selatan" --idempotency-key "broker-loss-$i" 2>&1); then
      sed -n 's/.*"complaintId": *"\([^"]*\)".*/\1/p' <<<"$out"
      return 0
    fi
    echo "submission $i: $out (retrying)" >>"$run_dir/logs/retries.log"
    ((SECONDS < end)) || { echo "submission $i not accepted within 60 s: $out" >&2; return 1; }
    sleep 0.5 # a client's retry interval, not synchronisation
  done
}

: >"$run_dir/accepted"
for ((i = 1; i <= total; i++)); do
  if ((i == kill_at)); then
    lapor_kafka_node_kill "$run_dir" "$victim"
    echo "ok   kill -9 of node $victim (leader of lapor.complaints.v1/0) after $((i - 1)) submissions"
  fi
  if ((i == restart_at)); then
    _lapor_kafka_node_launch "$run_dir" "$victim"
    echo "ok   node $victim starting again after $((i - 1)) submissions"
  fi
  submit "$i" >>"$run_dir/accepted" || fail "intake stopped accepting"
done
retries=$(wc -l <"$run_dir/logs/retries.log" 2>/dev/null || echo 0)
accepted=$(sort -u "$run_dir/accepted" | grep -c .)
((accepted == total)) || fail "$accepted distinct complaints accepted of $total"
echo "ok   intake accepted all $total submissions ($retries retried answers during the failover)"

mapfile -t ports <"$run_dir/kafka-ports"
lapor_wait_until 120 "node $victim back in the cluster" \
  _lapor_kafka_node_ready "$run_dir" "${ports[$((2 * victim - 2))]}" 3
all_in_sync() {
  ! kcat -b "$LAPOR_KAFKA_BROKERS" -L -t lapor.complaints.v1 -t lapor.dispatch.dinas-pu.v1 |
    grep '^ *partition ' | grep -v 'isrs: [0-9]*,[0-9]*,[0-9]*' | grep -q .
}
lapor_wait_until 120 "every partition back to 3 in-sync replicas" all_in_sync
echo "ok   node $victim is back in every ISR"

# Kafka: each accepted complaint's assignment once on the agency's topic (committed only).
dispatched() {
  timeout 60 kcat -b "$LAPOR_KAFKA_BROKERS" -C -t lapor.dispatch.dinas-pu.v1 -o beginning -e \
    -X isolation.level=read_committed -f '%k\n' 2>/dev/null | grep . >"$run_dir/dispatched" || true
  (($(wc -l <"$run_dir/dispatched") >= total))
}
lapor_wait_until 120 "all $total assignments on lapor.dispatch.dinas-pu.v1" dispatched
sort "$run_dir/dispatched" | uniq -d >"$run_dir/duplicates"
[[ ! -s $run_dir/duplicates ]] || fail "duplicated on the dispatch topic: $(head -3 "$run_dir/duplicates")"
comm -23 <(sort -u "$run_dir/accepted") <(sort -u "$run_dir/dispatched") >"$run_dir/missing"
[[ ! -s $run_dir/missing ]] || fail "accepted but never dispatched: $(head -3 "$run_dir/missing")"
echo "ok   lapor.dispatch.dinas-pu.v1 holds each of the $total complaints exactly once"

# The agency: its Subscribe stream, read from the beginning of its feed, delivers each
# assignment exactly once.
delivered() {
  "$cli" subscribe --notification "127.0.0.1:$LAPOR_NOTIFICATION_GRPC_PORT" --agency dinas-pu \
    --count 0 --timeout 15 2>>"$run_dir/logs/subscribe.log" |
    sed -n 's/.*"complaintId": *"\([^"]*\)".*/\1/p' >"$run_dir/delivered"
  (($(sort -u "$run_dir/delivered" | grep -c .) >= total))
}
lapor_wait_until 180 "all $total assignments delivered to dinas-pu" delivered
sort "$run_dir/delivered" | uniq -d >"$run_dir/duplicates"
[[ ! -s $run_dir/duplicates ]] || fail "delivered twice to the agency: $(head -3 "$run_dir/duplicates")"
(($(grep -c . "$run_dir/delivered") == total)) || fail "$(grep -c . "$run_dir/delivered") deliveries for $total complaints"
echo "ok   the agency received each of the $total complaints exactly once"
echo "broker-loss: all checks passed"
