# shellcheck shell=bash
# Start and stop the pieces of a local Lapor system (Kafka, Redis, the four services, the
# agencies' webhook receiver) inside one run directory: RUN_DIR/{kafka,redis} for data,
# RUN_DIR/logs/NAME.log, RUN_DIR/pids/NAME.pid.
# Sourced by deploy/local/stack.sh (make run) and tests/run.sh (make test); it only defines
# functions. Every port is a fresh free loopback port, so several runs can share a machine.
#
# LAPOR_PDEATHSIG=1 ties every started process to the shell that called the start function:
# when that shell dies, even by SIGKILL, the kernel kills the children (setpriv --pdeathsig).
# That is why the start functions launch children with a plain `&` from the calling shell and
# must not be called inside $(...) or a pipeline: the parent has to be the long-lived shell.

# Repository root, derived from where this file lives (BASH_SOURCE[0] inside a function is
# the file that defined it), so callers may run from any directory.
_lapor_repo_root() {
  (cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
}

# Microseconds since the epoch, without forking. EPOCHREALTIME uses the locale's decimal
# separator, so every non-digit is dropped rather than just '.'.
_lapor_now_us() {
  _LAPOR_NOW_US=${EPOCHREALTIME//[!0-9]/}
}

# Prints the kernel start time of PID (field 22 of /proc/PID/stat). Together with the pid it
# identifies a process, so a pid file left over from before a reboot never names a stranger.
_lapor_proc_start() {
  local stat fields
  read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
  # comm (field 2) may contain spaces and parentheses; everything after the last ") " is
  # fields 3.. (state first), so field 22 is index 19.
  read -ra fields <<<"${stat##*) }"
  printf '%s\n' "${fields[19]}"
}

# True if PID runs (a zombie counts as dead: it has exited, it is only not reaped yet) and,
# when EXPECTED_START is given, is still the process that was started.
_lapor_alive() {
  local pid=$1 expected_start=${2:-} stat fields
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  read -r stat 2>/dev/null <"/proc/$pid/stat" || return 1
  read -ra fields <<<"${stat##*) }"
  [[ ${fields[0]} != Z ]] || return 1
  [[ -z $expected_start || ${fields[19]} == "$expected_start" ]]
}

# True if the process recorded as NAME in RUN_DIR/pids still runs.
_lapor_pid_alive() {
  local run_dir=$1 name=$2 pid="" start=""
  [[ -f $run_dir/pids/$name.pid ]] || return 1
  read -r pid <"$run_dir/pids/$name.pid" || true
  [[ ! -f $run_dir/pids/$name.start ]] || read -r start <"$run_dir/pids/$name.start" || true
  _lapor_alive "$pid" "$start"
}

# Records PID as NAME: RUN_DIR/pids/NAME.pid holds the pid, NAME.start its start time.
_lapor_record_pid() {
  local run_dir=$1 name=$2 pid=$3
  mkdir -p "$run_dir/pids"
  printf '%s\n' "$pid" >"$run_dir/pids/$name.pid"
  _lapor_proc_start "$pid" >"$run_dir/pids/$name.start" || true
}

# Starts CMD in the background with stdout and stderr appended to LOG, and sets _LAPOR_PID.
# Both wrappers exec the command, so the recorded pid is the process itself.
_lapor_launch() {
  local log=$1
  shift
  if [[ ${LAPOR_PDEATHSIG:-0} == 1 ]]; then
    setpriv --pdeathsig SIGKILL -- "$@" >>"$log" 2>&1 </dev/null &
  else
    # Own session: a Ctrl-C or hang-up in the terminal that ran `make run` must not reach a
    # stack that is meant to outlive the command.
    setsid "$@" >>"$log" 2>&1 </dev/null &
  fi
  _LAPOR_PID=$!
}

# Prints the last lines of LOG to stderr, for a process that failed to come up.
_lapor_log_tail() {
  local log=$1
  [[ -f $log ]] || return 0
  echo "----- last 40 lines of $log -----" >&2
  tail -n 40 "$log" >&2
  echo "-----" >&2
}

# Re-runs CMD every 0.2s until it succeeds; fails after DEADLINE seconds, or at once when PID
# (if not empty) has exited, and then shows the tail of LOG (if not empty).
_lapor_wait_ready() {
  local deadline=$1 description=$2 pid=$3 log=$4
  shift 4
  local end
  _lapor_now_us
  end=$((_LAPOR_NOW_US + deadline * 1000000))
  until "$@" >/dev/null 2>&1; do
    if [[ -n $pid ]] && ! _lapor_alive "$pid"; then
      echo "lapor: $description exited before it became ready" >&2
      [[ -z $log ]] || _lapor_log_tail "$log"
      return 1
    fi
    _lapor_now_us
    if ((_LAPOR_NOW_US >= end)); then
      echo "lapor: $description did not become ready within ${deadline}s" >&2
      [[ -z $log ]] || _lapor_log_tail "$log"
      return 1
    fi
    sleep 0.2
  done
}

# lapor_free_port [COUNT]: prints COUNT (default 1) free TCP ports on 127.0.0.1, one a line.
# All sockets are held open until every port is chosen, so the ports are distinct. The ports
# come from the 16,384 below the kernel's ephemeral range (net.ipv4.ip_local_port_range), where
# no process's outgoing connection can take one before the service it is for binds it; a port
# the kernel picked itself (bind to 0) is an ephemeral one.
lapor_free_port() {
  python3 - "${1:-1}" <<'PY'
import random, socket, sys
try:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        below = int(f.read().split()[0])
except (OSError, ValueError, IndexError):
    below = 32768
lo, hi = max(1024, below - 16384), below - 1
socks = []
def bound(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return s
    except OSError:
        s.close()
        return None
for _ in range(int(sys.argv[1])):
    s = None
    for _ in range(500):
        if lo >= hi:
            break
        s = bound(random.randint(lo, hi))
        if s:
            break
    s = s or bound(0)
    if not s:
        sys.exit("no free port on 127.0.0.1")
    socks.append(s)
print("\n".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
PY
}

# lapor_wait_until DEADLINE_SECONDS DESCRIPTION CMD...: re-runs CMD until it succeeds; after
# DEADLINE_SECONDS says that DESCRIPTION did not become ready and returns 1.
lapor_wait_until() {
  local deadline=$1 description=$2
  shift 2
  _lapor_wait_ready "$deadline" "$description" "" "" "$@"
}

_lapor_java() {
  if [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then
    printf '%s\n' "$JAVA_HOME/bin/java"
  else
    printf '%s\n' java
  fi
}

# lapor_broker_threads CORES: "NETWORK IO", the broker's request threads for a machine of CORES
# cores that the broker shares with the services and Redis: half the cores for the network
# threads and all of them for the I/O threads, at least 1 and 2, at most Kafka's defaults (3
# and 8, sized for a server of its own). On 2 cores, 1 and 2 took a sixth less of the broker's
# CPU per complaint than the defaults, less in each of five pairs of runs (docs/performance.md).
lapor_broker_threads() {
  local cores=$1 net io
  net=$((cores / 2))
  ((net >= 1)) || net=1
  ((net <= 3)) || net=3
  io=$cores
  ((io >= 2)) || io=2
  ((io <= 8)) || io=8
  echo "$net $io"
}

# lapor_start_kafka RUN_DIR: a single-node KRaft broker (broker and controller in one JVM) on
# fresh ports with fresh storage in RUN_DIR/kafka. Exports LAPOR_KAFKA_BROKERS.
lapor_start_kafka() {
  local run_dir=$1
  local root
  root=$(_lapor_repo_root)
  local KAFKA_VERSION KAFKA_SCALA LOG4J_VERSION
  # shellcheck source=deploy/versions.env
  source "$root/deploy/versions.env"
  local libs=$root/.cache/kafka/$KAFKA_VERSION/libs
  if [[ ! -f $libs/kafka_$KAFKA_SCALA-$KAFKA_VERSION.jar ]]; then
    echo "lapor: Kafka $KAFKA_VERSION is not in $libs; run deploy/local/deps.sh (make deps)" >&2
    return 1
  fi

  local ports port controller_port
  ports=$(lapor_free_port 2) || return 1
  { read -r port && read -r controller_port; } <<<"$ports"

  local dir=$run_dir/kafka log=$run_dir/logs/kafka.log
  local net_threads io_threads
  read -r net_threads io_threads <<<"$(lapor_broker_threads "$(nproc 2>/dev/null || echo 2)")"
  # New ports mean a new cluster: storage formatted for another one would be refused.
  rm -rf "$dir"
  mkdir -p "$dir/data" "$run_dir/logs" "$run_dir/pids"
  : >"$log"
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.partitions=3
# One broker: every internal topic has a single replica. Few partitions keep startup and
# the first consumer-group join fast.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=3
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Consumers in tests join one at a time; waiting for more members only slows them down.
group.initial.rebalance.delay.ms=0
# The services create their topics with the partition count they are configured for; a topic
# created by accident (a typo, a consumer subscribing early) would hide that.
auto.create.topics.enable=false
# Request threads for this machine (lapor_broker_threads).
num.network.threads=$net_threads
num.io.threads=$io_threads
EOF
  # Extra broker properties, one per line, for measuring a broker setting (bench/run.sh):
  # the later line of a key wins.
  if [[ -n ${LAPOR_KAFKA_BROKER_PROPERTIES:-} ]]; then
    printf '%s\n' "$LAPOR_KAFKA_BROKER_PROPERTIES" >>"$dir/server.properties"
  fi

  local java log4j
  java=$(_lapor_java)
  log4j=-Dlog4j2.configurationFile=$root/deploy/kafka/log4j2.yaml
  # Cluster id in Kafka's format (16 random bytes, URL-safe base64, no padding, not starting
  # with '-'), made here rather than by `StorageTool random-uuid` to save a JVM start.
  local cluster_id
  cluster_id=$(python3 -c '
import base64, uuid
while True:
    s = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    if not s.startswith("-"):
        print(s)
        break
') || return 1
  # Short-lived tool: the C1-only JIT starts faster, the small heap is plenty.
  if ! "$java" -Xmx256m -XX:TieredStopAtLevel=1 "$log4j" -cp "$libs/*" \
    kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" >>"$log" 2>&1; then
    echo "lapor: formatting Kafka storage in $dir failed" >&2
    _lapor_log_tail "$log"
    return 1
  fi

  # LAPOR_KAFKA_JVM_OPTS: more JVM options for the broker (split on spaces), after the
  # defaults so that a later one wins, e.g. -Xlog:gc:file=/tmp/gc.log to see its pauses.
  local -a jvm_opts=()
  read -r -a jvm_opts <<<"${LAPOR_KAFKA_JVM_OPTS:-}"
  _lapor_launch "$log" "$java" -Xmx384m -Xms64m -XX:+ExitOnOutOfMemoryError "${jvm_opts[@]}" \
    "$log4j" -cp "$libs/*" kafka.Kafka "$dir/server.properties"
  local pid=$_LAPOR_PID
  _lapor_record_pid "$run_dir" kafka "$pid"
  # Metadata answers only once the broker is unfenced and serving requests.
  _lapor_wait_ready 90 "Kafka broker on 127.0.0.1:$port" "$pid" "$log" \
    kcat -b "127.0.0.1:$port" -L -m 2 || return 1
  export LAPOR_KAFKA_BROKERS=127.0.0.1:$port
  # The local single-node overrides of the production topic settings (RF 3, min ISR 2), which
  # one broker could never satisfy; every service started from here inherits them.
  export LAPOR_KAFKA_REPLICATION_FACTOR=1 LAPOR_KAFKA_MIN_INSYNC_REPLICAS=1
}

_lapor_redis_ping() {
  [[ $(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null) == PONG ]]
}

# lapor_start_redis RUN_DIR: Redis with an append-only file in RUN_DIR/redis (so a restart of
# Redis keeps the SLA clocks, as in production) and no RDB snapshots. Exports LAPOR_REDIS_HOST
# and LAPOR_REDIS_PORT.
lapor_start_redis() {
  local run_dir=$1
  local port
  port=$(lapor_free_port) || return 1
  local dir=$run_dir/redis log=$run_dir/logs/redis.log
  rm -rf "$dir"
  mkdir -p "$dir" "$run_dir/logs" "$run_dir/pids"
  : >"$log"
  # LAPOR_REDIS_OPTS: more redis-server options (split on spaces), after the ones here, e.g.
  # LAPOR_REDIS_OPTS="--rdbcompression no".
  local -a redis_opts=()
  read -r -a redis_opts <<<"${LAPOR_REDIS_OPTS:-}"
  _lapor_launch "$log" redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" \
    --save "" --appendonly yes --daemonize no --protected-mode yes "${redis_opts[@]}"
  local pid=$_LAPOR_PID
  _lapor_record_pid "$run_dir" redis "$pid"
  _lapor_wait_ready 30 "Redis on 127.0.0.1:$port" "$pid" "$log" _lapor_redis_ping "$port" || return 1
  export LAPOR_REDIS_HOST=127.0.0.1
  export LAPOR_REDIS_PORT=$port
}

# lapor_start_service RUN_DIR NAME: starts lapor-NAME from LAPOR_BUILD_DIR with
# LAPOR_CONFIG_DIR/NAME.yaml on fresh gRPC and metrics ports (passed as LAPOR_GRPC_PORT and
# LAPOR_METRICS_PORT, which override the config file), against the exported
# LAPOR_KAFKA_BROKERS and LAPOR_REDIS_HOST/PORT. Ready once /metrics answers. Exports
# LAPOR_<NAME>_GRPC_PORT and LAPOR_<NAME>_METRICS_PORT (NAME upper-cased, '-' as '_').
lapor_start_service() {
  local run_dir=$1 name=$2
  local root
  root=$(_lapor_repo_root)
  local build_dir=${LAPOR_BUILD_DIR:-$root/build}
  local config_dir=${LAPOR_CONFIG_DIR:-$root/deploy/config}
  local bin=$build_dir/services/$name/lapor-$name config=$config_dir/$name.yaml
  if [[ ! -x $bin ]]; then
    echo "lapor: $bin is missing; build first (make build)" >&2
    return 1
  fi
  if [[ ! -f $config ]]; then
    echo "lapor: no configuration $config" >&2
    return 1
  fi
  local v
  for v in LAPOR_KAFKA_BROKERS LAPOR_REDIS_HOST LAPOR_REDIS_PORT; do
    if [[ -z ${!v:-} ]]; then
      # Without them the service would silently use the config file's defaults.
      echo "lapor: $v is not set; start Kafka and Redis first" >&2
      return 1
    fi
  done

  local ports grpc_port metrics_port
  ports=$(lapor_free_port 2) || return 1
  { read -r grpc_port && read -r metrics_port; } <<<"$ports"
  local log=$run_dir/logs/$name.log
  mkdir -p "$run_dir/logs" "$run_dir/pids"
  : >"$log"
  # `env` execs the service, so the recorded pid stays the service's own.
  _lapor_launch "$log" env LAPOR_GRPC_PORT="$grpc_port" LAPOR_METRICS_PORT="$metrics_port" \
    "$bin" --config "$config"
  local pid=$_LAPOR_PID
  _lapor_record_pid "$run_dir" "$name" "$pid"
  _lapor_wait_ready 60 "lapor-$name (metrics on 127.0.0.1:$metrics_port)" "$pid" "$log" \
    curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$metrics_port/metrics" || return 1

  local var=${name^^}
  var=LAPOR_${var//-/_}
  export "${var}_GRPC_PORT=$grpc_port" "${var}_METRICS_PORT=$metrics_port"
}

# lapor_write_stack_env FILE HEADER: every exported LAPOR_* variable, quoted for `source`,
# under the comment line HEADER. Written whole to a temporary file and renamed, so a reader
# never sees half of it. LAPOR_PDEATHSIG is left out (it describes how the stack was started,
# not the stack), and so is the webhook secret (LAPOR_DEMO_WEBHOOK_SECRET): no secret in files.
lapor_write_stack_env() {
  local file=$1 header=$2 tmp=$1.tmp var
  {
    echo "# $header"
    while IFS= read -r var; do
      [[ $var == LAPOR_PDEATHSIG || $var == LAPOR_DEMO_WEBHOOK_SECRET ]] && continue
      printf 'export %s=%q\n' "$var" "${!var}"
    done < <(compgen -e | grep '^LAPOR_' | sort)
  } >"$tmp"
  mv "$tmp" "$file"
}

# lapor_start_webhook_receiver RUN_DIR [AGENCIES]: lapor-webhook-receiver from LAPOR_BUILD_DIR on
# a fresh port, accepting the comma-separated AGENCIES (empty: any) and verifying with the secret
# in LAPOR_DEMO_WEBHOOK_SECRET, the secret notification signs the demo agencies' webhooks with
# (secret_env in deploy/config/notification.yaml): a fresh random one is made and exported when
# it is unset; keep it out of files (stack.env). Ready once /healthz answers. Exports
# LAPOR_WEBHOOK_RECEIVER_PORT and LAPOR_WEBHOOK_BASE_URL (notification's webhook.base_url, which
# the per-agency webhook paths of notification.yaml are relative to).
lapor_start_webhook_receiver() {
  local run_dir=$1 agencies=${2:-}
  local root
  root=$(_lapor_repo_root)
  local bin=${LAPOR_BUILD_DIR:-$root/build}/tools/lapor-webhook-receiver
  if [[ ! -x $bin ]]; then
    echo "lapor: $bin is missing; build first (make build)" >&2
    return 1
  fi
  if [[ -z ${LAPOR_DEMO_WEBHOOK_SECRET:-} ]]; then
    LAPOR_DEMO_WEBHOOK_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
  fi
  export LAPOR_DEMO_WEBHOOK_SECRET
  local port
  port=$(lapor_free_port) || return 1
  local log=$run_dir/logs/webhook-receiver.log
  mkdir -p "$run_dir/logs" "$run_dir/pids"
  : >"$log"
  local args=(--port "$port" --secret-env LAPOR_DEMO_WEBHOOK_SECRET)
  [[ -z $agencies ]] || args+=(--agency "$agencies")
  _lapor_launch "$log" "$bin" "${args[@]}"
  local pid=$_LAPOR_PID
  _lapor_record_pid "$run_dir" webhook-receiver "$pid"
  _lapor_wait_ready 30 "lapor-webhook-receiver on 127.0.0.1:$port" "$pid" "$log" \
    curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$port/healthz" || return 1
  export LAPOR_WEBHOOK_RECEIVER_PORT=$port
  export LAPOR_WEBHOOK_BASE_URL=http://127.0.0.1:$port
}

# Stops the processes recorded as NAMES in RUN_DIR/pids together: SIGTERM to all, then up to
# DEADLINE seconds for them to exit, then SIGKILL. Appends the names that were running to
# _LAPOR_STOPPED.
_lapor_stop_group() {
  local run_dir=$1 deadline=$2
  shift 2
  local name pid names=() pids=()
  for name in "$@"; do
    if _lapor_pid_alive "$run_dir" "$name"; then
      read -r pid <"$run_dir/pids/$name.pid" || true
      kill -TERM "$pid" 2>/dev/null || true
      names+=("$name")
      pids+=("$pid")
    fi
  done

  local i end any killed=0
  _lapor_now_us
  end=$((_LAPOR_NOW_US + deadline * 1000000))
  while :; do
    any=0
    for i in "${!pids[@]}"; do
      _lapor_alive "${pids[$i]}" && any=1
    done
    ((any)) || break
    _lapor_now_us
    if ((_LAPOR_NOW_US >= end)); then
      if ((killed)); then
        echo "lapor: still running after SIGKILL: ${names[*]}" >&2
        break
      fi
      for i in "${!pids[@]}"; do
        if _lapor_alive "${pids[$i]}"; then
          echo "lapor: ${names[$i]} (pid ${pids[$i]}) did not stop within ${deadline}s; killing it" >&2
          kill -KILL "${pids[$i]}" 2>/dev/null || true
        fi
      done
      # SIGKILL is delivered asynchronously; wait a little more so that callers can rely on
      # the processes being gone when this returns.
      killed=1
      end=$((_LAPOR_NOW_US + 5 * 1000000))
    fi
    sleep 0.1
  done

  for name in "$@"; do
    rm -f "$run_dir/pids/$name.pid" "$run_dir/pids/$name.start"
  done
  _LAPOR_STOPPED+=("${names[@]}")
}

# lapor_stop_all RUN_DIR: stops everything recorded in RUN_DIR/pids: the services first (they
# flush to Kafka and Redis on the way out), then Kafka, then Redis. Sets _LAPOR_STOPPED to the
# names of the processes that were still running.
lapor_stop_all() {
  local run_dir=$1
  _LAPOR_STOPPED=()
  [[ -d $run_dir/pids ]] || return 0
  local f name services=()
  for f in "$run_dir"/pids/*.pid; do
    [[ -e $f ]] || continue
    name=${f##*/}
    name=${name%.pid}
    [[ $name == kafka || $name == redis ]] || services+=("$name")
  done
  _lapor_stop_group "$run_dir" 15 "${services[@]}"
  _lapor_stop_group "$run_dir" 30 kafka
  _lapor_stop_group "$run_dir" 15 redis
}

# lapor_dump_logs RUN_DIR: the last 80 lines of every log under RUN_DIR/logs (the scripts'
# own and whatever the tests wrote there), each under a header.
lapor_dump_logs() {
  local run_dir=$1 f
  [[ -d $run_dir/logs ]] || return 0
  while IFS= read -r -d '' f; do
    printf '\n===== %s (last 80 lines) =====\n' "$f"
    tail -n 80 "$f"
  done < <(find "$run_dir/logs" -type f -print0 | sort -z)
}
