// Built like the generated IntakeService::Service (one RpcServiceMethod per method, the path
// "/lapor.v1.IntakeService/<Method>"), with grpc::ByteBuffer as the request type so the bytes
// arrive undecoded. Every method of the contract must be registered: the constructor checks it
// against the descriptor, so a method added to intake.proto and not here fails at start.
#include "intake_service.h"

#include <grpcpp/impl/codegen/method_handler.h>
#include <grpcpp/impl/rpc_service_method.h>

#include <set>
#include <stdexcept>

namespace lapor::intake {

namespace {
std::string path(const char* method) {
  return std::string("/") + v1::IntakeService::service_full_name() + "/" + method;
}

std::string flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

template <class Req>
grpc::Status decodeInto(const grpcx::LenientDecoder& decoder, const grpc::ByteBuffer& raw,
                        Req* req) {
  std::string error;
  if (!decoder.decode(flatten(raw), req, &error))
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, error);
  return grpc::Status::OK;
}
}  // namespace

template <class Req, class Resp>
void IntakeGrpcService::addUnary(const char* method,
                                 grpc::Status (v1::IntakeService::Service::*fn)(
                                     grpc::ServerContext*, const Req*, Resp*)) {
  auto decoder = std::make_shared<grpcx::LenientDecoder>(Req::descriptor());
  decoders_.push_back(decoder);
  auto call = [decoder, fn](IntakeGrpcService* self, grpc::ServerContext* ctx,
                            const grpc::ByteBuffer* raw, Resp* resp) {
    Req req;
    if (auto st = decodeInto(*decoder, *raw, &req); !st.ok()) return st;
    return (self->impl_.*fn)(ctx, &req, resp);
  };
  AddMethod(new grpc::internal::RpcServiceMethod(
      paths_.emplace_back(path(method)).c_str(), grpc::internal::RpcMethod::NORMAL_RPC,
      new grpc::internal::RpcMethodHandler<IntakeGrpcService, grpc::ByteBuffer, Resp>(call,
                                                                                      this)));
}

template <class Req, class Resp>
void IntakeGrpcService::addServerStream(const char* method,
                                        grpc::Status (v1::IntakeService::Service::*fn)(
                                            grpc::ServerContext*, const Req*,
                                            grpc::ServerWriter<Resp>*)) {
  auto decoder = std::make_shared<grpcx::LenientDecoder>(Req::descriptor());
  decoders_.push_back(decoder);
  auto call = [decoder, fn](IntakeGrpcService* self, grpc::ServerContext* ctx,
                            const grpc::ByteBuffer* raw, grpc::ServerWriter<Resp>* writer) {
    Req req;
    if (auto st = decodeInto(*decoder, *raw, &req); !st.ok()) return st;
    return (self->impl_.*fn)(ctx, &req, writer);
  };
  AddMethod(new grpc::internal::RpcServiceMethod(
      paths_.emplace_back(path(method)).c_str(), grpc::internal::RpcMethod::SERVER_STREAMING,
      new grpc::internal::ServerStreamingHandler<IntakeGrpcService, grpc::ByteBuffer, Resp>(
          call, this)));
}

IntakeGrpcService::IntakeGrpcService(v1::IntakeService::Service& impl) : impl_(impl) {
  using S = v1::IntakeService::Service;
  addUnary("SubmitComplaint", &S::SubmitComplaint);
  addUnary("SubmitComplaints", &S::SubmitComplaints);
  addUnary("GetComplaint", &S::GetComplaint);
  addUnary("ListComplaints", &S::ListComplaints);
  addServerStream("WatchComplaint", &S::WatchComplaint);
  addUnary("AddFeedback", &S::AddFeedback);
  addUnary("ReopenComplaint", &S::ReopenComplaint);
  addUnary("AnswerAgency", &S::AnswerAgency);
  // Every method of the contract has a path registered above.
  const std::set<std::string> registered(paths_.begin(), paths_.end());
  const auto* service = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
      v1::IntakeService::service_full_name());
  for (int i = 0; i < service->method_count(); ++i)
    if (!registered.count(path(service->method(i)->name().c_str())))
      throw std::logic_error("IntakeGrpcService does not register " + service->method(i)->name());
}

}  // namespace lapor::intake
