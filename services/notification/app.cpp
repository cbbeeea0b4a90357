// Builds notification's parts; it reads the dispatch topic of every agency in the directory,
// and the lifecycle topic for the reporter's answers to agencies' questions.
#include "app.h"

namespace lapor::notification {

namespace {
std::vector<std::string> dispatchTopics(const agencies::AgencyDirectory& d) {
  std::vector<std::string> out;
  for (const auto& a : d.agencies()) out.push_back(kafka::dispatchTopic(a.id));
  out.push_back(kafka::kEmergencyDispatchTopic);
  return out;
}

kafka::ConsumerOptions consumerOptions(const config::Config& cfg, const app::ServiceSettings& s,
                                       const agencies::AgencyDirectory& d) {
  auto topics = dispatchTopics(d);
  topics.push_back(kafka::kComplaintsTopic);
  auto o = s.consumer(cfg.getString("kafka", "group", "lapor-notification"), topics);
  // Routing writes dispatch topics in transactions: never show an agency an aborted item.
  o.read_committed = true;
  // Agency topics have one partition each by default (kafka.dispatch_partitions): instances
  // share them topic by topic.
  o.assignment_strategy = "roundrobin,range";
  o.lane_topics = {kafka::kEmergencyDispatchTopic};
  return o;
}

StreamSettings streamSettings(const config::Config& cfg) {
  StreamSettings s;
  s.window = static_cast<int>(cfg.getInt("stream", "window", 100, 1, 10'000));
  s.window_bytes =
      static_cast<size_t>(cfg.getInt("stream", "window_bytes", 48 * 1024, 1024, 64 * 1024 * 1024));
  s.stall_timeout = cfg.getDuration("stream", "stall_timeout", std::chrono::seconds(30));
  return s;
}

KafkaDeliverySettings kafkaDeliverySettings(const config::Config& cfg) {
  KafkaDeliverySettings k;
  k.poll_interval = cfg.getDuration("delivery", "kafka_poll_interval", std::chrono::seconds(2));
  if (k.poll_interval < std::chrono::milliseconds(100) || k.poll_interval > std::chrono::hours(1))
    throw cfg.error("delivery", "kafka_poll_interval", "must be between 100ms and 1h");
  k.max_per_pass =
      static_cast<int>(cfg.getInt("delivery", "kafka_max_per_pass", 500, 1, 100'000));
  return k;
}

kafka::GroupOffsetsOptions groupOffsetsOptions(const app::ServiceSettings& s) {
  const auto p = s.producer();
  kafka::GroupOffsetsOptions o;
  o.brokers = p.brokers;
  o.client_id = p.client_id + "-group-offsets";
  o.security = p.security;  // the brokers may require TLS or SASL of every client
  o.extra = p.extra;
  return o;
}

std::filesystem::file_time_type mtime(const std::string& path) {
  std::error_code ec;
  auto t = std::filesystem::last_write_time(path, ec);
  return ec ? std::filesystem::file_time_type{} : t;
}
}  // namespace

NotificationApp::NotificationApp(const config::Config& cfg, const app::ServiceSettings& s,
                                 log::Logger logger, const app::CommandLine& cl)
    : log_(logger),
      config_path_(cl.config_path),
      config_mtime_(mtime(cl.config_path)),
      directory_(
          agencies::AgencyDirectory::loadFile(cfg.getPath("agencies", "file", "agencies.yaml"))),
      access_(parseAccess(cfg, directory_)),
      kafka_delivery_settings_(kafkaDeliverySettings(cfg)),
      exposer_(s.metrics_address),
      metrics_(exposer_.registry()),
      webhook_metrics_(exposer_.registry()),
      redis_(s.redis, logger),
      consumer_redis_(s.redis, logger),
      webhook_redis_(s.redis, logger),
      maintenance_redis_(s.redis, logger),
      kafka_delivery_redis_(s.redis, logger),
      producer_(s.producer(), logger),
      produce_timeout_(s.produce_timeout + std::chrono::seconds(1)),
      maintenance_interval_(
          cfg.getDuration("agencies", "reload_interval", std::chrono::seconds(2))),
      store_(redis_, producer_, clock_, logger, produce_timeout_),
      consumer_store_(consumer_redis_, producer_, clock_, logger, produce_timeout_),
      webhook_store_(webhook_redis_, producer_, clock_, logger, produce_timeout_),
      maintenance_store_(maintenance_redis_, producer_, clock_, logger, produce_timeout_),
      kafka_delivery_store_(kafka_delivery_redis_, producer_, clock_, logger, produce_timeout_),
      dispatch_(directory_, access_, consumer_store_, logger, metrics_),
      lifecycle_(consumer_store_, logger),
      agency_service_(directory_, access_, store_, s.redis, clock_, logger, metrics_,
                      streamSettings(cfg)),
      webhooks_(webhook_store_, access_, producer_, clock_, logger, webhook_metrics_,
                metrics_.delivered, produce_timeout_,
                cfg.getDuration("webhook", "poll_interval", std::chrono::milliseconds(200))),
      kafka_delivery_metrics_(exposer_.registry()),
      group_offsets_(groupOffsetsOptions(s), logger),
      kafka_delivery_(directory_, kafka_delivery_store_, group_offsets_, logger, metrics_,
                      kafka_delivery_metrics_, kafka_delivery_settings_),
      consumer_(consumerOptions(cfg, s, directory_), producer_, logger, &exposer_.registry()) {
  auto topics = dispatchTopics(directory_);
  topics.push_back(kafka::kComplaintsTopic);
  topics.push_back(kafka::kDeadLetterTopic);
  s.ensureTopics(topics);
  consumer_.startBatches([this](const std::vector<kafka::Message>& batch) {
    // Dispatch items together (one Redis round trip), lifecycle events one by one; the results
    // in the order read.
    std::vector<kafka::Message> dispatches;
    for (const auto& m : batch)
      if (m.topic != kafka::kComplaintsTopic) dispatches.push_back(m);
    auto dispatched = dispatch_.handleBatch(dispatches);
    std::vector<kafka::HandleResult> out;
    size_t next = 0;
    for (const auto& m : batch)
      out.push_back(m.topic == kafka::kComplaintsTopic ? lifecycle_.handle(m)
                                                        : std::move(dispatched[next++]));
    return out;
  });
  // The agencies' calls take their produced events out of the outbox together (docs/
  // agencies.md, configuration.md); 0s: each call its own.
  const auto mark_interval =
      cfg.getDuration("outbox", "mark_interval", std::chrono::milliseconds(50));
  if (mark_interval < std::chrono::milliseconds(0) || mark_interval > std::chrono::seconds(10))
    throw cfg.error("outbox", "mark_interval", "give 0s to 10s");
  const auto max_pending =
      static_cast<size_t>(cfg.getInt("outbox", "max_pending_marks", 10'000, 1, 1'000'000));
  if (mark_interval.count() > 0) store_.deferMarks(mark_interval, max_pending);
  webhooks_.start();
  kafka_delivery_.start();
  server_ = std::make_unique<grpcx::GrpcServer>(
      s.grpc,
      std::vector<grpcx::ServiceEntry>{{&agency_service_, v1::AgencyService::service_full_name()}},
      logger);
  // Last: a server that cannot listen throws above, and the service ends with its reason (a
  // plain thread started before would end it with std::terminate instead).
  maintenance_thread_ = std::thread([this] { maintenance(); });
}

NotificationApp::~NotificationApp() {
  stop();
}

void NotificationApp::reload() {
  try {
    auto cfg = config::Config::load(config_path_);
    access_.replace(parseAccess(cfg, directory_));
    log_.info("agency access reloaded", {{"config", cfg.source()}});
  } catch (const std::exception& e) {
    log_.error("agency access not reloaded, the previous one stays", {{"error", e.what()}});
  }
}

// Publishes outbox events left behind (a crash or a broker outage between a state change and
// its event) and picks up edits of the config file's access section.
void NotificationApp::maintenance() {
  std::unique_lock lk(mu_);
  while (!cv_.wait_for(lk, maintenance_interval_, [this] { return stopping_; })) {
    lk.unlock();
    try {
      maintenance_store_.flushOutbox(produce_timeout_ * 2);
    } catch (const std::exception& e) {
      log_.warn("outbox pass failed, retrying", {{"error", e.what()}});
    }
    if (!config_path_.empty()) {
      auto t = mtime(config_path_);
      if (t != config_mtime_) {
        config_mtime_ = t;
        reload();
      }
    }
    lk.lock();
  }
}

void NotificationApp::stop() {
  {
    std::lock_guard lk(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (maintenance_thread_.joinable()) maintenance_thread_.join();
  if (server_) server_->shutdown(std::chrono::seconds(3));
  agency_service_.stop();
  webhooks_.stop();
  kafka_delivery_.stop();
  consumer_.stop();
  producer_.flush(std::chrono::seconds(10));
}

}  // namespace lapor::notification
