#!/usr/bin/env bash
# `make images`: OCI images of the four services, lapor-cli, and the Kafka, Redis and
# Prometheus that deploy/compose runs, built with podman from nothing (FROM scratch): each
# image holds its program, the shared libraries `ldd` names for it (from this machine's
# Debian packages), a non-root user and what the program reads (configs, CA certificates, the
# tz database). No base image is pulled and nothing is compiled here: the services come from
# the project's own build (LAPOR_BUILD_DIR, default build/), stripped of debug info.
#
#   deploy/images/build.sh [IMAGE...]     IMAGE: intake routing notification sla-monitor cli
#                                                kafka redis prometheus (default: all)
# Images are tagged localhost/lapor-<image>:<version> and :latest. LAPOR_IMAGE_TAG overrides
# the version tag.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=deploy/versions.env
source "$repo_root/deploy/versions.env"
build_dir=${LAPOR_BUILD_DIR:-$repo_root/build}
stage_root=$build_dir/images
export CONTAINERS_CONF=${CONTAINERS_CONF:-$repo_root/deploy/images/containers.conf}
version=${LAPOR_IMAGE_TAG:-$(sed -n 's/^project(lapor VERSION \([0-9.]*\).*/\1/p' "$repo_root/CMakeLists.txt")}
uid=65532 # the non-root user of every image
# Java modules of the Kafka broker (and its log4j2, Jackson, Scala and JMX).
kafka_modules=java.base,java.compiler,java.desktop,java.instrument,java.logging,java.management,java.naming,java.net.http,java.rmi,java.scripting,java.security.jgss,java.security.sasl,java.sql,java.transaction.xa,java.xml,jdk.crypto.ec,jdk.management,jdk.naming.dns,jdk.security.auth,jdk.unsupported,jdk.zipfs

