# Lapor front door. `make run` brings the whole system up locally and shows a complaint
# flowing; `make test` runs every test against a real Kafka broker and Redis.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= 2

.PHONY: all deps configure build test test-unit test-deploy images run demo stop status format clean bench bench-sla

all: build

deps:
	bash deploy/local/deps.sh

configure: deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Starts its own Kafka and Redis on free loopback ports, runs ctest, stops everything. The
# heavy deployment tests (label deploy) are left to test-deploy; the outside clients of
# tests/clients are installed first (pinned, into .cache/tools).
test: build
	bash tests/clients/tools.sh
	LAPOR_BUILD_DIR=$(abspath $(BUILD_DIR)) bash tests/run.sh -LE deploy

# Deployment tests (tests/deploy): the Kafka ACL test, the 3-broker broker-loss test and the
# images + compose end-to-end test with podman. Each starts its own brokers and containers.
test-deploy: build
	ctest --test-dir $(BUILD_DIR) -L deploy --output-on-failure

# OCI images of the services, lapor-cli, Kafka, Redis and Prometheus, from this build
# (deploy/images/build.sh; IMAGES="intake cli" builds some).
images: build
	LAPOR_BUILD_DIR=$(abspath $(BUILD_DIR)) bash deploy/images/build.sh $(IMAGES)

# Unit tests only: no broker, no Redis.
test-unit: build
	ctest --test-dir $(BUILD_DIR) -L unit --output-on-failure

run: build
	LAPOR_BUILD_DIR=$(abspath $(BUILD_DIR)) bash deploy/local/stack.sh start
	LAPOR_BUILD_DIR=$(abspath $(BUILD_DIR)) bash deploy/local/stack.sh demo

demo:
	LAPOR_BUILD_DIR=$(abspath $(BUILD_DIR)) bash deploy/local/stack.sh demo

stop:
	bash deploy/local/stack.sh stop

status:
	bash deploy/local/stack.sh status

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD_DIR)

# End-to-end throughput and latency next to a raw Kafka hop and a gRPC call, on a private
# Kafka and Redis (bench/run.sh; docs/performance.md). BENCH_ARGS go to lapor-bench, e.g.
# BENCH_ARGS="--step-seconds 30 --rates 50,100,200,400,max" for a longer run.
bench: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target lapor-bench
	LAPOR_BUILD_DIR=$(abspath $(BUILD_DIR)) bash bench/run.sh $(BENCH_ARGS)

# The SLA monitor's lifecycle handler alone against a private Redis (bench/sla_replay.sh;
# docs/performance.md): its store's cost per complaint. BENCH_ARGS go to lapor-bench-sla, e.g.
# BENCH_ARGS="--complaints 10000 --rounds 6".
bench-sla: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target lapor-bench-sla
	LAPOR_BUILD_DIR=$(abspath $(BUILD_DIR)) bash bench/sla_replay.sh $(BENCH_ARGS)
