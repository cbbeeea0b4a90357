// gRPC server bootstrap: our services plus standard health checking and reflection (v1 and
// v1alpha); a request that cannot be decoded gets INVALID_ARGUMENT on every service.
#pragma once

#include "log/logger.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace lapor::grpcx {

class ReflectionV1;

struct GrpcServerOptions {
  std::string address = "127.0.0.1:0";  // port 0: pick a free one (see port())
  int max_message_bytes = 1 << 20;      // oversized requests fail with RESOURCE_EXHAUSTED
  // PEM files; when both are set the port speaks TLS only, otherwise plaintext.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Threads kept waiting for calls. gRPC's sync server defaults (1 and 2) end a thread after
  // almost every call when several arrive together and start a new one for the next: a thread
  // born per call. Threads above max_pollers still end once idle.
  int min_pollers = 2;
  int max_pollers = 16;
};

// The token of `authorization: Bearer <token>` metadata (the scheme in any case), or "" when
// there is none.
std::string bearerToken(const grpc::ServerContext& ctx);

// The name of a gRPC status code ("OK", "NOT_FOUND", ...), as batch results spell it.
std::string statusCodeName(grpc::StatusCode code);

// A service with its full name (Generated::service_full_name()), for per-service health.
struct ServiceEntry {
  grpc::Service* service;
  std::string name;
};

class GrpcServer {
 public:
  // Starts serving at once; health reports SERVING for "" and for each service name.
  GrpcServer(const GrpcServerOptions& options, const std::vector<ServiceEntry>& services,
             log::Logger logger);
  ~GrpcServer();

  int port() const { return port_; }
  void setServing(bool serving);
  // Health turns NOT_SERVING, new calls are refused, calls in flight get `grace` to finish.
  void shutdown(std::chrono::milliseconds grace);

 private:
  std::unique_ptr<ReflectionV1> reflection_v1_;
  std::unique_ptr<grpc::Server> server_;
  log::Logger log_;
  int port_ = 0;
  bool down_ = false;
};

}  // namespace lapor::grpcx
