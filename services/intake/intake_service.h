// The gRPC registration of IntakeService: the same methods and paths as the generated service,
// but each request is read with a LenientDecoder, so a text field that is not UTF-8 reaches
// intake's validation (INVALID_ARGUMENT naming the field) instead of failing in the parser, and
// bytes that are no request at all get INVALID_ARGUMENT saying so.
#pragma once

#include "grpc/lenient_decoder.h"
#include "lapor/v1/intake.grpc.pb.h"

#include <grpcpp/grpcpp.h>

#include <list>
#include <memory>
#include <string>
#include <vector>

namespace lapor::intake {

class IntakeGrpcService final : public grpc::Service {
 public:
  // `impl` answers the calls (it is not registered itself); it must outlive this service.
  explicit IntakeGrpcService(v1::IntakeService::Service& impl);

 private:
  template <class Req, class Resp>
  void addUnary(const char* method, grpc::Status (v1::IntakeService::Service::*fn)(
                                        grpc::ServerContext*, const Req*, Resp*));
  template <class Req, class Resp>
  void addServerStream(const char* method,
                       grpc::Status (v1::IntakeService::Service::*fn)(
                           grpc::ServerContext*, const Req*, grpc::ServerWriter<Resp>*));

  v1::IntakeService::Service& impl_;
  std::vector<std::shared_ptr<grpcx::LenientDecoder>> decoders_;
  std::list<std::string> paths_;  // gRPC keeps the method names as pointers
};

}  // namespace lapor::intake
