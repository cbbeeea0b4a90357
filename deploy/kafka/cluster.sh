# shellcheck shell=bash
# A Kafka cluster of several KRaft nodes (each broker and controller in one JVM) on loopback,
# for the deploy tests and for trying a production-shaped cluster by hand: replication factor
# 3 with min ISR 2 on the internal topics, like the topics the services create by default.
# Sourced after deploy/local/lib.sh; defines functions only.
#
#   lapor_kafka_cluster_start RUN_DIR COUNT [secure]
#       COUNT nodes in RUN_DIR/kafka-<i> (fresh storage), node i recorded as kafka-<i>.
#       Exports LAPOR_KAFKA_BROKERS (every node, comma-separated). With `secure`, ACLs are
#       enforced (StandardAuthorizer, nothing is allowed without an ACL) and every client
#       listener is TLS, with certificates from a CA made in RUN_DIR/tls:
#         LAPOR_KAFKA_BROKERS       SSL with client certificates (mutual TLS); the principal is
#                                   the certificate's CN (lapor_kafka_client_cert makes one)
#         LAPOR_KAFKA_SASL_BROKERS  SASL_SSL with SCRAM-SHA-512 users
#       Also exported: LAPOR_KAFKA_SSL_CA_FILE, and LAPOR_KAFKA_ADMIN_PASSWORD of the SCRAM
#       super user `admin`, which exists from the first start; the client certificate CN=admin
#       (RUN_DIR/tls/admin.{crt,key,pem}) is a super user too.
#   lapor_kafka_client_cert RUN_DIR NAME  key and certificate CN=NAME in RUN_DIR/tls
#   lapor_kafka_node_kill RUN_DIR I      kill -9 of node I
#   lapor_kafka_node_start RUN_DIR I     start node I again on its ports and storage
#   lapor_kafka_cluster_stop RUN_DIR     SIGTERM to every node, SIGKILL after 30 s

# Prints the properties of node I of N (ports from RUN_DIR/kafka-ports).
_lapor_kafka_node_properties() {
  local run_dir=$1 i=$2 n=$3 secure=$4
  local -a ports
  mapfile -t ports <"$run_dir/kafka-ports"
  local voters="" j
  for ((j = 1; j <= n; j++)); do
    voters+="${voters:+,}$j@127.0.0.1:${ports[$((2 * j - 1))]}"
  done
  local port=${ports[$((2 * i - 2))]} cport=${ports[$((2 * i - 1))]}
  local rf=$((n < 3 ? n : 3)) isr=$((n < 3 ? 1 : 2))
  cat <<EOP
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$voters
controller.listener.names=CONTROLLER
log.dirs=$run_dir/kafka-$i/data
num.partitions=3
default.replication.factor=$rf
min.insync.replicas=$isr
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
transaction.state.log.num.partitions=3
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
# A restarted node catches up and takes its partitions back as leader.
auto.leader.rebalance.enable=true
leader.imbalance.check.interval.seconds=10
EOP
  if [[ $secure == secure ]]; then
    local tls=$run_dir/tls sport=${ports[$((2 * n + i - 1))]}
    cat <<EOP
listeners=SSL://127.0.0.1:$port,SASL_SSL://127.0.0.1:$sport,CONTROLLER://127.0.0.1:$cport
advertised.listeners=SSL://127.0.0.1:$port,SASL_SSL://127.0.0.1:$sport
# The controller listener is loopback only here; in production it is on a network no client
# reaches, or TLS with client certificates.
listener.security.protocol.map=SSL:SSL,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
inter.broker.listener.name=SSL
ssl.client.auth=required
listener.name.sasl_ssl.ssl.client.auth=none
ssl.principal.mapping.rules=RULE:^CN=([^,]+)\$/\$1/,DEFAULT
sasl.enabled.mechanisms=SCRAM-SHA-512
# Server side only (SCRAM users live in the cluster metadata); no broker logs in with SASL.
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PEM
ssl.keystore.location=$tls/broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=$tls/ca.pem
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
# broker: the nodes to each other (mutual TLS); admin: the operator (certificate or SCRAM);
# ANONYMOUS: the nodes on the plaintext controller listener.
super.users=User:broker;User:admin;User:ANONYMOUS
EOP
  else
    cat <<EOP
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
EOP
  fi
}

