#!/bin/sh
# Entry point of the lapor-kafka image: a KRaft broker (and controller) whose properties are
# the arguments, one key=value each, e.g.
#   node.id=1 process.roles=broker,controller controller.quorum.voters=1@127.0.0.1:19093 ...
# KAFKA_CLUSTER_ID names the cluster; the storage under log.dirs is formatted on the first
# start only. KAFKA_SCRAM_USERS (optional, "name=password,name=password") adds SCRAM-SHA-512
# credentials at that first format, before any client can connect.
set -eu
props=/tmp/server.properties
: >"$props"
logdir=/data/kafka
for kv in "$@"; do
  case $kv in
    *=*) printf '%s\n' "$kv" >>"$props" ;;
    *) echo "kafka-entrypoint: '$kv' is not key=value" >&2; exit 2 ;;
  esac
  case $kv in log.dirs=*) logdir=${kv#log.dirs=} ;; esac
done
has_key() { # the image has no grep: read the file with the shell
  while IFS= read -r line; do
    case $line in "$1"=*) return 0 ;; esac
  done <"$props"
  return 1
}
has_key log.dirs || printf 'log.dirs=%s\n' "$logdir" >>"$props"
java="$JAVA_HOME/bin/java"
log4j="-Dlog4j2.configurationFile=/opt/kafka/log4j2.yaml"
if [ ! -f "$logdir/meta.properties" ]; then
  : "${KAFKA_CLUSTER_ID:?set KAFKA_CLUSTER_ID (22 characters, e.g. from kafka-storage random-uuid)}"
  set --
  if [ -n "${KAFKA_SCRAM_USERS:-}" ]; then
    rest=$KAFKA_SCRAM_USERS
    while [ -n "$rest" ]; do
      pair=${rest%%,*}
      [ "$pair" = "$rest" ] && rest="" || rest=${rest#*,}
      set -- "$@" --add-scram "SCRAM-SHA-512=[name=${pair%%=*},password=${pair#*=}]"
    done
  fi
  "$java" -Xmx256m -XX:TieredStopAtLevel=1 $log4j -cp '/opt/kafka/libs/*' kafka.tools.StorageTool \
    format -t "$KAFKA_CLUSTER_ID" -c "$props" "$@"
fi
# shellcheck disable=SC2086 # KAFKA_HEAP_OPTS holds several options
exec "$java" $KAFKA_HEAP_OPTS -XX:+ExitOnOutOfMemoryError $log4j -cp '/opt/kafka/libs/*' \
  kafka.Kafka "$props"
