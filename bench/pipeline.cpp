// Submissions use gRPC's callback API, so the generator never waits for an answer before the
// next scheduled send; answers and deliveries are matched by complaint id under one mutex.
#include "pipeline.h"

#include <absl/status/status.h>

#include <algorithm>
#include <cmath>
#include <set>

namespace lapor::bench {

namespace {
// The status a batch call's result names (its code as gRPC spells it, e.g. "NOT_FOUND").
grpc::Status resultStatus(const std::string& code, const std::string& message) {
  for (int c = 1; c <= 16; ++c)
    if (absl::StatusCodeToString(static_cast<absl::StatusCode>(c)) == code)
      return grpc::Status(static_cast<grpc::StatusCode>(c), message);
  return grpc::Status(grpc::StatusCode::UNKNOWN, code + ": " + message);
}

double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}
double millis(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}
int64_t wallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

// One agency's operator console: reads the Subscribe stream, resumes by cursor after a
// reconnect, acknowledges every new assignment.
class Pipeline::AgencyClient {
 public:
  AgencyClient(Pipeline& owner, std::string agency, std::string target)
      : owner_(owner), agency_(std::move(agency)), target_(std::move(target)) {
    thread_ = std::thread([this] { loop(); });
  }
  ~AgencyClient() {
    {
      std::lock_guard lk(mu_);
      stop_ = true;
      if (ctx_) ctx_->TryCancel();
    }
    thread_.join();
  }
  void moveTo(const std::string& target) {
    std::lock_guard lk(mu_);
    if (target == target_) return;
    target_ = target;
    if (ctx_) ctx_->TryCancel();  // the loop reconnects to the new target from its cursor
  }

