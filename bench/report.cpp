// Ratios divide the pipeline's figure by the baseline's: "12x kafka" means twelve Kafka hops'
// worth of latency for the whole submit -> route -> deliver walk.
#include "report.h"

#include <fmt/format.h>

namespace lapor::bench {

namespace {

const std::vector<std::string>& cpuColumns() {
  static const std::vector<std::string> cols{"intake", "routing",   "notification", "sla-monitor",
                                             "kafka",  "kafka jit", "redis",        "bench"};
  return cols;
}

std::string rate(double r) {
  return r > 0 ? fmt::format("{:.0f}/s", r) : "max";
}

std::string ratio(double a, double b) {
  return b > 0 ? fmt::format("{:.1f}x", a / b) : "-";
}

// Per completed complaint; 0 for a step that completed none.
double perComplaint(double total, const StepResult& s) {
  return s.completed ? total / static_cast<double>(s.completed) : 0.0;
}

nlohmann::json redisJson(const StepResult& s) {
  if (!s.redis_measured) return nullptr;
  return {{"commands", s.redis.commands},
          {"script_calls", s.redis.script_calls},
          {"reads", s.redis.reads},
          {"bytes_in", s.redis.bytes_in},
          {"commands_per_complaint", perComplaint(static_cast<double>(s.redis.commands), s)},
          {"script_calls_per_complaint", perComplaint(static_cast<double>(s.redis.script_calls), s)},
          {"reads_per_complaint", perComplaint(static_cast<double>(s.redis.reads), s)},
          {"bytes_in_per_complaint", perComplaint(static_cast<double>(s.redis.bytes_in), s)}};
}

nlohmann::json stepJson(const StepResult& s, const RunReport& r) {
  nlohmann::json cpu = nlohmann::json::object();
  for (const auto& [name, secs] : s.cpu_seconds) {
    cpu[name] = {{"seconds", secs}, {"per_1000_complaints", perComplaint(secs * 1000.0, s)}};
  }
  return {{"name", s.name},
          {"index", s.index},
          {"instances_per_consumer_service", s.instances},
          {"offered_rate", s.offered_rate > 0 ? nlohmann::json(s.offered_rate) : "max"},
          {"send_seconds", s.send_seconds},
          {"achieved_rate", s.achieved_rate},
          {"scheduled", s.scheduled},
          {"unsent", s.unsent},
          {"submitted", s.submitted},
          {"accepted", s.accepted},
          {"errors", s.errors},
          {"error_samples", s.error_samples},
          {"completed", s.completed},
          {"expected_assignments", s.expected_assignments},
          {"delivered_assignments", s.delivered_assignments},
          {"lost_assignments", s.lost},
          {"late_assignments", s.late},
          {"duplicate_deliveries", s.duplicates},
          {"unexpected_deliveries", s.unexpected},
          {"completion_seconds", s.completion_seconds},
          {"throughput_per_second", s.throughput},
          {"submit_latency", toJson(s.submit)},
          {"delivered_latency", toJson(s.delivered)},
          {"emergency",
           {{"priority", "PRIORITY_EMERGENCY"},
            {"accepted", s.emergency_accepted},
            {"completed", s.emergency_delivered.count},
            {"submit_latency", toJson(s.emergency_submit)},
            {"delivered_latency", toJson(s.emergency_delivered)},
            {"stages",
             {{"accepted_to_dispatched", toJson(s.emergency_to_dispatch)},
              {"dispatched_to_agency_stream", toJson(s.emergency_to_stream)}}}}},
          {"stages",
           {{"accepted_to_dispatched", toJson(s.to_dispatch)},
            {"dispatched_to_agency_stream", toJson(s.to_stream)}}},
          {"readers",
           {{"behind_at_last_delivery", s.readers_behind},
            {"caught_up_seconds", s.readers_caught_up_seconds}}},
          {"acknowledge_latency", toJson(s.acknowledge)},
          {"acknowledge_errors", s.ack_errors},
          {"ratios",
           {{"delivered_p50_over_kafka_p50",
             r.kafka.latency.p50 > 0 ? s.delivered.p50 / r.kafka.latency.p50 : 0},
            {"delivered_p99_over_kafka_p99",
             r.kafka.latency.p99 > 0 ? s.delivered.p99 / r.kafka.latency.p99 : 0},
            {"delivered_p99_over_transactional_p99",
             r.transactional.latency.p99 > 0 ? s.delivered.p99 / r.transactional.latency.p99 : 0},
            {"submit_p50_over_grpc_p50",
             r.grpc.latency.p50 > 0 ? s.submit.p50 / r.grpc.latency.p50 : 0},
            {"throughput_over_kafka_throughput",
             r.kafka.throughput > 0 ? s.throughput / r.kafka.throughput : 0}}},
          {"cpu", cpu},
          {"cpu_pressure_some", s.cpu_pressure >= 0 ? nlohmann::json(s.cpu_pressure) : nlohmann::json()},
          {"redis", redisJson(s)}};
}

}  // namespace

uint64_t RunReport::totalLost() const {
  uint64_t n = 0;
  for (const auto& s : steps) n += s.lost;
  return n;
}

bool RunReport::passed() const {
  for (const auto& s : steps)
    if (s.completed == 0 || s.lost != 0) return false;
  return !steps.empty();
}

namespace {
nlohmann::json ackErrorsJson(const RunReport& r) {
  auto out = nlohmann::json::object();
  for (const auto& [code, e] : r.ack_errors_by_code)
    out[code] = {{"count", e.first}, {"example", e.second}};
  return out;
}
}  // namespace

nlohmann::json toJson(const RunReport& r) {
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& s : r.steps) steps.push_back(stepJson(s, r));
  return {{"started_at", r.started_at},
          {"command", r.command},
          {"machine", toJson(r.machine)},
          {"broker_heap", r.broker_heap},
          {"broker_threads", r.broker_threads},
          {"settings", r.settings},
          {"warmup",
           {{"seconds", r.warmup.seconds},
            {"rounds", r.warmup.rounds},
            {"broker_jit_share_of_a_core_last_round",
             r.warmup.jit_share >= 0 ? nlohmann::json(r.warmup.jit_share) : nlohmann::json()},
            {"settled", r.warmup.settled},
            {"seconds_after_baselines", r.warmup.seconds_after_baselines},
            {"rounds_after_baselines", r.warmup.rounds_after_baselines}}},
          {"baselines",
           {{"kafka",
             {{"what", "raw librdkafka produce -> consume, idempotent, acks=all, read_committed"},
              {"rate", r.kafka.rate},
              {"sent", r.kafka.sent},
              {"received", r.kafka.received},
              {"errors", r.kafka.errors},
              {"payload_mean_bytes", r.kafka.payload_mean_bytes},
              {"latency", toJson(r.kafka.latency)},
              {"burst_messages", r.kafka.burst_messages},
              {"burst_seconds", r.kafka.burst_seconds},
              {"throughput_per_second", r.kafka.throughput}}},
            {"transactional",
             {{"what",
               "raw librdkafka produce -> TransactionalProcessor (routing's, copying each message: "
               "one transaction with its offsets per poll) -> read_committed consume"},
              {"rate", r.transactional.rate},
              {"sent", r.transactional.sent},
              {"received", r.transactional.received},
              {"errors", r.transactional.errors},
              {"transactions_aborted", r.transactional.transactions_aborted},
              {"payload_mean_bytes", r.transactional.payload_mean_bytes},
              {"latency", toJson(r.transactional.latency)},
              {"burst_messages", r.transactional.burst_messages},
              {"burst_seconds", r.transactional.burst_seconds},
              {"throughput_per_second", r.transactional.throughput}}},
            {"grpc",
             {{"what", "grpc.health.v1.Health/Check (unary) on lapor-intake"},
              {"target", r.grpc.target},
              {"latency", toJson(r.grpc.latency)},
              {"threads", r.grpc.threads},
              {"calls", r.grpc.calls},
              {"errors", r.grpc.errors},
              {"throughput_per_second", r.grpc.throughput}}}}},
          {"steps", steps},
          {"agencies",
           {{"acknowledged", r.acknowledged},
            {"ack_errors", r.ack_errors},
            {"ack_errors_by_code", ackErrorsJson(r)},
            {"stream_reconnects", r.stream_errors},
            {"confirm_errors", r.confirm_errors},
            {"orphan_deliveries", r.orphan_deliveries}}},
          {"lost_assignments", r.totalLost()},
          {"passed", r.passed()}};
}