all=(intake routing notification sla-monitor cli kafka redis prometheus)
images=("$@")
((${#images[@]} > 0)) || images=("${all[@]}")

# Ports a service image listens on unless told otherwise (LAPOR_GRPC_PORT, ...); below the
# ephemeral range so that host networking never meets a port the kernel hands out.
declare -A grpc_port=([intake]=17001 [routing]=17002 [notification]=17003 [sla-monitor]=17004)
declare -A metrics_port=([intake]=17101 [routing]=17102 [notification]=17103 [sla-monitor]=17104)

# copy_file ROOT PATH [DEST]: PATH into ROOT at DEST (default: the same path), symlinks resolved.
copy_file() {
  local root=$1 src=$2 dest=${3:-$2}
  mkdir -p "$root$(dirname "$dest")"
  cp -L "$src" "$root$dest"
}

# copy_program ROOT PATH [DEST]: a program (stripped of debug info) and every shared library
# it loads, at the paths the dynamic loader looks for them.
copy_program() {
  local root=$1 src=$2 dest=${3:-$2} lib
  copy_file "$root" "$src" "$dest"
  strip --strip-debug "$root$dest" 2>/dev/null || true
  copy_libraries "$root" "$src"
}

copy_libraries() {
  local root=$1 lib
  shift
  # `ldd` prints "name => /path (addr)" and "/lib64/ld-linux-x86-64.so.2 (addr)".
  for lib in $(ldd "$@" 2>/dev/null | grep -v ':$' | grep -o '/[^ ]*' | sort -u); do
    [[ -e $root$lib ]] && continue
    copy_file "$root" "$lib"
    strip --strip-debug "$root$lib" 2>/dev/null || true
  done
}

# The files every image has: users, CA certificates, a writable /tmp.
base_root() {
  local root=$1
  rm -rf "$root"
  # /data/<image> is where a program keeps its state, on a volume mounted at /data: an empty
  # volume is filled from the image, and only what is below its top keeps the owner given by
  # the Containerfile (COPY --chown, as COPY itself takes root:root).
  mkdir -p "$root/etc" "$root/tmp" "$root/data/$(basename "$(dirname "$root")")"
  chmod 1777 "$root/tmp"
  chown "$uid:$uid" "$root/data"
  printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nlapor:x:%s:%s:lapor:/data:/usr/sbin/nologin\n' \
    "$uid" "$uid" >"$root/etc/passwd"
  printf 'root:x:0:\nlapor:x:%s:\n' "$uid" >"$root/etc/group"
  copy_file "$root" /etc/ssl/certs/ca-certificates.crt
  # /bin/sh (dash) for health checks and entry scripts.
  copy_program "$root" /bin/dash /bin/sh
}

# Indonesia's time zones (WIB, WITA, WIT) and UTC, for the working-day calendar.
copy_zones() {
  local root=$1 z
  for z in Asia/Jakarta Asia/Pontianak Asia/Makassar Asia/Jayapura Etc/UTC UTC; do
    copy_file "$root" "/usr/share/zoneinfo/$z"
  done
}

build() {
  local name=$1 dir=$2
  echo "images: building localhost/lapor-$name:$version"
  # docker format: it is the one that keeps HEALTHCHECK.
  podman build -q --format docker -t "localhost/lapor-$name:$version" \
    -t "localhost/lapor-$name:latest" -f "$dir/Containerfile" "$dir" >/dev/null
}

labels() {
  printf 'LABEL org.opencontainers.image.title="lapor-%s" org.opencontainers.image.version="%s" org.opencontainers.image.source="Lapor"\n' "$1" "$version"
}

service_image() {
  local svc=$1 dir=$stage_root/$1 bin=$build_dir/services/$1/lapor-$1
  [[ -x $bin ]] || { echo "images: $bin is missing; build first (make build)" >&2; return 1; }
  base_root "$dir/root"
  copy_program "$dir/root" "$bin" "/usr/bin/lapor-$svc"
  copy_program "$dir/root" "$build_dir/tools/lapor-cli" /usr/bin/lapor-cli
  copy_zones "$dir/root"
  mkdir -p "$dir/root/etc/lapor"
  cp "$repo_root"/deploy/config/*.yaml "$dir/root/etc/lapor/"
  local open311=""
  [[ $svc != intake ]] || open311=" LAPOR_OPEN311_HOST=0.0.0.0 LAPOR_OPEN311_PORT=17080"
  {
    echo "FROM scratch"
    labels "$svc"
    echo "COPY root/ /"
    echo "COPY --chown=$uid:$uid root/data/ /data/"
    echo "ENV LAPOR_CONFIG=/etc/lapor/$svc.yaml TZ=Asia/Makassar \\"
    echo "    LAPOR_GRPC_HOST=0.0.0.0 LAPOR_GRPC_PORT=${grpc_port[$svc]} \\"
    echo "    LAPOR_METRICS_HOST=0.0.0.0 LAPOR_METRICS_PORT=${metrics_port[$svc]}$open311"
    echo "USER $uid:$uid"
    echo "WORKDIR /data"
    echo "EXPOSE ${grpc_port[$svc]} ${metrics_port[$svc]}${open311:+ 17080}"
    # gRPC health (grpc.health.v1): SERVING while the service runs, NOT_SERVING while it stops.
    echo 'HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["/bin/sh", "-c", "exec /usr/bin/lapor-cli health 127.0.0.1:$LAPOR_GRPC_PORT"]'
    echo "STOPSIGNAL SIGTERM"
    echo "ENTRYPOINT [\"/usr/bin/lapor-$svc\"]"
  } >"$dir/Containerfile"
  build "$svc" "$dir"
}

cli_image() {
  local dir=$stage_root/cli
  base_root "$dir/root"
  copy_program "$dir/root" "$build_dir/tools/lapor-cli" /usr/bin/lapor-cli
  # The demo's webhook receiver (compose runs it for the agencies that take webhooks).
  copy_program "$dir/root" "$build_dir/tools/lapor-webhook-receiver" /usr/bin/lapor-webhook-receiver
  {
    echo "FROM scratch"
    labels cli
    echo "COPY root/ /"
    echo "COPY --chown=$uid:$uid root/data/ /data/"
    echo "USER $uid:$uid"
    echo 'ENTRYPOINT ["/usr/bin/lapor-cli"]'
  } >"$dir/Containerfile"
  build cli "$dir"
}

kafka_image() {
  local dir=$stage_root/kafka java_home
  local libs=$repo_root/.cache/kafka/$KAFKA_VERSION/libs
  [[ -f $libs/kafka_$KAFKA_SCALA-$KAFKA_VERSION.jar ]] ||
    { echo "images: Kafka jars missing in $libs; run make deps" >&2; return 1; }
  java_home=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
  base_root "$dir/root"
  # A Java runtime cut from Debian's OpenJDK by jlink to the modules the broker uses.
  mkdir -p "$dir/root/opt"
  "$java_home/bin/jlink" --add-modules "$kafka_modules" --strip-debug --no-man-pages \
    --no-header-files --output "$dir/root/opt/java"
  copy_libraries "$dir/root" "$dir/root/opt/java/bin/java" $(find "$dir/root/opt/java/lib" -name '*.so' -type f)
  mkdir -p "$dir/root/opt/kafka"
  cp -r "$libs" "$dir/root/opt/kafka/libs"
  cp "$repo_root/deploy/kafka/log4j2.yaml" "$dir/root/opt/kafka/log4j2.yaml"
  install -m 0755 "$repo_root/deploy/images/kafka-entrypoint.sh" "$dir/root/opt/kafka/entrypoint.sh"
  {
    echo "FROM scratch"
    labels kafka
    echo "COPY root/ /"
    echo "COPY --chown=$uid:$uid root/data/ /data/"
    echo "ENV JAVA_HOME=/opt/java KAFKA_HEAP_OPTS=\"-Xmx512m -Xms128m\""
    echo "USER $uid:$uid"
    echo "WORKDIR /data"
    echo 'VOLUME ["/data"]'
    echo 'ENTRYPOINT ["/opt/kafka/entrypoint.sh"]'
  } >"$dir/Containerfile"
  build kafka "$dir"
}

redis_image() {
  local dir=$stage_root/redis
  base_root "$dir/root"
  copy_program "$dir/root" /usr/bin/redis-server
  {
    echo "FROM scratch"
    labels redis
    echo "COPY root/ /"
    echo "COPY --chown=$uid:$uid root/data/ /data/"
    echo "USER $uid:$uid"
    echo "WORKDIR /data"
    echo 'VOLUME ["/data"]'
    echo 'ENTRYPOINT ["/usr/bin/redis-server", "--dir", "/data/redis"]'
  } >"$dir/Containerfile"
  build redis "$dir"
}

prometheus_image() {
  local dir=$stage_root/prometheus
  base_root "$dir/root"
  copy_program "$dir/root" /usr/bin/prometheus
  mkdir -p "$dir/root/etc/prometheus"
  cp -r "$repo_root/deploy/prometheus/rules" "$dir/root/etc/prometheus/rules"
  {
    echo "FROM scratch"
    labels prometheus
    echo "COPY root/ /"
    echo "COPY --chown=$uid:$uid root/data/ /data/"
    echo "USER $uid:$uid"
    echo "WORKDIR /data"
    echo 'VOLUME ["/data"]'
    echo 'ENTRYPOINT ["/usr/bin/prometheus", "--storage.tsdb.path=/data/prometheus"]'
  } >"$dir/Containerfile"
  build prometheus "$dir"
}

bash "$repo_root/deploy/images/deps.sh"
mkdir -p "$stage_root"
for image in "${images[@]}"; do
  case $image in
    intake | routing | notification | sla-monitor) service_image "$image" ;;
    cli) cli_image ;;
    kafka) kafka_image ;;
    redis) redis_image ;;
    prometheus) prometheus_image ;;
    *)
      echo "images: unknown image '$image' (one of: ${all[*]})" >&2
      exit 2
      ;;
  esac
done
podman images --filter "reference=localhost/lapor-*" --format '{{.Repository}}:{{.Tag}} {{.Size}}' |
  grep ":$version " || true
