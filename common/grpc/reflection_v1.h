// grpc.reflection.v1 (the stable name of server reflection), answered from the generated
// descriptor pool. gRPC's C++ library of Debian 12 (1.51) serves only v1alpha; clients such as
// grpcurl, Postman and grpcui try v1 first.
#pragma once

#include "grpc/reflection/v1/reflection.grpc.pb.h"

#include <string>
#include <vector>

namespace lapor::grpcx {

class ReflectionV1 final : public grpc::reflection::v1::ServerReflection::Service {
 public:
  // `services`: the full names list_services answers with.
  explicit ReflectionV1(std::vector<std::string> services);

  grpc::Status ServerReflectionInfo(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<grpc::reflection::v1::ServerReflectionResponse,
                               grpc::reflection::v1::ServerReflectionRequest>* stream) override;

 private:
  std::vector<std::string> services_;
};

}  // namespace lapor::grpcx
