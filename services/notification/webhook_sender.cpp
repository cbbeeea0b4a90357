// A job is claimed by moving its due time one lease ahead (atomically, only when it is due), so
// a sender that dies mid-request leaves the job to be tried again after the lease.
#include "webhook_sender.h"

#include "events/envelope.h"
#include "lapor/v1/agency_service.pb.h"
#include "producer.h"
#include "webhook/webhook_signature.h"

#include <google/protobuf/util/json_util.h>
#include <httplib.h>

#include <cstdlib>
#include <random>
#include <regex>

namespace lapor::notification {

namespace {
// KEYS: due. ARGV: job id, now, lease until
constexpr const char* kClaim = R"lua(
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not s or tonumber(s) > tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
)lua";

struct Url {
  std::string base;  // scheme://host:port
  std::string path;
};
std::optional<Url> splitUrl(const std::string& url) {
  static const std::regex re(R"(^(https?://[^/]+)(/.*)?$)");
  std::smatch m;
  if (!std::regex_match(url, m, re)) return std::nullopt;
  return Url{m[1].str(), m[2].matched ? m[2].str() : "/"};
}
}  // namespace

WebhookMetrics::WebhookMetrics(prometheus::Registry& r)
    : attempts(prometheus::BuildCounter()
                   .Name("lapor_notification_webhook_attempts_total")
                   .Help("Webhook POSTs, by agency and outcome (delivered, failed)")
                   .Register(r)),
      undeliverable(prometheus::BuildCounter()
                        .Name("lapor_notification_webhook_undeliverable_total")
                        .Help("Webhook deliveries given up after the configured attempts")
                        .Register(r)) {}

WebhookSender::WebhookSender(AssignmentStore& store, const AccessControl& access,
                             kafka::MessageSink& sink, const time::Clock& clock,
                             log::Logger logger, WebhookMetrics& metrics,
                             prometheus::Family<prometheus::Counter>& delivered,
                             std::chrono::milliseconds produce_timeout,
                             std::chrono::milliseconds poll)
    : store_(store),
      redis_(store.redis()),
      access_(access),
      sink_(sink),
      clock_(clock),
      log_(std::move(logger)),
      metrics_(metrics),
      delivered_(delivered),
      produce_timeout_(produce_timeout),
      poll_(poll) {}

WebhookSender::~WebhookSender() {
  stop();
}

void WebhookSender::start() {
  thread_ = std::thread([this] { loop(); });
}

void WebhookSender::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WebhookSender::loop() {
  std::unique_lock lk(mu_);
  while (!stop_) {
    lk.unlock();
    try {
      runDue();
    } catch (const std::exception& e) {
      log_.warn("webhook pass failed, retrying", {{"error", e.what()}});
    }
    lk.lock();
    cv_.wait_for(lk, poll_, [this] { return stop_; });
  }
}

int WebhookSender::runDue() {
  auto due = redis_.command({"ZRANGEBYSCORE", redis_.key("notif:webhook:due"), "-inf",
                             std::to_string(clock_.nowMs()), "LIMIT", "0", "20"});
  int n = 0;
  for (const auto& e : due.elements) {
    {
      std::lock_guard lk(mu_);
      if (stop_) break;
    }
    attempt(e.str);
    ++n;
  }
  return n;
}