std::string renderTable(const RunReport& r) {
  std::string out;
  auto line = [&](const std::string& s) { out += s + "\n"; };
  const auto& m = r.machine;
  line(fmt::format("Lapor benchmark, {}", r.started_at));
  line(fmt::format("machine: nproc {}, {}, {:.1f} GiB, {}; load average at start: {}", m.nproc,
                   m.cpu_model, m.mem_gib, m.kernel, m.load_average));
  line("command: " + r.command);
  if (!r.broker_heap.empty()) line("broker JVM heap: " + r.broker_heap);
  if (!r.broker_threads.empty()) line("broker request threads: " + r.broker_threads);
  if (r.warmup.rounds > 0)
    line(r.warmup.jit_share >= 0
             ? fmt::format("warm-up: {:.0f} s in {} rounds, and {:.0f} s in {} after the "
                           "baselines; the broker's JIT compilers used {:.0f}% of a core in the "
                           "last round ({})",
                           r.warmup.seconds, r.warmup.rounds, r.warmup.seconds_after_baselines,
                           r.warmup.rounds_after_baselines, r.warmup.jit_share * 100,
                           r.warmup.settled ? "settled" : "not settled: the limit came first")
             : fmt::format("warm-up: {:.0f} s (the broker's JIT not watched: no broker pid)",
                           r.warmup.seconds));
  line("");
  line(
      "Baselines (same broker, same run)                          p50     p90     p99   p99.9     "
      "max ms   throughput");
  const auto& k = r.kafka;
  line(
      fmt::format("  kafka hop  produce->consume, {:>5.0f} B at {:>6}  {:>7.2f} {:>7.2f} {:>7.2f} "
                  "{:>7.2f} {:>8.2f}   {:>8.0f} msg/s",
                  k.payload_mean_bytes, rate(k.rate), k.latency.p50, k.latency.p90, k.latency.p99,
                  k.latency.p999, k.latency.max, k.throughput));
  const auto& x = r.transactional;
  line(
      fmt::format("{:<42}{:>6}  {:>7.2f} {:>7.2f} {:>7.2f} {:>7.2f} {:>8.2f}   {:>8.0f} msg/s",
                  "  txn hop    consume->txn produce, at", rate(x.rate), x.latency.p50, x.latency.p90, x.latency.p99, x.latency.p999,
                  x.latency.max, x.throughput));
  const auto& g = r.grpc;
  line(
      fmt::format("  grpc call  health Check, one caller              {:>7.2f} {:>7.2f} {:>7.2f} "
                  "{:>7.2f} {:>8.2f}   {:>8.0f} calls/s ({} callers)",
                  g.latency.p50, g.latency.p90, g.latency.p99, g.latency.p999, g.latency.max,
                  g.throughput, g.threads));
  line("");
  const auto mode = [&](const char* key, const char* batch, const char* single) {
    return r.settings.contains(key) && r.settings[key] == "single" ? single : batch;
  };
  line(fmt::format(
      "Pipeline: {} -> on the stream of every agency the rules name, {} (latency from the "
      "scheduled send, ms)",
      mode("submit", "SubmitComplaints", "SubmitComplaint"),
      mode("acknowledge", "AcknowledgeBatch", "Acknowledge")));
  line(
      "step             inst  offered  unsent   sent/s   done/s  errors  lost | submit p50  p99 | "
      "delivered p50     p90     p99   p99.9     max | p50/kafka p99/kafka  p99/txn submit/rpc "
      "done/kafka");
  for (const auto& s : r.steps) {
    line(fmt::format(
        "{:<16} {:>4} {:>8} {:>7} {:>8.0f} {:>8.1f} {:>7} {:>5} | {:>10.2f} {:>5.1f} | {:>13.2f} "
        "{:>7.2f} {:>7.2f} {:>7.2f} {:>7.2f} | {:>9} {:>9} {:>8} {:>10} {:>10}",
        s.name, s.instances, rate(s.offered_rate), s.unsent, s.achieved_rate, s.throughput,
        s.errors, s.lost, s.submit.p50, s.submit.p99, s.delivered.p50, s.delivered.p90,
        s.delivered.p99, s.delivered.p999, s.delivered.max, ratio(s.delivered.p50, k.latency.p50),
        ratio(s.delivered.p99, k.latency.p99), ratio(s.delivered.p99, x.latency.p99),
        ratio(s.submit.p50, g.latency.p50),
        k.throughput > 0 ? fmt::format("{:.4f}", s.throughput / k.throughput) : "-"));
    // The step's EMERGENCY complaints alone: how many were accepted and delivered everywhere.
    const auto& e = s.emergency_delivered;
    line(fmt::format(
        "{:<16} {:>53} | {:>10.2f} {:>5.1f} | {:>13.2f} {:>7.2f} {:>7.2f} {:>7.2f} {:>7.2f} | {:>9} "
        "{:>9} {:>8} {:>10} {:>10}",
        "  emergency", fmt::format("{} of {} delivered", e.count, s.emergency_accepted),
        s.emergency_submit.p50, s.emergency_submit.p99, e.p50, e.p90, e.p99, e.p999, e.max,
        ratio(e.p50, k.latency.p50), ratio(e.p99, k.latency.p99), ratio(e.p99, x.latency.p99),
        ratio(s.emergency_submit.p50, g.latency.p50), "-"));
  }
  line("");
  line(
      "Stages per assignment (wall clock, ms)  accepted -> dispatched by routing      dispatched "
      "-> read from the agency stream");
  line(
      "step                                      p50     p99     max                  p50     p99  "
      "   max");
  for (const auto& s : r.steps) {
    line(fmt::format("{:<38} {:>7.1f} {:>7.1f} {:>7.1f}              {:>7.1f} {:>7.1f} {:>7.1f}",
                     s.name, s.to_dispatch.p50, s.to_dispatch.p99, s.to_dispatch.max,
                     s.to_stream.p50, s.to_stream.p99, s.to_stream.max));
    line(fmt::format("  {:<36} {:>7.1f} {:>7.1f} {:>7.1f}              {:>7.1f} {:>7.1f} {:>7.1f}",
                     "emergency", s.emergency_to_dispatch.p50, s.emergency_to_dispatch.p99,
                     s.emergency_to_dispatch.max, s.emergency_to_stream.p50,
                     s.emergency_to_stream.p99, s.emergency_to_stream.max));
  }
  line("");
  // Short names for the lifecycle topic's readers, in the order of the table.
  static const std::vector<std::pair<std::string, std::string>> readers{
      {"lapor-intake-view", "view"},
      {"lapor-intake-notify", "notices"},
      {"lapor-routing", "routing"},
      {"lapor-notification", "notification"},
      {"lapor-sla-monitor", "sla-monitor"}};
  std::string rhead = fmt::format("{:<38}", "Lifecycle events unread at last delivery");
  for (const auto& [group, name] : readers) rhead += fmt::format(" {:>12}", name);
  line(rhead + "   all read after");
  for (const auto& s : r.steps) {
    std::string row = fmt::format("{:<38}", s.name);
    for (const auto& [group, name] : readers) {
      auto it = s.readers_behind.find(group);
      row += it == s.readers_behind.end() || it->second < 0 ? fmt::format(" {:>12}", "-")
                                                            : fmt::format(" {:>12}", it->second);
    }
    row += s.readers_caught_up_seconds < 0
               ? "   not in the drain time"
               : fmt::format("   {:>8.1f} s", s.readers_caught_up_seconds);
    line(row);
  }
  line("");
  line("Acknowledge (agency call -> answer, ms)      p50     p90     p99     max   errors");
  for (const auto& s : r.steps)
    line(fmt::format("{:<38} {:>7.1f} {:>7.1f} {:>7.1f} {:>7.1f} {:>8}", s.name, s.acknowledge.p50,
                     s.acknowledge.p90, s.acknowledge.p99, s.acknowledge.max, s.ack_errors));
  line("");
  std::string head = fmt::format("{:<16} {:>9}", "CPU s / 1000", "complaints");
  for (const auto& c : cpuColumns()) head += fmt::format(" {:>12}", c);
  line(head);
  for (const auto& s : r.steps) {
    std::string row = fmt::format("{:<16} {:>9}", s.name, s.completed);
    for (const auto& c : cpuColumns()) {
      auto it = s.cpu_seconds.find(c);
      row +=
          it == s.cpu_seconds.end() || s.completed == 0
              ? fmt::format(" {:>12}", "-")
              : fmt::format(" {:>12.3f}", perComplaint(it->second * 1000.0, s));
    }
    line(row);
  }
  line("");
  // The machine's other work shows here: the same code runs slower while its threads wait.
  line("Machine during the step   a thread waited for a core (/proc/pressure/cpu some)");
  for (const auto& s : r.steps)
    line(s.cpu_pressure < 0 ? fmt::format("{:<26} {:>10}", s.name, "-")
                            : fmt::format("{:<26} {:>9.1f}% of the time", s.name,
                                          100.0 * s.cpu_pressure));
  line("");
  line("Redis per complaint   commands (scripts' included)   script calls   reads (~ round trips)"
       "   bytes in");
  for (const auto& s : r.steps) {
    if (!s.redis_measured || s.completed == 0) {
      line(fmt::format("{:<20} {:>31}", s.name, "-"));
      continue;
    }
    line(fmt::format("{:<20} {:>31.1f} {:>14.2f} {:>23.2f} {:>10.0f}", s.name,
                     perComplaint(static_cast<double>(s.redis.commands), s),
                     perComplaint(static_cast<double>(s.redis.script_calls), s),
                     perComplaint(static_cast<double>(s.redis.reads), s),
                     perComplaint(static_cast<double>(s.redis.bytes_in), s)));
  }
  line("");
  uint64_t expected = 0, late = 0;
  for (const auto& s : r.steps) {
    expected += s.expected_assignments;
    late += s.late;
  }
  line(
      fmt::format("lost: {} of {} expected assignments ({} late, after their step's drain time); "
                  "acknowledged {} (errors {}); stream reconnects {}; failed confirmations {}; "
                  "orphan deliveries {}",
                  r.totalLost(), expected, late, r.acknowledged, r.ack_errors, r.stream_errors,
                  r.confirm_errors, r.orphan_deliveries));
  for (const auto& [code, e] : r.ack_errors_by_code)
    line(fmt::format("  acknowledge {}: {} (e.g. \"{}\")", code, e.first, e.second));
  line(r.passed() ? "result: PASS (nothing lost, every step completed complaints)"
                  : "result: FAIL (a complaint was lost or a step completed nothing)");
  return out;
}

}  // namespace lapor::bench
