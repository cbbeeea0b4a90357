#!/usr/bin/env bash
# Installs what building, running and testing Lapor needs and is not there yet: Debian packages
# (via apt) and the Apache Kafka broker jars (from Maven Central, into .cache/kafka/<version>/libs).
# Idempotent and quick when everything is present, so `make` can run it every time.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=deploy/versions.env
source "$repo_root/deploy/versions.env"
# shellcheck source=deploy/apt.sh
source "$repo_root/deploy/apt.sh"

packages=(
  build-essential cmake ninja-build pkg-config ccache
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librdkafka-dev libhiredis-dev libzstd-dev prometheus-cpp-dev libyaml-cpp-dev nlohmann-json3-dev
  libjemalloc-dev # the services' allocator (docs/performance.md)
  libspdlog-dev libfmt-dev libcli11-dev libcpp-httplib-dev
  libgtest-dev libgmock-dev googletest libssl-dev libcurl4-openssl-dev
  redis-server prometheus kcat curl python3 python3-venv python3-yaml jq
  util-linux # setpriv, for tying test processes to the lifetime of tests/run.sh
)
# A JDK or Maven installed outside dpkg (SDKMAN, a tarball, a CI image) is just as good;
# installing the Debian ones next to it would only shadow the one the user chose.
command -v java >/dev/null 2>&1 || packages+=(default-jre-headless)
command -v mvn >/dev/null 2>&1 || packages+=(maven)
# Go builds the outside clients the tests run (tests/clients/tools.sh); any Go on PATH will do.
command -v go >/dev/null 2>&1 || packages+=(golang-go)

apt_install_missing deps "${packages[@]}"

# Kafka broker jars. The marker of a complete fetch is the broker jar itself, and the folder
# only gets its final name after Maven succeeded, so an interrupted fetch never looks complete.
kafka_cache="$repo_root/.cache/kafka"
kafka_libs="$kafka_cache/$KAFKA_VERSION/libs"
broker_jar="kafka_${KAFKA_SCALA}-${KAFKA_VERSION}.jar"
if [[ ! -f $kafka_libs/$broker_jar ]]; then
  echo "deps: fetching Apache Kafka $KAFKA_VERSION (Scala $KAFKA_SCALA) from Maven Central"
  mkdir -p "$kafka_cache/$KAFKA_VERSION"
  # Same filesystem as the destination, so the final mv is a rename.
  fetch_dir=$(mktemp -d "$kafka_cache/$KAFKA_VERSION/.fetch.XXXXXX")
  trap 'rm -rf "$fetch_dir"' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  # Debian's Maven 3.8 prints bare colour resets even with -B; sed drops them (pipefail keeps
  # Maven's exit status).
  mvn -q -B -f "$repo_root/deploy/kafka/pom.xml" \
    -Dkafka.version="$KAFKA_VERSION" -Dkafka.scala="$KAFKA_SCALA" -Dlog4j.version="$LOG4J_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$fetch_dir/libs" 2>&1 |
    sed 's/\x1b\[[0-9;]*m//g'
  if [[ ! -f $fetch_dir/libs/$broker_jar ]]; then
    echo "deps: Maven finished but $broker_jar is not among the fetched jars" >&2
    exit 1
  fi
  # Another `make` in the same checkout may have finished first; its copy is as good as ours.
  if [[ ! -f $kafka_libs/$broker_jar ]]; then
    rm -rf "$kafka_libs" # incomplete, so not from this script
    mv -T "$fetch_dir/libs" "$kafka_libs"
  fi
  echo "deps: Kafka jars in ${kafka_libs#"$repo_root"/}"
fi
