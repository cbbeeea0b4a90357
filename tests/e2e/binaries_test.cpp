// The binaries as an operator meets them: --help explains them, --version says which build they
// are, and a usage error or a bad setting stops them at start with the flag or key named (exit
// 2), before they touch Kafka or Redis; a gRPC port already served stops the start too.
#include "process.h"
#include "wait.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

namespace lapor::testing {
namespace {

using namespace std::chrono_literals;

const char* const kServices[] = {"intake", "routing", "notification", "sla-monitor"};

struct Run {
  int exit_code = -1;
  std::string output;
};

// `service` is a service name, "cli" for tools/lapor-cli, "webhook-receiver" for
// tools/lapor-webhook-receiver or "bench" for bench/lapor-bench.
Run run(const std::string& service, std::vector<std::string> args,
        std::map<std::string, std::string> env) {
  const std::string log = runDir() + "/logs/binary-" + service + ".log";
  std::remove(log.c_str());
  args.insert(args.begin(),
              service == "cli" || service == "webhook-receiver"
                  ? LAPOR_BUILD_DIR "/tools/lapor-" + service
              : service == "bench" ? std::string(LAPOR_BUILD_DIR "/bench/lapor-bench")
                                   : LAPOR_BUILD_DIR "/services/" + service + "/lapor-" + service);
  ChildProcess p(service, args, env, log);
  Run r;
  EXPECT_TRUE(waitFor([&] { return !p.running(); }, 30s)) << service << " did not exit";
  if (auto st = p.signalAndWait(0, 1s); st && WIFEXITED(*st)) r.exit_code = WEXITSTATUS(*st);
  r.output = p.log();
  return r;
}

TEST(Binaries, HelpDescribesTheServiceAndItsConfig) {
  for (const char* s : kServices) {
    auto r = run(s, {"--help"}, {});
    EXPECT_EQ(r.exit_code, 0) << s << "\n" << r.output;
    EXPECT_NE(r.output.find("--config"), std::string::npos) << s << "\n" << r.output;
    EXPECT_NE(r.output.find("LAPOR_"), std::string::npos) << s << "\n" << r.output;
  }
}

TEST(Binaries, EveryBinaryAnswersVersion) {
  for (std::string s : {"intake", "routing", "notification", "sla-monitor", "cli", "bench",
                        "webhook-receiver"}) {
    auto r = run(s, {"--version"}, {});
    EXPECT_EQ(r.exit_code, 0) << s << "\n" << r.output;
    const std::string program = "lapor-" + s;
    EXPECT_EQ(r.output.rfind(program + " 0.", 0), 0u) << s << ": " << r.output;
    EXPECT_NE(r.output.find('('), std::string::npos) << "the revision: " << r.output;
  }
}

// CLI11's own exit codes are 105-114; a usage error is 2, with the flag named.
TEST(Binaries, UnknownFlagsAndMissingValuesExit2NamingTheFlag) {
  for (std::string s : {"intake", "routing", "notification", "sla-monitor", "cli", "bench",
                        "webhook-receiver"}) {
    auto r = run(s, s == "cli" ? std::vector<std::string>{"list", "--no-such-flag"}
                                : std::vector<std::string>{"--no-such-flag"},
                 {});
    EXPECT_EQ(r.exit_code, 2) << s << "\n" << r.output;
    EXPECT_NE(r.output.find("--no-such-flag"), std::string::npos) << s << "\n" << r.output;
  }
  for (const char* s : kServices) {
    auto r = run(s, {"--config"}, {});
    EXPECT_EQ(r.exit_code, 2) << s << "\n" << r.output;
    EXPECT_NE(r.output.find("--config"), std::string::npos) << s << "\n" << r.output;
  }
  auto r = run("cli", {"get", "--intake"}, {});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--intake"), std::string::npos) << r.output;
}

TEST(Binaries, IntakeListsRebuildViewAmongItsOptions) {
  auto r = run("intake", {"--help"}, {});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const auto options = r.output.find("Options:");
  ASSERT_NE(options, std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--rebuild-view", options), std::string::npos) << r.output;
}

TEST(Binaries, BadSettingStopsTheServiceWithTheKeyNamed) {
  for (const char* s : kServices) {
    auto r = run(s, {"--config", LAPOR_SOURCE_DIR "/deploy/config/" + std::string(s) + ".yaml"},
                 {{"LAPOR_KAFKA_TOPIC_PARTITIONS", "many"}});
    EXPECT_EQ(r.exit_code, 2) << s << "\n" << r.output;
    EXPECT_NE(r.output.find("kafka.topic_partitions"), std::string::npos) << s << "\n" << r.output;
    EXPECT_NE(r.output.find("LAPOR_KAFKA_TOPIC_PARTITIONS"), std::string::npos) << s;
    EXPECT_NE(r.output.find("\"level\":\"error\""), std::string::npos) << "logged as JSON: " << s;
  }
  auto r = run("sla-monitor",
               {"--config", LAPOR_SOURCE_DIR "/deploy/config/sla-monitor.yaml"},
               {{"LAPOR_SLA_ACKNOWLEDGE_EMERGENCY", "soon"}});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("sla.acknowledge_emergency"), std::string::npos) << r.output;
  r = run("routing", {"--config", LAPOR_SOURCE_DIR "/deploy/config/routing.yaml"},
          {{"LAPOR_ROUTING_DELIVERY", "at-most-once"}});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("routing.delivery"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("'at-most-once'"), std::string::npos) << r.output;
}

// A gRPC port another instance already serves is refused at start (exit 1, the address named),
// not shared: with gRPC's default SO_REUSEPORT both would bind it and split the connections.
// Two intakes against the test run's Kafka and Redis, each with a Redis prefix and consumer
// groups of its own.
TEST(Binaries, AGrpcPortAnotherInstanceHoldsStopsTheStartWithTheAddressNamed) {
  const std::string port = std::to_string(freePort());
  auto env = [&](const std::string& name) {
    const std::string own = "binaries-" + name + "-" + std::to_string(std::random_device{}());
    return std::map<std::string, std::string>{
        {"LAPOR_KAFKA_BROKERS", requiredEnv("LAPOR_KAFKA_BROKERS")},
        {"LAPOR_REDIS_HOST", requiredEnv("LAPOR_REDIS_HOST")},
        {"LAPOR_REDIS_PORT", requiredEnv("LAPOR_REDIS_PORT")},
        {"LAPOR_REDIS_PREFIX", own + ":"},
        {"LAPOR_KAFKA_VIEW_GROUP", own + "-view"},
        {"LAPOR_KAFKA_NOTIFY_GROUP", own + "-notify"},
        {"LAPOR_GRPC_PORT", port}};
  };
  const std::string log = runDir() + "/logs/binary-port-holder.log";
  std::remove(log.c_str());
  ChildProcess holder("intake",
                      {LAPOR_BUILD_DIR "/services/intake/lapor-intake", "--config",
                       LAPOR_SOURCE_DIR "/deploy/config/intake.yaml"},
                      env("holder"), log);
  ASSERT_TRUE(waitFor(
      [&] { return !holder.running() || holder.log().find("intake ready") != std::string::npos; },
      60s));
  ASSERT_TRUE(holder.running()) << holder.logTail();

  auto r = run("intake", {"--config", LAPOR_SOURCE_DIR "/deploy/config/intake.yaml"},
               env("second"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("could not listen on"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(":" + port), std::string::npos) << r.output;
  EXPECT_TRUE(holder.running()) << "the first instance keeps its port";
}

// Notification starts threads of its own before its server: a port it cannot listen on still
// ends the start with the address named (exit 1), not with std::terminate.
TEST(Binaries, NotificationOnAPortItCannotListenOnEndsWithTheAddressNamed) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string port = std::to_string(ntohs(addr.sin_port));
  const std::string own = "binaries-notif-" + std::to_string(std::random_device{}());
  auto r = run("notification",
               {"--config", LAPOR_SOURCE_DIR "/deploy/config/notification.yaml"},
               {{"LAPOR_KAFKA_BROKERS", requiredEnv("LAPOR_KAFKA_BROKERS")},
                {"LAPOR_REDIS_HOST", requiredEnv("LAPOR_REDIS_HOST")},
                {"LAPOR_REDIS_PORT", requiredEnv("LAPOR_REDIS_PORT")},
                {"LAPOR_REDIS_PREFIX", own + ":"},
                {"LAPOR_KAFKA_GROUP", own},
                {"LAPOR_DEMO_WEBHOOK_SECRET", "binaries-test-secret"},
                {"LAPOR_GRPC_PORT", port}});
  ::close(fd);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("could not listen on"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(":" + port), std::string::npos) << r.output;
}

TEST(Binaries, MissingConfigFileIsNamed) {
  auto r = run("routing", {"--config", "/nonexistent/routing.yaml"}, {});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("/nonexistent/routing.yaml"), std::string::npos) << r.output;
}


// The ports the tests start services on come from below the kernel's ephemeral range, where no
// outgoing connection (of a service, of the broker) can take one between the pick and the bind.
// Both pickers: freePort() here and lapor_free_port in deploy/local/lib.sh (the stack's).
std::string runCommand(const std::string& command) {
  std::string out;
  if (FILE* f = popen(command.c_str(), "r")) {
    char buf[256];
    while (fgets(buf, sizeof buf, f)) out += buf;
    pclose(f);
  }
  return out;
}

TEST(TestPorts, ComeFromBelowTheKernelsEphemeralPorts) {
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  int ephemeral_lo = 0;
  ASSERT_TRUE(range >> ephemeral_lo);
  for (int i = 0; i < 50; ++i) {
    const int port = freePort();
    EXPECT_LT(port, ephemeral_lo);
    EXPECT_GE(port, 1024);
  }
  const auto out = runCommand("bash -c 'source " LAPOR_SOURCE_DIR
                              "/deploy/local/lib.sh && lapor_free_port 20'");
  std::istringstream lines(out);
  std::set<int> ports;
  for (int port; lines >> port;) {
    EXPECT_LT(port, ephemeral_lo);
    EXPECT_GE(port, 1024);
    ports.insert(port);
  }
  EXPECT_EQ(ports.size(), 20u) << out;  // distinct
}
}  // namespace
}  // namespace lapor::testing