 private:
  void loop() {
    std::string cursor;
    while (true) {
      grpc::ClientContext ctx;
      owner_.addAgencyAuth(ctx, agency_);
      std::string target;
      {
        std::lock_guard lk(mu_);
        if (stop_) return;
        target = target_;
        ctx_ = &ctx;
      }
      auto stub = v1::AgencyService::NewStub(owner_.channel(target));
      v1::SubscribeRequest req;
      req.set_agency_id(agency_);
      req.set_resume_cursor(cursor);
      auto reader = stub->Subscribe(&ctx, req);
      v1::AgencyFeedItem item;
      while (reader->Read(&item)) {
        const auto now = Clock::now();
        cursor = item.cursor();
        owner_.confirm(target, agency_, item);
        const auto& a = item.item().assignment();
        if (item.item().kind() != v1::DISPATCH_KIND_NEW &&
            item.item().kind() != v1::DISPATCH_KIND_UNSPECIFIED)
          continue;
        const int step = owner_.onDelivered(a.complaint_id(), agency_, now, a.dispatched_at_ms());
        owner_.acknowledge(target, agency_, a.assignment_id(), step);
      }
      const auto status = reader->Finish();
      bool moved = false;
      {
        std::lock_guard lk(mu_);
        ctx_ = nullptr;
        if (stop_) return;
        moved = target != target_;
      }
      if (!moved) {
        owner_.stream_errors_.fetch_add(1);
        // A stream that ends by itself (a restart, an error) is reopened after a short pause
        // so a service that is down is not hammered.
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  }

  Pipeline& owner_;
  const std::string agency_;
  std::mutex mu_;
  std::string target_;
  grpc::ClientContext* ctx_ = nullptr;
  bool stop_ = false;
  std::thread thread_;
};

Pipeline::Pipeline(std::string intake_target, Credentials credentials, Workload& workload)
    : credentials_(std::move(credentials)), workload_(workload) {
  intake_ = v1::IntakeService::NewStub(channel(intake_target));
}

Pipeline::~Pipeline() {
  agencies_.clear();
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, std::chrono::seconds(30), [this] { return submits_in_flight_ == 0; });
  // Acknowledgements and confirmations still in flight hold the stubs; let them finish (each
  // has a deadline).
  cv_.wait_for(lk, std::chrono::seconds(30), [this] {
    return acks_in_flight_.load() == 0 && confirms_in_flight_.load() == 0;
  });
}

std::shared_ptr<grpc::Channel> Pipeline::channel(const std::string& target) {
  std::lock_guard lk(channels_mu_);
  auto& ch = channels_[target];
  if (!ch) ch = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  return ch;
}

void Pipeline::addAgencyAuth(grpc::ClientContext& ctx, const std::string& agency) const {
  if (credentials_.agency_token.empty()) return;
  std::string token = credentials_.agency_token;
  static constexpr std::string_view kPlaceholder = "{agency}";
  for (auto at = token.find(kPlaceholder); at != std::string::npos;
       at = token.find(kPlaceholder, at + agency.size()))
    token.replace(at, kPlaceholder.size(), agency);
  ctx.AddMetadata("authorization", "Bearer " + token);
}

void Pipeline::connectAgencies(const std::vector<std::string>& targets) {
  const auto ids = workload_.agencyIds();
  for (size_t i = 0; i < ids.size(); ++i) {
    const auto& target = targets[i % targets.size()];
    if (i < agencies_.size())
      agencies_[i]->moveTo(target);
    else
      agencies_.push_back(std::make_unique<AgencyClient>(*this, ids[i], target));
  }
}

void Pipeline::ackAnswered(int step, Clock::time_point read_at, const grpc::Status& s) {
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - read_at).count();
  auto* st = step >= 0 ? &steps_[static_cast<size_t>(step)] : nullptr;
  if (s.ok()) {
    acks_ok_.fetch_add(1);
    if (st) st->ack_ms.push_back(ms);
  } else {
    const auto code = absl::StatusCodeToString(static_cast<absl::StatusCode>(s.error_code()));
    auto& [count, sample] = ack_errors_by_code_[code];
    if (count++ == 0) sample = s.error_message();
    if (st) ++st->ack_errors;
  }
  if (acks_in_flight_.fetch_sub(1) == 1) cv_.notify_all();
}

void Pipeline::acknowledge(const std::string& target, const std::string& agency,
                           const std::string& assignment_id, int step) {
  if (ack_batches_) {
    acks_in_flight_.fetch_add(1);
    std::vector<QueuedAck> batch;
    {
      std::lock_guard lk(ack_mu_);
      batch = ack_batches_by_agency_[agency].offer({assignment_id, step, Clock::now()});
    }
    if (!batch.empty()) sendAckBatch(target, agency, std::move(batch));
    return;
  }
  struct Call {
    grpc::ClientContext ctx;
    v1::AcknowledgeRequest req;
    v1::AcknowledgeResponse resp;
    Clock::time_point started = Clock::now();
  };
  auto call = std::make_shared<Call>();
  call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  addAgencyAuth(call->ctx, agency);
  call->req.set_agency_id(agency);
  call->req.set_assignment_id(assignment_id);
  call->req.set_operator_("lapor-bench");
  auto* stub = &agencyStub(target);
  acks_in_flight_.fetch_add(1);
  stub->async()->Acknowledge(&call->ctx, &call->req, &call->resp, [this, call,
                                                                     step](grpc::Status s) {
    std::lock_guard lk(mu_);
    ackAnswered(step, call->started, s);
  });
}

void Pipeline::sendAckBatch(const std::string& target, const std::string& agency,
                            std::vector<QueuedAck> batch) {
  struct Call {
    grpc::ClientContext ctx;
    v1::AcknowledgeBatchRequest req;
    v1::AcknowledgeBatchResponse resp;
    std::vector<QueuedAck> items;
  };
  auto call = std::make_shared<Call>();
  call->items = std::move(batch);
  call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  addAgencyAuth(call->ctx, agency);
  call->req.set_agency_id(agency);
  for (const auto& q : call->items) call->req.add_assignment_ids(q.assignment_id);
  call->req.set_operator_("lapor-bench");
  agencyStub(target).async()->AcknowledgeBatch(
      &call->ctx, &call->req, &call->resp, [this, call, target, agency](grpc::Status s) {
        std::vector<QueuedAck> next;
        {
          std::lock_guard lk(ack_mu_);
          next = ack_batches_by_agency_[agency].next();
        }
        if (!next.empty()) sendAckBatch(target, agency, std::move(next));
        std::lock_guard lk(mu_);
        for (size_t i = 0; i < call->items.size(); ++i) {
          grpc::Status each = s;
          if (s.ok()) {
            if (static_cast<int>(i) >= call->resp.results_size()) {
              each = grpc::Status(grpc::StatusCode::INTERNAL, "no result for this assignment");
            } else if (const auto& r = call->resp.results(static_cast<int>(i)); r.code() != "OK") {
              each = resultStatus(r.code(), r.message());
            }
          }
          ackAnswered(call->items[i].step, call->items[i].read_at, each);
        }
      });
}

v1::AgencyService::Stub& Pipeline::agencyStub(const std::string& target) {
  std::lock_guard lk(channels_mu_);
  auto& s = agency_stubs_[target];
  if (!s) s = v1::AgencyService::NewStub(channels_.at(target));
  return *s;
}

void Pipeline::confirm(const std::string& target, const std::string& agency,
                       const v1::AgencyFeedItem& item) {
  {
    std::lock_guard lk(confirm_mu_);
    auto& st = confirms_[agency];
    if (st.in_flight) {
      st.next = item;
      return;
    }
    st.in_flight = true;
  }
  sendConfirm(target, agency, item);
}

void Pipeline::sendConfirm(const std::string& target, const std::string& agency,
                           const v1::AgencyFeedItem& item) {
  struct Call {
    grpc::ClientContext ctx;
    v1::ConfirmDeliveryRequest req;
    v1::ConfirmDeliveryResponse resp;
  };
  auto call = std::make_shared<Call>();
  call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  addAgencyAuth(call->ctx, agency);
  call->req.set_agency_id(agency);
  call->req.set_cursor(item.cursor());
  call->req.set_stream_id(item.stream_id());
  confirms_in_flight_.fetch_add(1);
  agencyStub(target).async()->ConfirmDelivery(
      &call->ctx, &call->req, &call->resp, [this, call, target, agency](grpc::Status s) {
        if (!s.ok()) confirm_errors_.fetch_add(1);
        std::optional<v1::AgencyFeedItem> next;
        {
          std::lock_guard lk(confirm_mu_);
          auto& st = confirms_[agency];
          next.swap(st.next);
          st.in_flight = next.has_value();
        }
        if (next) sendConfirm(target, agency, *next);
        if (confirms_in_flight_.fetch_sub(1) == 1) {
          std::lock_guard lk(mu_);
          cv_.notify_all();
        }
      });
}

std::map<std::string, std::pair<uint64_t, std::string>> Pipeline::ackErrorsByCode() {
  std::lock_guard lk(mu_);
  return ack_errors_by_code_;
}

uint64_t Pipeline::ackErrors() {
  std::lock_guard lk(mu_);
  uint64_t n = 0;
  for (const auto& [code, e] : ack_errors_by_code_) n += e.first;
  return n;
}

void Pipeline::settle(Record& r) {
  if (r.done || !r.accepted) return;
  Clock::time_point last = r.accepted_at;
  for (const auto& agency : r.expected) {
    auto it = r.delivered.find(agency);
    if (it == r.delivered.end()) return;
    last = std::max(last, it->second);
  }
  r.done = true;
  r.completed_at = last;
  auto& st = steps_[r.step];
  ++st.completed;
  if (r.step == current_step_) --open_;
  cv_.notify_all();
}

int Pipeline::onDelivered(const std::string& complaint_id, const std::string& agency,
                          Clock::time_point t, int64_t dispatched_at_ms) {
  const int64_t wall = wallMs();
  std::lock_guard lk(mu_);
  auto& r = records_[complaint_id];  // may come before intake's answer has been handled
  if (!r.delivered.emplace(agency, t).second) {
    ++r.duplicates;
    return r.step;
  }
  r.dispatched_delivered_wall_ms.emplace_back(dispatched_at_ms, wall);
  settle(r);
  return r.step;
}

void Pipeline::finishAcknowledgements(std::vector<StepResult>& steps, std::chrono::seconds limit) {
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, limit, [this] { return acks_in_flight_.load() == 0; });
  for (auto& step : steps) {
    if (step.index < 0 || static_cast<size_t>(step.index) >= steps_.size()) continue;
    const auto& st = steps_[static_cast<size_t>(step.index)];
    step.acknowledge = summarize(st.ack_ms);
    step.ack_errors = st.ack_errors;
  }
}

