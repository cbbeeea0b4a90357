// Builds intake's parts in dependency order; stop() takes them down in reverse.
#include "app.h"

#include "app/run_service.h"
#include "view_rebuilder.h"

namespace lapor::intake {

ResponseTimes responseTimesFrom(const config::Config& cfg) {
  using namespace std::chrono;
  std::map<v1::Priority, ResponseTarget> t;
  auto target = [&](const char* key, milliseconds def, bool working_days) {
    auto d = cfg.getDuration("expected_response", key, def);
    if (d <= milliseconds(0)) throw cfg.error("expected_response", key, "must be positive");
    if (working_days && d % hours(24) != milliseconds(0))
      throw cfg.error("expected_response", key, "counts working days: give whole days (e.g. 3d)");
    return ResponseTarget{d, working_days};
  };
  // docs/deadlines.md: emergencies are acknowledged within 60 s (wall clock); everything else is verified
  // and passed to an agency within 3 working days.
  t[v1::PRIORITY_EMERGENCY] = target("emergency", seconds(60), false);
  t[v1::PRIORITY_HIGH] = target("high", hours(72), true);
  t[v1::PRIORITY_NORMAL] = target("normal", hours(72), true);
  t[v1::PRIORITY_LOW] = target("low", hours(72), true);
  const auto offset = cfg.getInt("expected_response", "utc_offset_minutes", 480, -720, 840);
  return ResponseTimes(std::move(t), static_cast<int>(offset));
}

namespace {
SubmissionSettings submissionSettings(const config::Config& cfg, const app::ServiceSettings& s) {
  SubmissionSettings out;
  out.produce_timeout = s.produce_timeout + std::chrono::seconds(1);
  out.idempotency_ttl = cfg.getDuration("intake", "idempotency_ttl", std::chrono::hours(24 * 7));
  out.limits.description_max =
      static_cast<size_t>(cfg.getInt("intake", "description_max", 4000, 1, 100'000));
  out.fault_exit_after_ack = cfg.getBool("intake", "fault_exit_after_ack", false);
  return out;
}

Open311Options open311Options(const config::Config& cfg) {
  Open311Options o;
  o.host = cfg.getString("open311", "host", "127.0.0.1");
  o.port = static_cast<int>(cfg.getInt("open311", "port", 0, 0, 65535));
  o.utc_offset_minutes =
      static_cast<int>(cfg.getInt("expected_response", "utc_offset_minutes", 480, -720, 840));
  o.max_body_bytes = static_cast<size_t>(
      cfg.getInt("open311", "max_body_bytes", 64 * 1024, 1024, 16 * 1024 * 1024));
  o.contact = cfg.getString("open311", "contact", o.contact);
  o.key_service = cfg.getString("open311", "key_service", o.key_service);
  return o;
}
}  // namespace

IntakeApp::IntakeApp(const config::Config& cfg, const app::ServiceSettings& s, log::Logger logger,
                     const app::CommandLine&)
    : log_(logger),
      directory_(
          agencies::AgencyDirectory::loadFile(cfg.getPath("agencies", "file", "agencies.yaml"))),
      exposer_(s.metrics_address),
      metrics_(exposer_.registry()),
      publishers_(PublisherRegistry::fromConfig(cfg)),
      response_times_(responseTimesFrom(cfg)),
      redis_(s.redis, logger),
      view_redis_(s.redis, logger),
      read_redis_(s.redis, logger),
      producer_(s.producer(), logger),
      submissions_(directory_, redis_, producer_, clock_, logger, metrics_, publishers_,
                   response_times_, submissionSettings(cfg, s)),
      views_(read_redis_, response_times_),
      operators_(auth::operatorAccessFrom(cfg, logger)),
      handler_(submissions_, views_, read_redis_, producer_, clock_, logger,
               s.produce_timeout + std::chrono::seconds(1), publishers_, *operators_),
      view_(view_redis_, logger, metrics_),
      view_consumer_(s.consumer(cfg.getString("kafka", "view_group", "lapor-intake-view"),
                                {kafka::kComplaintsTopic}),
                     producer_, logger, &exposer_.registry()),
      notify_redis_(s.redis, logger),
      notify_send_redis_(s.redis, logger),
      notify_metrics_(exposer_.registry()) {
  // Where topics are created by operators (ACLs in production) intake need not reach Kafka to
  // start; it then answers UNAVAILABLE until the broker acknowledges.
  if (cfg.getBool("kafka", "create_topics", true))
    s.ensureTopics({kafka::kComplaintsTopic, kafka::kEmergencySubmittedTopic, kafka::kDeadLetterTopic});
  view_consumer_.startBatches(
      [this](const std::vector<kafka::Message>& batch) { return view_.handleBatch(batch); });
  // Reporter notifications: their own consumer group, so the view never waits for a mail server.
  if (cfg.getBool("notify", "enabled", true)) {
    auto ns = notifySettingsFrom(cfg);
    ns.produce_timeout = s.produce_timeout + std::chrono::seconds(1);
    notifier_ = std::make_unique<ReporterNotifier>(notify_redis_, notify_send_redis_, producer_,
                                                   clock_, logger, notify_metrics_, std::move(ns));
    notify_consumer_ = std::make_unique<kafka::Consumer>(
        s.consumer(cfg.getString("kafka", "notify_group", "lapor-intake-notify"),
                   {kafka::kComplaintsTopic}),
        producer_, logger, &exposer_.registry());
    notify_consumer_->startBatches(
        [this](const std::vector<kafka::Message>& batch) { return notifier_->handleBatch(batch); });
    notifier_->start();
  } else {
    log_.info("reporter notifications are off", {{"enable_with", "notify.enabled"}});
  }
  if (cfg.getBool("open311", "enabled", true))
    open311_ = std::make_unique<Open311Server>(open311Options(cfg), submissions_, views_, clock_,
                                               metrics_, logger);
  server_ = std::make_unique<grpcx::GrpcServer>(
      s.grpc, std::vector<grpcx::ServiceEntry>{{&grpc_service_, v1::IntakeService::service_full_name()}},
      logger);
  log_.info("intake ready",
            {{"grpc_port", server_->port()}, {"open311_port", open311_ ? open311_->port() : 0}});
}

void IntakeApp::stop() {
  handler_.stopStreams();
  if (open311_) open311_->stop();
  server_->shutdown(std::chrono::seconds(5));
  view_consumer_.stop();
  if (notify_consumer_) notify_consumer_->stop();
  if (notifier_) notifier_->stop();
  producer_.flush(std::chrono::seconds(10));
}

int rebuildMain(const app::CommandLine& cl) {
  log::Logger boot("intake");
  try {
    auto cfg = config::Config::load(cl.config_path);
    auto s = app::ServiceSettings::load(cfg, "intake");
    log::Logger logger("intake", s.log_level);
    prometheus::Registry registry;
    IntakeMetrics metrics(registry);
    redis::RedisClient redis(s.redis, logger);
    ViewHandler handler(redis, logger, metrics);
    auto stats =
        rebuildView(s.kafka_brokers, s.kafka_security, redis, handler, logger,
                    cfg.getDuration("intake", "rebuild_timeout", std::chrono::minutes(10)));
    logger.info("tracking view rebuilt", {{"events", stats.events},
                                          {"undecodable", stats.undecodable},
                                          {"keys_dropped", stats.keys_dropped}});
    return 0;
  } catch (const config::ConfigError& e) {
    boot.error("invalid configuration", {{"error", e.what()}});
    return 2;
  } catch (const std::exception& e) {
    boot.error("rebuilding the view failed", {{"error", e.what()}});
    return 1;
  }
}

}  // namespace lapor::intake
