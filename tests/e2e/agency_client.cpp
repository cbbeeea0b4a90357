#include "agency_client.h"

#include "wait.h"

namespace lapor::testing {

std::unique_ptr<grpc::ClientContext> agencyContext(const std::string& agency,
                                                   std::chrono::milliseconds timeout) {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + timeout);
  c->AddMetadata("authorization", "Bearer lapor-demo-" + agency);
  return c;
}

FeedReader::FeedReader(const std::string& target, const std::string& agency)
    : agency_(agency),
      stub_(v1::AgencyService::NewStub(
          grpc::CreateChannel(target, grpc::InsecureChannelCredentials()))) {
  v1::SubscribeRequest req;
  req.set_agency_id(agency);
  ctx_.AddMetadata("authorization", "Bearer lapor-demo-" + agency);
  reader_ = stub_->Subscribe(&ctx_, req);
  reader_thread_ = std::thread([this] { read(); });
  confirm_thread_ = std::thread([this] { confirm(); });
}

FeedReader::~FeedReader() {
  ctx_.TryCancel();
  reader_thread_.join();
  {
    std::lock_guard lk(mu_);
    done_ = true;
  }
  cv_.notify_all();
  confirm_thread_.join();
  reader_->Finish();
}

void FeedReader::read() {
  v1::AgencyFeedItem item;
  while (reader_->Read(&item)) {
    std::lock_guard lk(mu_);
    items_.push_back(item);
    cv_.notify_all();
  }
}

// Confirms the newest item read whenever there is one not yet confirmed: one call covers all
// read since the last, which also keeps the stream's window open.
void FeedReader::confirm() {
  std::unique_lock lk(mu_);
  while (true) {
    cv_.wait(lk, [this] { return done_ || confirmed_ < items_.size(); });
    if (done_) return;
    const auto newest = items_.back();
    const auto count = items_.size();
    lk.unlock();
    v1::ConfirmDeliveryRequest req;
    req.set_agency_id(agency_);
    req.set_cursor(newest.cursor());
    req.set_stream_id(newest.stream_id());
    v1::ConfirmDeliveryResponse resp;
    const bool ok = stub_->ConfirmDelivery(agencyContext(agency_).get(), req, &resp).ok();
    lk.lock();
    if (ok) confirmed_ = count;
  }
}

std::optional<v1::AgencyFeedItem> FeedReader::waitFor(const std::string& complaint_id,
                                                      std::chrono::milliseconds timeout) {
  std::optional<v1::AgencyFeedItem> found;
  testing::waitFor(
      [&] {
        std::lock_guard lk(mu_);
        for (const auto& i : items_)
          if (i.item().assignment().complaint_id() == complaint_id) found = i;
        return found.has_value();
      },
      timeout);
  return found;
}

std::optional<v1::DispatchItem> FeedReader::waitForItem(
    const std::function<bool(const v1::DispatchItem&)>& pred, std::chrono::milliseconds timeout) {
  std::optional<v1::DispatchItem> found;
  testing::waitFor(
      [&] {
        std::lock_guard lk(mu_);
        for (const auto& i : items_)
          if (pred(i.item())) found = i.item();
        return found.has_value();
      },
      timeout);
  return found;
}

size_t FeedReader::countFor(const std::string& complaint_id) {
  std::lock_guard lk(mu_);
  size_t n = 0;
  for (const auto& i : items_) n += i.item().assignment().complaint_id() == complaint_id;
  return n;
}

}  // namespace lapor::testing