# lapor_kafka_client_cert RUN_DIR NAME: a key (PKCS#8) and a certificate CN=NAME signed by the
# test CA, as RUN_DIR/tls/NAME.key and NAME.crt, and both in NAME.pem (Kafka's PEM key store).
lapor_kafka_client_cert() {
  local tls=$1/tls name=$2 san=${3:-}
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$name" \
    -keyout "$tls/$name.key.rsa" -out "$tls/$name.csr" 2>/dev/null || return 1
  local -a ext=()
  if [[ -n $san ]]; then
    printf 'subjectAltName=%s\n' "$san" >"$tls/$name.ext"
    ext=(-extfile "$tls/$name.ext")
  fi
  openssl x509 -req -in "$tls/$name.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
    -CAcreateserial -days 2 "${ext[@]}" -out "$tls/$name.crt" 2>/dev/null || return 1
  openssl pkcs8 -topk8 -nocrypt -in "$tls/$name.key.rsa" -out "$tls/$name.key" || return 1
  rm -f "$tls/$name.key.rsa" "$tls/$name.csr"
  cat "$tls/$name.key" "$tls/$name.crt" >"$tls/$name.pem"
}

# A CA, the brokers' certificate (CN=broker, for 127.0.0.1) and the admin's, in RUN_DIR/tls.
_lapor_kafka_tls() {
  local tls=$1/tls
  mkdir -p "$tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=lapor-test-ca" \
    -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null || return 1
  lapor_kafka_client_cert "$1" broker "IP:127.0.0.1,DNS:localhost" || return 1
  lapor_kafka_client_cert "$1" admin || return 1
}

_lapor_kafka_node_launch() {
  local run_dir=$1 i=$2
  local root libs java log4j
  root=$(_lapor_repo_root)
  local KAFKA_VERSION KAFKA_SCALA LOG4J_VERSION
  # shellcheck source=deploy/versions.env
  source "$root/deploy/versions.env"
  libs=$root/.cache/kafka/$KAFKA_VERSION/libs
  java=$(_lapor_java)
  log4j=-Dlog4j2.configurationFile=$root/deploy/kafka/log4j2.yaml
  local log=$run_dir/logs/kafka-$i.log
  # Small heaps: three brokers share a 2-core test machine with the services.
  _lapor_launch "$log" "$java" -Xmx320m -Xms64m -XX:+ExitOnOutOfMemoryError -XX:TieredStopAtLevel=1 \
    "$log4j" -cp "$libs/*" kafka.Kafka "$run_dir/kafka-$i/server.properties"
  _lapor_record_pid "$run_dir" "kafka-$i" "$_LAPOR_PID"
}

# Metadata from the node at PORT, asked of that node alone; ready once it sees all N brokers.
_lapor_kafka_node_ready() {
  local run_dir=$1 port=$2 n=$3
  local -a args=(-b "127.0.0.1:$port" -L -m 3)
  if [[ -f $run_dir/tls/ca.pem ]]; then
    args+=(-X security.protocol=SSL -X "ssl.ca.location=$run_dir/tls/ca.pem"
      -X "ssl.certificate.location=$run_dir/tls/admin.crt"
      -X "ssl.key.location=$run_dir/tls/admin.key")
  fi
  [[ $(kcat "${args[@]}" 2>/dev/null | grep -c '^  broker ') -ge $n ]]
}