void Pipeline::submitAnswered(int step, Clock::time_point scheduled, const grpc::Status& s,
                              const v1::SubmitComplaintResponse& resp, v1::Priority priority,
                              std::vector<std::string> agencies) {
  const auto now = Clock::now();
  const int64_t wall = wallMs();
  --submits_in_flight_;
  auto& st = steps_[step];
  if (!s.ok()) {
    ++st.errors;
    st.error_samples.emplace(std::to_string(s.error_code()), s.error_message());
    if (step == current_step_) --open_;
    return;
  }
  ++st.accepted;
  auto& r = records_[resp.complaint_id()];
  r.step = step;
  r.accepted = true;
  r.scheduled = scheduled;
  r.accepted_at = now;
  r.accepted_wall_ms = wall;
  r.expected = std::move(agencies);
  r.priority = priority;
  settle(r);
}

void Pipeline::submit(int step, Clock::time_point scheduled) {
  auto item = workload_.next();
  if (submit_batches_) {
    std::vector<QueuedSubmit> batch;
    {
      std::lock_guard lk(submit_mu_);
      batch = submit_calls_.offer({step, scheduled, std::move(item)});
    }
    if (!batch.empty()) sendSubmitBatch(std::move(batch));
    return;
  }
  struct Call {
    grpc::ClientContext ctx;
    v1::SubmitComplaintRequest req;
    v1::SubmitComplaintResponse resp;
    std::vector<std::string> agencies;
  };
  auto call = std::make_shared<Call>();
  call->req = std::move(item.request);
  call->agencies = std::move(item.agencies);
  call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  if (!credentials_.api_key.empty()) call->ctx.AddMetadata("x-api-key", credentials_.api_key);
  intake_->async()->SubmitComplaint(
      &call->ctx, &call->req, &call->resp, [this, call, step, scheduled](grpc::Status s) {
        std::lock_guard lk(mu_);
        submitAnswered(step, scheduled, s, call->resp, call->req.priority(),
                       std::move(call->agencies));
        cv_.notify_all();
      });
}

