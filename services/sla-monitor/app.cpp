// Builds the monitor's parts; timers live in Redis, so a restart picks up where it left off.
#include "app.h"

#include <prometheus/gauge.h>

#include <fstream>
#include <sstream>

namespace lapor::sla {

namespace {

SchedulerOptions schedulerOptions(const config::Config& cfg, const app::ServiceSettings& s,
                                  const agencies::AgencyDirectory& dir) {
  SchedulerOptions o;
  o.tick = cfg.getDuration("sla", "tick", std::chrono::milliseconds(250));
  if (o.tick.count() <= 0) throw cfg.error("sla", "tick", "must be positive");
  o.produce_timeout = s.produce_timeout + std::chrono::seconds(1);
  o.emergency_desk = cfg.getString("sla", "emergency_desk", "ncc-112");
  if (!o.emergency_desk.empty() && !dir.find(o.emergency_desk))
    throw cfg.error("sla", "emergency_desk", "'" + o.emergency_desk + "' is not an agency");
  o.compliance_window = cfg.getDuration("sla", "compliance_window", std::chrono::hours(24 * 30));
  if (o.compliance_window.count() <= 0)
    throw cfg.error("sla", "compliance_window", "must be positive");
  o.max_redispatches = static_cast<int>(cfg.getInt("sla", "max_redispatches", 2, 0, 10));
  o.owner_check_interval =
      cfg.getDuration("sla", "owner_check_interval", std::chrono::seconds(30));
  if (o.owner_check_interval < std::chrono::milliseconds(100))
    throw cfg.error("sla", "owner_check_interval", "must be at least 100ms");
  o.owner_check_batch =
      static_cast<size_t>(cfg.getInt("sla", "owner_check_batch", 10'000, 100, 10'000'000));
  return o;
}

// The directory, with the agencies and categories the deadline overrides name checked, before
// anything connects anywhere.
agencies::AgencyDirectory directoryFor(const config::Config& cfg, const SlaPolicy& policy) {
  auto dir = agencies::AgencyDirectory::loadFile(cfg.getPath("agencies", "file", "agencies.yaml"));
  if (auto why = checkOverrideNames(policy.overrides, dir); !why.empty())
    throw cfg.error("sla", "overrides", why);
  return dir;
}

std::chrono::seconds retention(const config::Config& cfg) {
  auto r = cfg.getDuration("sla", "retention", std::chrono::hours(24 * 120));
  if (r < std::chrono::hours(1)) throw cfg.error("sla", "retention", "must be at least 1h");
  return std::chrono::duration_cast<std::chrono::seconds>(r);
}

// The monthly counters count in the regency's months and are kept `sla.summary_retention`.
SummaryOptions summaryOptions(const config::Config& cfg, const WorkCalendar& cal) {
  auto r = cfg.getDuration("sla", "summary_retention", std::chrono::hours(24 * 400));
  if (r < std::chrono::hours(24 * 31))
    throw cfg.error("sla", "summary_retention", "must be at least 31d (a whole month)");
  return {[&cal](int64_t ms) { return monthOf(ms, cal); },
          std::chrono::duration_cast<std::chrono::seconds>(r)};
}

}  // namespace

WorkCalendar calendarFromConfig(const config::Config& cfg) {
  const auto zone = cfg.getString("calendar", "zone", "Asia/Makassar");
  const auto file = cfg.getPath("calendar", "holidays_file", "");
  std::vector<std::string> holidays;
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) throw cfg.error("calendar", "holidays_file", "cannot read '" + file + "'");
    std::stringstream text;
    text << in.rdbuf();
    try {
      holidays = parseHolidayList(text.str());
    } catch (const CalendarError& e) {
      throw cfg.error("calendar", "holidays_file", file + ": " + e.what());
    }
  }
  try {
    return WorkCalendar(zone, holidays);
  } catch (const CalendarError& e) {
    throw cfg.error("calendar", "zone", e.what());
  }
}

SlaMonitorApp::SlaMonitorApp(const config::Config& cfg, const app::ServiceSettings& s,
                             log::Logger logger, const app::CommandLine&)
    : log_(logger),
      policy_(SlaPolicy::fromConfig(cfg)),
      calendar_(calendarFromConfig(cfg)),
      directory_(directoryFor(cfg, policy_)),
      exposer_(s.metrics_address),
      metrics_(exposer_.registry()),
      redis_(s.redis, logger),
      store_(redis_, retention(cfg), summaryOptions(cfg, calendar_)),
      producer_(s.producer(), logger),
      handler_(store_, policy_, calendar_, logger, metrics_),
      scheduler_(store_, producer_, clock_, directory_, calendar_, logger, metrics_,
                 schedulerOptions(cfg, s, directory_)),
      operators_(auth::operatorAccessFrom(cfg, logger)),
      service_(store_, clock_, *operators_, directory_, calendar_),
      consumer_(s.consumer(cfg.getString("kafka", "group", "lapor-sla-monitor"),
                           {kafka::kComplaintsTopic}),
                producer_, logger, &exposer_.registry()) {
  // Escalations go to supervisors' dispatch topics, so every agency's topic must exist.
  std::vector<std::string> topics{kafka::kComplaintsTopic, kafka::kDeadLetterTopic};
  for (const auto& a : directory_.agencies()) topics.push_back(kafka::dispatchTopic(a.id));
  s.ensureTopics(topics);
  log_.info("calendar", {{"zone", calendar_.zoneName()},
                         {"holidays", static_cast<int64_t>(calendar_.holidayCount())}});
  // Past the last year of the holiday list only weekends are skipped: say so ahead of time
  // (and the alert LaporHolidayListEndsSoon watches this gauge).
  const auto known_until = calendar_.holidaysKnownUntilMs();
  prometheus::BuildGauge()
      .Name("lapor_sla_monitor_holidays_known_until_timestamp_seconds")
      .Help("End of the last year calendar.holidays_file names a holiday in (0: no list)")
      .Register(exposer_.registry())
      .Add({})
      .Set(static_cast<double>(known_until) / 1000.0);
  if (known_until - clock_.nowMs() < int64_t{30} * 24 * 3600 * 1000)
    log_.warn("the holiday list ends within 30 days; add next year's national holidays and "
              "cuti bersama to calendar.holidays_file",
              {{"known_until_ms", known_until}});
  consumer_.startBatches(
      [this](const std::vector<kafka::Message>& batch) { return handler_.handleBatch(batch); });
  scheduler_.start();
  server_ = std::make_unique<grpcx::GrpcServer>(
      s.grpc, std::vector<grpcx::ServiceEntry>{{&service_, v1::SlaService::service_full_name()}},
      logger);
}

void SlaMonitorApp::stop() {
  server_->shutdown(std::chrono::seconds(5));
  scheduler_.stop();
  consumer_.stop();
  producer_.flush(std::chrono::seconds(10));
}

}  // namespace lapor::sla