lapor_kafka_cluster_start() {
  local run_dir=$1 n=$2 secure=${3:-}
  local root
  root=$(_lapor_repo_root)
  local KAFKA_VERSION KAFKA_SCALA LOG4J_VERSION
  # shellcheck source=deploy/versions.env
  source "$root/deploy/versions.env"
  local libs=$root/.cache/kafka/$KAFKA_VERSION/libs
  [[ -f $libs/kafka_$KAFKA_SCALA-$KAFKA_VERSION.jar ]] ||
    { echo "lapor: Kafka jars missing in $libs; run make deps" >&2; return 1; }
  mkdir -p "$run_dir/logs" "$run_dir/pids"
  # Per node a client and a controller port, then (secure) the SASL_SSL ports.
  lapor_free_port $((3 * n)) >"$run_dir/kafka-ports" || return 1
  echo "$n" >"$run_dir/kafka-count"
  echo "$secure" >"$run_dir/kafka-mode"
  local -a format_extra=()
  if [[ $secure == secure ]]; then
    export LAPOR_KAFKA_ADMIN_PASSWORD=${LAPOR_KAFKA_ADMIN_PASSWORD:-$(openssl rand -hex 16)}
    _lapor_kafka_tls "$run_dir" || { echo "lapor: making test certificates failed" >&2; return 1; }
    export LAPOR_KAFKA_SSL_CA_FILE=$run_dir/tls/ca.pem
    format_extra=(--add-scram "SCRAM-SHA-512=[name=admin,password=$LAPOR_KAFKA_ADMIN_PASSWORD]")
  fi
  local cluster_id i java
  java=$(_lapor_java)
  cluster_id=$(python3 -c 'import base64,uuid; print(base64.urlsafe_b64encode(uuid.UUID(int=uuid.uuid4().int & ~(1<<127)).bytes).decode().rstrip("="))')
  for ((i = 1; i <= n; i++)); do
    rm -rf "$run_dir/kafka-$i"
    mkdir -p "$run_dir/kafka-$i/data"
    _lapor_kafka_node_properties "$run_dir" "$i" "$n" "$secure" >"$run_dir/kafka-$i/server.properties"
    if ! "$java" -Xmx256m -XX:TieredStopAtLevel=1 -Dlog4j2.configurationFile="$root/deploy/kafka/log4j2.yaml" \
      -cp "$libs/*" kafka.tools.StorageTool format -t "$cluster_id" \
      -c "$run_dir/kafka-$i/server.properties" "${format_extra[@]}" >>"$run_dir/logs/kafka-$i.log" 2>&1; then
      echo "lapor: formatting the storage of Kafka node $i failed" >&2
      _lapor_log_tail "$run_dir/logs/kafka-$i.log"
      return 1
    fi
  done
  for ((i = 1; i <= n; i++)); do _lapor_kafka_node_launch "$run_dir" "$i"; done
  local -a ports
  mapfile -t ports <"$run_dir/kafka-ports"
  local brokers="" sasl_brokers=""
  for ((i = 1; i <= n; i++)); do
    local pid
    read -r pid <"$run_dir/pids/kafka-$i.pid"
    _lapor_wait_ready 120 "Kafka node $i on 127.0.0.1:${ports[$((2 * i - 2))]}" "$pid" \
      "$run_dir/logs/kafka-$i.log" _lapor_kafka_node_ready "$run_dir" "${ports[$((2 * i - 2))]}" "$n" ||
      return 1
    brokers+="${brokers:+,}127.0.0.1:${ports[$((2 * i - 2))]}"
    sasl_brokers+="${sasl_brokers:+,}127.0.0.1:${ports[$((2 * n + i - 1))]}"
  done
  export LAPOR_KAFKA_BROKERS=$brokers
  [[ $secure != secure ]] || export LAPOR_KAFKA_SASL_BROKERS=$sasl_brokers
}

lapor_kafka_node_kill() {
  local run_dir=$1 i=$2 pid
  read -r pid <"$run_dir/pids/kafka-$i.pid"
  kill -KILL "$pid"
  # Gone for sure before the caller goes on (SIGKILL is delivered asynchronously).
  lapor_wait_until 10 "Kafka node $i to die" bash -c "! kill -0 $pid 2>/dev/null" || return 1
}

lapor_kafka_node_start() {
  local run_dir=$1 i=$2 n pid
  read -r n <"$run_dir/kafka-count"
  local -a ports
  mapfile -t ports <"$run_dir/kafka-ports"
  _lapor_kafka_node_launch "$run_dir" "$i"
  read -r pid <"$run_dir/pids/kafka-$i.pid"
  _lapor_wait_ready 120 "Kafka node $i (restarted)" "$pid" "$run_dir/logs/kafka-$i.log" \
    _lapor_kafka_node_ready "$run_dir" "${ports[$((2 * i - 2))]}" "$n"
}

lapor_kafka_cluster_stop() {
  local run_dir=$1 n i names=()
  [[ -f $run_dir/kafka-count ]] || return 0
  read -r n <"$run_dir/kafka-count"
  for ((i = 1; i <= n; i++)); do names+=("kafka-$i"); done
  _LAPOR_STOPPED=()
  _lapor_stop_group "$run_dir" 30 "${names[@]}"
}