void Pipeline::sendSubmitBatch(std::vector<QueuedSubmit> batch) {
  struct Call {
    grpc::ClientContext ctx;
    v1::SubmitComplaintsRequest req;
    v1::SubmitComplaintsResponse resp;
    std::vector<QueuedSubmit> batch;
  };
  auto call = std::make_shared<Call>();
  for (auto& q : batch) *call->req.add_complaints() = std::move(q.item.request);
  call->batch = std::move(batch);
  call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  if (!credentials_.api_key.empty()) call->ctx.AddMetadata("x-api-key", credentials_.api_key);
  intake_->async()->SubmitComplaints(
      &call->ctx, &call->req, &call->resp, [this, call](grpc::Status s) {
        {
          std::lock_guard lk(mu_);
          for (size_t i = 0; i < call->batch.size(); ++i) {
            auto& q = call->batch[i];
            auto st = s;
            v1::SubmitComplaintResponse one;
            if (s.ok() && static_cast<int>(i) >= call->resp.results_size()) {
              st = grpc::Status(grpc::StatusCode::INTERNAL, "no result for this complaint");
            } else if (s.ok()) {
              const auto& r = call->resp.results(static_cast<int>(i));
              if (r.code() == "OK")
                one = r.complaint();
              else
                st = resultStatus(r.code(), r.message());
            }
            submitAnswered(q.step, q.scheduled, st, one, call->req.complaints(static_cast<int>(i)).priority(),
                           std::move(q.item.agencies));
          }
          cv_.notify_all();
        }
        std::vector<QueuedSubmit> next;
        {
          std::lock_guard lk(submit_mu_);
          next = submit_calls_.next();
        }
        if (!next.empty()) sendSubmitBatch(std::move(next));
      });
}

