// Builds the server with the default health service and proto reflection enabled.
#include "grpc/grpc_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace lapor::grpcx {

namespace {
std::string readFile(const std::string& path, const char* key) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path + " (check " + key + ")");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::shared_ptr<grpc::ServerCredentials> credentials(const GrpcServerOptions& o) {
  if (o.tls_cert_file.empty() && o.tls_key_file.empty()) return grpc::InsecureServerCredentials();
  if (o.tls_cert_file.empty() || o.tls_key_file.empty())
    throw std::runtime_error("TLS needs both grpc.tls_cert_file and grpc.tls_key_file");
  grpc::SslServerCredentialsOptions ssl;
  ssl.pem_key_cert_pairs.push_back({readFile(o.tls_key_file, "grpc.tls_key_file"),
                                    readFile(o.tls_cert_file, "grpc.tls_cert_file")});
  return grpc::SslServerCredentials(ssl);
}
}  // namespace

std::string bearerToken(const grpc::ServerContext& ctx) {
  const auto& md = ctx.client_metadata();
  auto it = md.find("authorization");
  if (it == md.end()) return "";
  std::string v(it->second.data(), it->second.size());
  constexpr std::string_view kBearer = "Bearer ";
  if (v.size() <= kBearer.size() || v.compare(0, kBearer.size(), kBearer) != 0) return "";
  return v.substr(kBearer.size());
}

GrpcServer::GrpcServer(const GrpcServerOptions& options, const std::vector<ServiceEntry>& services,
                       log::Logger logger)
    : log_(std::move(logger)) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.address, credentials(options), &port_);
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
  log_.info("gRPC server listening", {{"address", options.address},
                                      {"port", port_},
                                      {"tls", !options.tls_cert_file.empty()}});
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
