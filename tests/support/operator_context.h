// A client context for operator calls (RoutingAdmin, SlaService, intake's listing by agency)
// with the local demo credential of a role (deploy/config/operators.yaml: the token
// "lapor-demo-<role>").
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

namespace lapor::testing {

inline std::unique_ptr<grpc::ClientContext> operatorContext(
    const std::string& role = "operator",
    std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + timeout);
  c->AddMetadata("authorization", "Bearer lapor-demo-" + role);
  return c;
}

}  // namespace lapor::testing
