#!/usr/bin/env bash
# Per-agency access on Kafka: a broker with TLS on every client listener, SASL/SCRAM users,
# client certificates and ACLs enforced (nothing without an ACL). The ACLs come from
# deploy/kafka/lapor-kafka-access for the shipped agency directory. intake and routing connect
# with client certificates (kafka.security_protocol=ssl); a fire complaint is routed to
# disdamkar (lead) and polres-kutim (support). Then, as real agency clients:
#   - agency-disdamkar with SCRAM (confluent-kafka) reads its own feed and nothing else
#     (agency_access_check.py);
#   - agency-polres-kutim with its client certificate (kcat) reads its own feed, and is
#     refused disdamkar's with TOPIC_AUTHORIZATION_FAILED.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
deploy_test_init kafka-acl
python=$(deploy_python)

lapor_kafka_cluster_start "$run_dir" 1 secure
tls=$run_dir/tls
lapor_start_redis "$run_dir"
export LAPOR_KAFKA_REPLICATION_FACTOR=1 LAPOR_KAFKA_MIN_INSYNC_REPLICAS=1

printf 'security.protocol=SSL\nssl.ca.location=%s/ca.pem\nssl.certificate.location=%s/admin.crt\nssl.key.location=%s/admin.key\n' \
  "$tls" "$tls" "$tls" >"$run_dir/admin.properties"
mkdir -p "$run_dir/passwords"
openssl rand -hex 16 >"$run_dir/passwords/agency-disdamkar.password"
"$python" "$repo_root/deploy/kafka/lapor-kafka-access" apply \
  --agencies "$repo_root/deploy/config/agencies.yaml" --bootstrap "$LAPOR_KAFKA_BROKERS" \
  --command-config "$run_dir/admin.properties" --password-dir "$run_dir/passwords"

# Before the services run, no principal without an ACL may even create a topic: a service
# certificate unknown to the ACLs is refused at start with the broker's reason.
lapor_kafka_client_cert "$run_dir" stranger
export LAPOR_KAFKA_SECURITY_PROTOCOL=ssl LAPOR_KAFKA_SSL_CA_FILE=$tls/ca.pem
if LAPOR_KAFKA_SSL_CERT_FILE=$tls/stranger.crt LAPOR_KAFKA_SSL_KEY_FILE=$tls/stranger.key \
  LAPOR_GRPC_PORT=0 LAPOR_METRICS_PORT=0 timeout 60 "$LAPOR_BUILD_DIR/services/routing/lapor-routing" \
  --config "$LAPOR_CONFIG_DIR/routing.yaml" >"$run_dir/logs/stranger.log" 2>&1; then
  fail "routing started with a certificate that has no ACL"
fi
grep -q "authoriz" "$run_dir/logs/stranger.log" ||
  fail "routing without ACLs did not name the authorization failure: $(tail -3 "$run_dir/logs/stranger.log")"
echo "ok   a service principal without ACLs is refused at start"

for svc in intake routing; do
  lapor_kafka_client_cert "$run_dir" "lapor-$svc"
  LAPOR_KAFKA_SSL_CERT_FILE=$tls/lapor-$svc.crt LAPOR_KAFKA_SSL_KEY_FILE=$tls/lapor-$svc.key \
    lapor_start_service "$run_dir" "$svc"
done
echo "ok   intake and routing run with client certificates"

answer=$("$cli" submit --intake "127.0.0.1:$LAPOR_INTAKE_GRPC_PORT" --category fire \
  --priority emergency --title "Kebakaran rumah" --description "Rumah terbakar di Jl. Yos Sudarso" \
  --kecamatan "Sangatta Utara")
complaint_id=$(sed -n 's/.*"complaintId": *"\([^"]*\)".*/\1/p' <<<"$answer")
[[ -n $complaint_id ]] || fail "no complaint id in the answer: $answer"
echo "ok   complaint $complaint_id accepted"

"$python" "$(dirname "${BASH_SOURCE[0]}")/agency_access_check.py" disdamkar polres-kutim \
  "$(cat "$run_dir/passwords/agency-disdamkar.password")" "$complaint_id"

# kcat from Debian (librdkafka 2.0) cannot do SCRAM with Kafka 4 brokers; with a client
# certificate it reads as the agency like any other client.
lapor_kafka_client_cert "$run_dir" agency-polres-kutim
kcat_as_polres=(kcat -b "$LAPOR_KAFKA_BROKERS" -X security.protocol=SSL -X "ssl.ca.location=$tls/ca.pem"
  -X "ssl.certificate.location=$tls/agency-polres-kutim.crt"
  -X "ssl.key.location=$tls/agency-polres-kutim.key" -X isolation.level=read_committed)
keys=$(timeout 60 "${kcat_as_polres[@]}" -C -t lapor.dispatch.polres-kutim.v1 -o beginning -e -f '%k\n' 2>"$run_dir/logs/kcat-own.log")
grep -qx "$complaint_id" <<<"$keys" || fail "kcat as agency-polres-kutim did not read its own feed: $keys $(cat "$run_dir/logs/kcat-own.log")"
echo "ok   kcat as agency-polres-kutim reads lapor.dispatch.polres-kutim.v1"
if timeout 60 "${kcat_as_polres[@]}" -C -t lapor.dispatch.disdamkar.v1 -o beginning -e \
  >/dev/null 2>"$run_dir/logs/kcat-other.log"; then
  fail "kcat as agency-polres-kutim read lapor.dispatch.disdamkar.v1"
fi
grep -qi "topic authorization failed\|TOPIC_AUTHORIZATION_FAILED" "$run_dir/logs/kcat-other.log" ||
  fail "kcat was refused for another reason: $(cat "$run_dir/logs/kcat-other.log")"
echo "ok   kcat as agency-polres-kutim is refused lapor.dispatch.disdamkar.v1 (TOPIC_AUTHORIZATION_FAILED)"
echo "kafka-acl: all checks passed"
