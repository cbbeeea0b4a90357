#!/usr/bin/env bash
# The body of `make bench`: a private Kafka broker and Redis on free loopback ports (the same
# deploy/local/lib.sh as `make test`), then lapor-bench, which starts the services itself.
# Writes LAPOR_BENCH_OUT/bench-<UTC time>.{json,txt,csv} (default: the build dir's bench-results/)
# and prints the table. Arguments go to lapor-bench (`bench/run.sh --help` lists them); the
# defaults are the short run, e.g. a longer one:
#   bench/run.sh --step-seconds 30 --rates 100,500,1000,2000,3000,max --scale-rates 1000,max
# LAPOR_KAFKA_BROKER_PROPERTIES (lines of server.properties) measures a broker setting, e.g.
#   LAPOR_KAFKA_BROKER_PROPERTIES=transaction.partition.verification.enable=false bench/run.sh
# and LAPOR_KAFKA_JVM_OPTS more JVM options of the broker, e.g.
#   LAPOR_KAFKA_JVM_OPTS=-Xlog:gc:file=/tmp/gc.log:utctime bench/run.sh
# (bench/KafkaRequests.java reads the broker's request rates by kind over JMX opened that way;
# bench/tail.py lines a step's slow complaints up with the pauses of such a GC log.)
# LAPOR_REDIS_OPTS adds redis-server options, e.g. LAPOR_REDIS_OPTS="--rdbcompression no".
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=deploy/local/lib.sh
source "$repo_root/deploy/local/lib.sh"

# shellcheck source=bench/lib.sh
source "$repo_root/bench/lib.sh"
bench_binary lapor-bench bench "$@"

out_dir=${LAPOR_BENCH_OUT:-$build_dir/bench-results}
mkdir -p "$out_dir"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
bench_run_dir lapor-bench
export LAPOR_TEST_RUN_DIR=$run_dir

# The broker with the heap Kafka's own start script gives it (kafka-server-start.sh: -Xmx1G
# -Xms1G) rather than the small one of the test and `make run` brokers: with 384 MB (about
# 185 MB of it live after each collection) the young collections came every 1.5-2 s at 100/s,
# and a third of the complaints above the 100/s p99 were in flight during one (performance.md,
# "The broker's collections"). LAPOR_KAFKA_JVM_OPTS comes after, so a heap given there wins.
LAPOR_KAFKA_JVM_OPTS="-Xms1g -Xmx1g ${LAPOR_KAFKA_JVM_OPTS:-}" lapor_start_kafka "$run_dir"
lapor_start_redis "$run_dir"
read -r LAPOR_BENCH_KAFKA_PID <"$run_dir/pids/kafka.pid"
read -r LAPOR_BENCH_REDIS_PID <"$run_dir/pids/redis.pid"
export LAPOR_BENCH_KAFKA_PID LAPOR_BENCH_REDIS_PID

status=0
setpriv --pdeathsig SIGKILL -- "$bench_bin" --json "$out_dir/bench-$stamp.json" \
  --table "$out_dir/bench-$stamp.txt" --samples "$out_dir/bench-$stamp.csv" "$@" || status=$?
ln -sfn "bench-$stamp.json" "$out_dir/latest.json"
ln -sfn "bench-$stamp.txt" "$out_dir/latest.txt"
exit "$status"
