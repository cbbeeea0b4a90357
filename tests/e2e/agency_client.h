// What the end-to-end tests do as an agency: calls with the agency's demo token (the tokens of
// deploy/config/notification.yaml) and a Subscribe stream read in the background, confirmed as
// it is read the way an agency's client does.
#pragma once

#include "lapor/v1/agency_service.grpc.pb.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace lapor::testing {

// A client context with a deadline and `authorization: Bearer lapor-demo-<agency>`.
std::unique_ptr<grpc::ClientContext> agencyContext(
    const std::string& agency, std::chrono::milliseconds timeout = std::chrono::seconds(15));

class FeedReader {
 public:
  // Subscribes `agency` at the notification service `target` from the start of its feed.
  FeedReader(const std::string& target, const std::string& agency);
  ~FeedReader();
  FeedReader(const FeedReader&) = delete;
  FeedReader& operator=(const FeedReader&) = delete;

  // The newest item of the complaint, once there is one (nullopt after `timeout`).
  std::optional<v1::AgencyFeedItem> waitFor(
      const std::string& complaint_id,
      std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // The newest dispatch item `pred` accepts, once there is one.
  std::optional<v1::DispatchItem> waitForItem(
      const std::function<bool(const v1::DispatchItem&)>& pred, std::chrono::milliseconds timeout);
  size_t countFor(const std::string& complaint_id);

 private:
  void read();
  void confirm();

  const std::string agency_;
  std::unique_ptr<v1::AgencyService::Stub> stub_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<v1::AgencyFeedItem>> reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<v1::AgencyFeedItem> items_;
  size_t confirmed_ = 0;  // items_ up to here are confirmed
  bool done_ = false;
  std::thread reader_thread_, confirm_thread_;
};

}  // namespace lapor::testing
