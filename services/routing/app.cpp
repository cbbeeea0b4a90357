// Builds routing's parts; topics for every agency exist before the first dispatch.
#include "app.h"

#include "events/names.h"

#include <unistd.h>

namespace lapor::routing {

namespace {
std::string instanceId(const config::Config& cfg) {
  auto id = cfg.getString("routing", "instance_id", "");
  if (!id.empty()) return id;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return host;
}

// routing.delivery: how dispatches and the lifecycle events beside them are written
// (docs/configuration.md; the trade-off with numbers in docs/performance.md).
kafka::Delivery deliveryOf(const config::Config& cfg) {
  const auto d = cfg.getString("routing", "delivery", "idempotent");
  if (d == "transactions") return kafka::Delivery::Transactions;
  if (d == "idempotent") return kafka::Delivery::Idempotent;
  throw cfg.error("routing", "delivery", "give transactions or idempotent, not '" + d + "'");
}

kafka::TransactionalOptions processorOptions(const config::Config& cfg,
                                             const app::ServiceSettings& s) {
  auto c = s.consumer(cfg.getString("kafka", "group", "lapor-routing"),
                      {kafka::kComplaintsTopic, kCommandsTopic, kafka::kEmergencySubmittedTopic});
  kafka::TransactionalOptions o;
  o.delivery = deliveryOf(cfg);
  o.brokers = c.brokers;
  o.security = c.security;
  o.group_id = c.group_id;
  o.topics = c.topics;
  o.lane_topics = {kafka::kEmergencySubmittedTopic};
  o.client_id = c.client_id;
  o.service = c.service;
  const auto instance = instanceId(cfg);
  o.transactional_id = "lapor-routing-" + instance;
  o.group_instance_id = cfg.getBool("kafka", "static_membership", true) ? o.transactional_id : "";
  o.session_timeout = cfg.getDuration("kafka", "session_timeout", o.session_timeout);
  o.transaction_timeout = cfg.getDuration("kafka", "transaction_timeout", o.transaction_timeout);
  o.max_batch = static_cast<size_t>(cfg.getInt("routing", "max_batch", 5000, 1, 10'000));
  o.fetch_wait_max = c.fetch_wait_max;
  o.fetch_min_bytes = c.fetch_min_bytes;
  o.linger_ms = s.linger_ms;
  o.idle_commit_interval =
      cfg.getDuration("kafka", "idle_commit_interval", o.idle_commit_interval);
  if (o.idle_commit_interval < std::chrono::milliseconds(10) ||
      o.idle_commit_interval > std::chrono::minutes(1))
    throw cfg.error("kafka", "idle_commit_interval", "give 10ms to 1m");
  o.commit_interval = cfg.getDuration("kafka", "commit_interval", o.commit_interval);
  if (o.commit_interval < std::chrono::milliseconds(0) ||
      o.commit_interval > std::chrono::minutes(1))
    throw cfg.error("kafka", "commit_interval", "give 0 to 1m");
  o.retry_backoff = cfg.getDuration("kafka", "transaction_retry_backoff", o.retry_backoff);
  if (o.retry_backoff < std::chrono::milliseconds(1) || o.retry_backoff > std::chrono::seconds(5))
    throw cfg.error("kafka", "transaction_retry_backoff", "give 1ms to 5s");
  return o;
}
VerificationPolicy verificationPolicy(const config::Config& cfg,
                                      const agencies::AgencyDirectory& directory) {
  try {
    return VerificationPolicy::parse(
        cfg.getString("verification", "channels", "web,app,sms,open311,external"),
        cfg.getString("verification", "skip_categories", ""), directory);
  } catch (const std::invalid_argument& e) {
    throw config::ConfigError(e.what());
  }
}
}  // namespace

RoutingApp::RoutingApp(const config::Config& cfg, const app::ServiceSettings& s, log::Logger logger,
                       const app::CommandLine&)
    : log_(logger),
      rules_path_(cfg.getPath("agencies", "file", "agencies.yaml")),
      directory_(agencies::AgencyDirectory::loadFile(rules_path_)),
      rules_(std::make_shared<const RuleSet>(RuleSet::fromDirectory(directory_))),
      exposer_(s.metrics_address),
      metrics_(exposer_.registry()),
      redis_(s.redis, logger),
      store_(redis_, cfg.getDuration("routing", "state_ttl", std::chrono::hours(24 * 30))),
      router_(static_cast<int>(cfg.getInt("routing", "max_reroutes", 2, 0, 20)),
              verificationPolicy(cfg, directory_)),
      commands_(s.producer(), logger),
      handler_(rules_, store_, router_, clock_, logger, metrics_),
      operators_(auth::operatorAccessFrom(cfg, logger)),
      admin_(rules_, directory_, store_, commands_, clock_, *operators_,
             s.produce_timeout + std::chrono::seconds(1)),
      processor_(processorOptions(cfg, s), logger, &exposer_.registry()) {
  std::error_code ec;
  loaded_mtime_ = std::filesystem::last_write_time(rules_path_, ec);
  std::vector<std::string> topics{kafka::kComplaintsTopic, kafka::kDeadLetterTopic, kCommandsTopic,
                                  kafka::kEmergencySubmittedTopic,
                                  kafka::kEmergencyDispatchTopic};
  for (const auto& a : directory_.agencies()) topics.push_back(kafka::dispatchTopic(a.id));
  s.ensureTopics(topics);
  std::string held;
  for (auto c : router_.verificationChannels())
    held += (held.empty() ? "" : ",") + events::channelName(c);
  log_.info("verification", {{"channels", held.empty() ? "none" : held}});
  log_.info("dispatch delivery",
            {{"mode", deliveryOf(cfg) == kafka::Delivery::Transactions ? "transactions"
                                                                        : "idempotent"}});
  log_.info("rules loaded", {{"source", rules_path_},
                             {"version", rules_.get()->version()},
                             {"rules", rules_.get()->size()}});
  processor_.start(kafka::TransformBatchHandler(
      [this](const std::vector<kafka::Message>& batch) { return handler_.handleBatch(batch); }));
  server_ = std::make_unique<grpcx::GrpcServer>(
      s.grpc, std::vector<grpcx::ServiceEntry>{{&admin_, v1::RoutingAdmin::service_full_name()}},
      logger);
  const auto interval = cfg.getDuration("routing", "reload_interval", std::chrono::seconds(2));
  if (interval.count() > 0) watcher_ = std::thread([this, interval] { watchFile(interval); });
}

RoutingApp::~RoutingApp() {
  {
    std::lock_guard lk(watch_mu_);
    stopping_ = true;
  }
  watch_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

void RoutingApp::watchFile(std::chrono::milliseconds interval) {
  std::unique_lock lk(watch_mu_);
  while (!watch_cv_.wait_for(lk, interval, [this] { return stopping_; })) {
    std::error_code ec;
    auto mtime = std::filesystem::last_write_time(rules_path_, ec);
    if (ec) continue;
    {
      std::lock_guard rl(reload_mu_);
      if (mtime == loaded_mtime_) continue;
    }
    lk.unlock();
    reload();
    lk.lock();
  }
}

void RoutingApp::reload() {
  operators_->reload();
  std::lock_guard lk(reload_mu_);
  std::error_code ec;
  // Remember the file's time even when it is refused: the same bad file is reported once.
  loaded_mtime_ = std::filesystem::last_write_time(rules_path_, ec);
  try {
    auto dir = agencies::AgencyDirectory::loadFile(rules_path_);
    auto rules = std::make_shared<const RuleSet>(RuleSet::fromDirectory(dir));
    for (const auto& a : dir.agencies())
      if (!directory_.find(a.id))
        throw agencies::DirectoryError(rules_path_ + ": new agency '" + a.id +
                                       "' needs a restart (its dispatch topic)");
    // Rules change between two messages: each decision uses one whole rule set, and its
    // version is written into the event it produced.
    rules_.set(rules);
    metrics_.reloads.Add({{"outcome", "applied"}}).Increment();
    log_.info("rules reloaded", {{"version", rules->version()}, {"rules", rules->size()}});
  } catch (const std::exception& e) {
    metrics_.reloads.Add({{"outcome", "refused"}}).Increment();
    log_.error("rules reload refused, keeping the old rules", {{"error", e.what()}});
  }
}

void RoutingApp::stop() {
  {
    std::lock_guard lk(watch_mu_);
    stopping_ = true;
  }
  watch_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
  server_->shutdown(std::chrono::seconds(5));
  processor_.stop();
  commands_.flush(std::chrono::seconds(10));
}

}  // namespace lapor::routing
