// Builds the server with the default health service and proto reflection enabled.
#include "grpc/grpc_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include <stdexcept>

namespace lapor::grpcx {

GrpcServer::GrpcServer(const GrpcServerOptions& options, const std::vector<ServiceEntry>& services,
                       log::Logger logger)
    : log_(std::move(logger)) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.address, grpc::InsecureServerCredentials(), &port_);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  for (const auto& s : services) builder.RegisterService(s.service);
  server_ = builder.BuildAndStart();
  if (!server_ || port_ == 0)
    throw std::runtime_error("gRPC server could not listen on " + options.address +
                             " (check grpc.port / grpc.host)");
  if (auto* h = server_->GetHealthCheckService())
    for (const auto& s : services) h->SetServingStatus(s.name, true);  // registers the name
  setServing(true);
  log_.info("gRPC server listening", {{"address", options.address}, {"port", port_}});
}

GrpcServer::~GrpcServer() {
  shutdown(std::chrono::seconds(5));
}

void GrpcServer::setServing(bool serving) {
  if (auto* h = server_->GetHealthCheckService()) h->SetServingStatus(serving);
}

void GrpcServer::shutdown(std::chrono::milliseconds grace) {
  if (down_) return;
  down_ = true;
  setServing(false);
  server_->Shutdown(std::chrono::system_clock::now() + grace);
  server_->Wait();
}

}  // namespace lapor::grpcx