void WebhookSender::attempt(const std::string& job_id) {
  const auto due_key = redis_.key("notif:webhook:due");
  const auto job_key = redis_.key("notif:webhook:job:" + job_id);
  auto h = redis_.command({"HGETALL", job_key});
  const auto* agency = h.field("agency");
  if (!agency) {
    redis_.command({"ZREM", due_key, job_id});
    return;
  }
  auto settings = access_.webhook(*agency);
  const auto now = clock_.nowMs();
  // Longer than one request can take (connect, write and read timeouts).
  const auto lease = settings ? settings->timeout * 4 : std::chrono::milliseconds(20'000);
  if (redis_.eval(kClaim, {due_key}, {job_id, std::to_string(now), std::to_string(now + lease.count())})
          .integer != 1)
    return;  // another instance has it

  v1::AgencyFeedItem item;
  item.set_event_id(job_id);
  if (const auto* c = h.field("cursor")) item.set_cursor(*c);
  const auto* bytes = h.field("item");
  const auto* done = h.field("attempts");
  const int attempts = 1 + (done ? std::atoi(done->c_str()) : 0);
  std::string error;
  if (!bytes || !item.mutable_item()->ParseFromString(*bytes)) {
    error = "stored item unreadable";
  } else if (!settings) {
    error = "no webhook configured for the agency any more";
  } else if (auto url = splitUrl(settings->url); !url) {
    error = "webhook url unusable";
  } else {
    std::string body;
    google::protobuf::util::JsonPrintOptions o;
    o.add_whitespace = false;
    (void)google::protobuf::util::MessageToJsonString(item, &body, o);
    httplib::Client cli(url->base);
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(settings->timeout).count();
    cli.set_connection_timeout(std::max<time_t>(1, secs), 0);
    cli.set_read_timeout(std::max<time_t>(1, secs), 0);
    cli.set_write_timeout(std::max<time_t>(1, secs), 0);
    httplib::Headers headers{{webhook::kSignatureHeader,
                              webhook::signatureHeader(settings->secret, now / 1000, body)},
                             {"X-Lapor-Event-Id", job_id},
                             {"X-Lapor-Agency", *agency}};
    auto res = cli.Post(url->path, headers, body, "application/json");
    if (res && res->status >= 200 && res->status < 300) {
      metrics_.attempts.Add({{"agency", *agency}, {"outcome", "delivered"}}).Increment();
      const auto* assignment = h.field("assignment");
      if (assignment && store_.recordDelivered(*assignment, *agency, "webhook"))
        delivered_.Add({{"agency", *agency}, {"channel", "webhook"}}).Increment();
      redis_.command({"DEL", job_key});
      redis_.command({"ZREM", due_key, job_id});
      return;
    }
    error = res ? "HTTP " + std::to_string(res->status) : httplib::to_string(res.error());
  }
  metrics_.attempts.Add({{"agency", *agency}, {"outcome", "failed"}}).Increment();
  const int max_attempts = settings ? settings->max_attempts : 1;
  if (attempts < max_attempts) {
    // Exponential backoff with jitter: a random point in the upper half of the interval.
    auto base = settings->initial_backoff.count() << std::min(attempts - 1, 20);
    base = std::min<int64_t>(base, settings->max_backoff.count());
    thread_local std::mt19937_64 rng{std::random_device{}()};
    const auto delay = base / 2 + static_cast<int64_t>(rng() % static_cast<uint64_t>(base / 2 + 1));
    redis_.command({"HSET", job_key, "attempts", std::to_string(attempts), "last_error", error});
    redis_.command({"ZADD", due_key, std::to_string(clock_.nowMs() + delay), job_id});
    log_.warn("webhook delivery failed, will retry",
              {{"agency", *agency}, {"attempt", attempts}, {"error", error}, {"retry_in_ms", delay}});
    return;
  }
  // Given up: dead-letter the item, count it, record it on the lifecycle topic.
  kafka::OutMessage dl{kafka::kDeadLetterTopic, item.item().assignment().complaint_id(),
                       bytes ? *bytes : std::string(),
                       {{"lapor.dlq.reason", "webhook-undeliverable"},
                        {"lapor.dlq.detail", error},
                        {"lapor.dlq.source.topic", kafka::dispatchTopic(*agency)},
                        {"lapor.dlq.service", "notification"},
                        {"lapor.dlq.agency", *agency},
                        {"lapor.dlq.attempts", std::to_string(attempts)}}};
  if (!sink_.produceAndWait(std::move(dl), produce_timeout_).ok) {
    redis_.command({"ZADD", due_key, std::to_string(clock_.nowMs() + 1000), job_id});
    return;  // try the give-up again once the broker answers
  }
  const auto& a = item.item().assignment();
  auto env = events::makeEnvelope(kProducer, a.complaint_id(), "", clock_.nowMs(),
                                  events::nameUuid("undeliverable/webhook/" + job_id));
  auto* u = env.mutable_undeliverable();
  u->set_assignment_id(a.assignment_id());
  u->set_agency_id(*agency);
  u->set_channel("webhook");
  u->set_attempts(attempts);
  u->set_last_error(error);
  if (!sink_.produceAndWait(events::toMessage(kafka::kComplaintsTopic, env), produce_timeout_).ok) {
    redis_.command({"ZADD", due_key, std::to_string(clock_.nowMs() + 1000), job_id});
    return;
  }
  metrics_.undeliverable.Add({{"agency", *agency}}).Increment();
  redis_.command({"DEL", job_key});
  redis_.command({"ZREM", due_key, job_id});
  log_.error("webhook undeliverable, dead-lettered",
             {{"complaint_id", a.complaint_id()}, {"agency", *agency}, {"attempts", attempts},
              {"error", error}});
}

}  // namespace lapor::notification
