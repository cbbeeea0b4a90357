// Open311 GeoReport v2 over HTTP (JSON), inside the intake process on its own port: service
// discovery, request submission through the same SubmissionService as gRPC, and request
// lookups from the tracking view. Confidential complaints never appear in GET results.
// Endpoint discovery (GET /discovery), comma-separated filter lists, form-encoded and
// multipart POSTs; other content types get 415, other methods 405 with Allow.
#pragma once

#include "complaint_views.h"
#include "intake_metrics.h"
#include "log/logger.h"
#include "submission.h"
#include "time/clock.h"

#include <memory>
#include <string>
#include <thread>

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace lapor::intake {

struct Open311Options {
  std::string host = "127.0.0.1";
  int port = 0;                  // 0: any free port (see port())
  int utc_offset_minutes = 480;  // times are written in the regency's zone (WITA)
  size_t max_body_bytes = 64 * 1024;
  // GET /discovery: who runs this endpoint (GeoReport's discovery `contact`, `key_service`).
  std::string contact = "Operator Lapor Kabupaten Kutai Timur";
  std::string key_service = "API keys are issued by the regency's Lapor operators";
};

class Open311Server {
 public:
  Open311Server(const Open311Options& options, SubmissionService& submissions,
                ComplaintViews& views, const time::Clock& clock, IntakeMetrics& metrics,
                log::Logger logger);
  ~Open311Server();
  Open311Server(const Open311Server&) = delete;
  Open311Server& operator=(const Open311Server&) = delete;
  int port() const { return port_; }
  void stop();

 private:
  void discovery(const httplib::Request& req, httplib::Response& res);
  void services(const httplib::Request& req, httplib::Response& res);
  void serviceDefinition(const httplib::Request& req, httplib::Response& res);
  void postRequest(const httplib::Request& req, httplib::Response& res);
  void listRequests(const httplib::Request& req, httplib::Response& res);
  void getRequest(const httplib::Request& req, httplib::Response& res);

  Open311Options opt_;
  SubmissionService& submissions_;
  ComplaintViews& views_;
  const time::Clock& clock_;
  IntakeMetrics& metrics_;
  log::Logger log_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  int64_t started_ms_ = 0;  // the discovery document's changeset
};

}  // namespace lapor::intake