StepResult Pipeline::run(const StepOptions& o) {
  int step;
  {
    std::lock_guard lk(mu_);
    steps_.emplace_back();
    step = current_step_ = static_cast<int>(steps_.size()) - 1;
    open_ = 0;
  }
  const auto start = Clock::now() + std::chrono::milliseconds(20);
  const auto end = start + o.duration;
  auto issue = [&](Clock::time_point scheduled) {
    {
      std::lock_guard lk(mu_);
      ++submits_in_flight_;
      ++open_;
      ++steps_[step].submitted;
    }
    submit(step, scheduled);
  };
  uint64_t unsent = 0, scheduled_total = 0;
  if (o.rate > 0) {
    const auto interval = std::chrono::duration<double>(1.0 / o.rate);
    scheduled_total = static_cast<uint64_t>(
        std::ceil(std::chrono::duration<double>(o.duration).count() * o.rate));
    for (uint64_t n = 0; n < scheduled_total; ++n) {
      const auto scheduled =
          start + std::chrono::duration_cast<Clock::duration>(interval * static_cast<double>(n));
      std::this_thread::sleep_until(scheduled);
      std::unique_lock lk(mu_);
      if (!cv_.wait_until(lk, end, [&] {
            return submits_in_flight_ < o.max_in_flight && open_ < o.max_open;
          })) {
        unsent = scheduled_total - n;
        break;
      }
      lk.unlock();
      issue(scheduled);
    }
  } else {
    std::this_thread::sleep_until(start);
    while (Clock::now() < end) {
      std::unique_lock lk(mu_);
      if (!cv_.wait_until(lk, end, [&] { return open_ < o.window; })) break;
      lk.unlock();
      issue(Clock::now());
    }
  }
  const auto sent = Clock::now();

  // Drain: every answer, then every delivery, each with a deadline.
  {
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, std::chrono::seconds(35), [this] { return submits_in_flight_ == 0; });
    cv_.wait_for(lk, o.drain_timeout, [this] { return open_ == 0; });
    current_step_ = -1;
  }

  StepResult res;
  res.name = o.name;
  res.index = step;
  res.offered_rate = o.rate;
  res.scheduled = scheduled_total;
  res.unsent = unsent;
  res.send_seconds = seconds(sent - start);
  std::lock_guard lk(mu_);
  const auto& st = steps_[step];
  res.submitted = st.submitted;
  res.accepted = st.accepted;
  res.errors = st.errors;
  res.completed = st.completed;
  res.error_samples = st.error_samples;
  res.achieved_rate =
      res.send_seconds > 0 ? static_cast<double>(st.submitted) / res.send_seconds : 0;
  std::vector<double> submit_ms, delivered_ms, to_dispatch_ms, to_stream_ms;
  std::vector<double> emergency_submit_ms, emergency_delivered_ms;
  std::vector<double> emergency_to_dispatch_ms, emergency_to_stream_ms;
  Clock::time_point last = start;
  for (const auto& [id, r] : records_) {
    if (r.step != step || !r.accepted) continue;
    const bool emergency = r.priority == v1::PRIORITY_EMERGENCY;
    submit_ms.push_back(millis(r.accepted_at - r.scheduled));
    if (emergency) {
      ++res.emergency_accepted;
      emergency_submit_ms.push_back(millis(r.accepted_at - r.scheduled));
    }
    res.expected_assignments += r.expected.size();
    res.duplicates += r.duplicates;
    const std::set<std::string> expected(r.expected.begin(), r.expected.end());
    for (const auto& [agency, t] : r.delivered) {
      if (expected.count(agency))
        ++res.delivered_assignments;
      else
        ++res.unexpected;
    }
    for (const auto& [dispatched, on_stream] : r.dispatched_delivered_wall_ms) {
      if (dispatched <= 0) continue;
      to_dispatch_ms.push_back(static_cast<double>(dispatched - r.accepted_wall_ms));
      to_stream_ms.push_back(static_cast<double>(on_stream - dispatched));
      if (emergency) {
        emergency_to_dispatch_ms.push_back(to_dispatch_ms.back());
        emergency_to_stream_ms.push_back(to_stream_ms.back());
      }
    }
    if (r.done) {
      delivered_ms.push_back(millis(r.completed_at - r.scheduled));
      if (emergency) emergency_delivered_ms.push_back(millis(r.completed_at - r.scheduled));
      last = std::max(last, r.completed_at);
    }
  }
  res.lost = res.expected_assignments - res.delivered_assignments;
  res.completion_seconds = seconds(last - start);
  res.throughput =
      res.completion_seconds > 0 ? static_cast<double>(res.completed) / res.completion_seconds : 0;
  res.submit = summarize(std::move(submit_ms));
  res.delivered = summarize(std::move(delivered_ms));
  res.emergency_submit = summarize(std::move(emergency_submit_ms));
  res.emergency_delivered = summarize(std::move(emergency_delivered_ms));
  res.to_dispatch = summarize(std::move(to_dispatch_ms));
  res.to_stream = summarize(std::move(to_stream_ms));
  res.emergency_to_dispatch = summarize(std::move(emergency_to_dispatch_ms));
  res.emergency_to_stream = summarize(std::move(emergency_to_stream_ms));
  return res;
}

uint64_t Pipeline::undeliveredOf(int index) {
  std::lock_guard lk(mu_);
  uint64_t n = 0;
  for (const auto& [id, r] : records_) {
    if (r.step != index || !r.accepted) continue;
    for (const auto& agency : r.expected) n += r.delivered.count(agency) ? 0 : 1;
  }
  return n;
}

uint64_t Pipeline::open() {
  std::lock_guard lk(mu_);
  uint64_t n = 0;
  for (const auto& [id, r] : records_) n += r.accepted && !r.done;
  return n;
}

void Pipeline::writeSamples(std::ostream& out) {
  std::lock_guard lk(mu_);
  out << "step,complaint_id,submit_ms,delivered_ms,agencies_expected,agencies_delivered,priority,"
         "accepted_unix_ms\n";
  for (const auto& [id, r] : records_) {
    if (!r.accepted) continue;
    size_t delivered = 0;
    for (const auto& agency : r.expected) delivered += r.delivered.count(agency);
    out << r.step << ',' << id << ',' << millis(r.accepted_at - r.scheduled) << ',';
    if (r.done) out << millis(r.completed_at - r.scheduled);
    out << ',' << r.expected.size() << ',' << delivered << ',' << v1::Priority_Name(r.priority)
        << ',' << r.accepted_wall_ms << '\n';
  }
}

uint64_t Pipeline::orphanDeliveries() {
  std::lock_guard lk(mu_);
  uint64_t n = 0;
  for (const auto& [id, r] : records_)
    if (!r.accepted) n += r.delivered.size();
  return n;
}

}  // namespace lapor::bench
