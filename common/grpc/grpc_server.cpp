// Builds the server with the default health service and proto reflection enabled.
#include "grpc/grpc_server.h"

#include "grpc/health/v1/health.pb.h"
#include "grpc/reflection_v1.h"

#include <absl/status/status.h>
#include <google/protobuf/descriptor.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/support/server_interceptor.h>

#include <strings.h>

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

// gRPC answers a request it cannot parse with INTERNAL and no message, as if the server had
// failed. It is the caller's mistake: INVALID_ARGUMENT, naming the type that was expected.
class UndecodableRequest final : public grpc::experimental::Interceptor {
 public:
  explicit UndecodableRequest(std::string method) : method_(std::move(method)) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* m) override {
    using P = grpc::experimental::InterceptionHookPoints;
    // A sync handler's request is parsed before the interceptors see it; a null message here
    // means the parse failed and the handler never ran.
    if (m->QueryInterceptionHookPoint(P::POST_RECV_MESSAGE) && m->GetRecvMessage() == nullptr)
      undecodable_ = true;
    if (m->QueryInterceptionHookPoint(P::PRE_SEND_STATUS) && undecodable_) {
      const auto st = m->GetSendStatus();
      if (st.error_code() == grpc::StatusCode::INTERNAL)
        m->ModifySendStatus(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message()));
    }
    m->Proceed();
  }

 private:
  std::string message() const {
    // "/lapor.v1.AgencyService/Acknowledge" -> lapor.v1.AgencyService.Acknowledge's input.
    std::string name = method_.substr(method_.empty() ? 0 : 1);
    if (auto slash = name.find('/'); slash != std::string::npos) name[slash] = '.';
    const auto* m = google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(name);
    const std::string type = m ? m->input_type()->full_name() : "the method's request type";
    return "the request could not be decoded as " + type +
           " (not its protobuf encoding; check the client's .proto and serializer)";
  }

  std::string method_;
  bool undecodable_ = false;
};

class UndecodableRequestFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new UndecodableRequest(info->method() ? info->method() : "");
  }
};
}  // namespace

std::string bearerToken(const grpc::ServerContext& ctx) {
  const auto& md = ctx.client_metadata();
  auto it = md.find("authorization");
  if (it == md.end()) return "";
  std::string v(it->second.data(), it->second.size());
  // RFC 6750 / RFC 9110: the scheme is case-insensitive ("bearer", "BEARER" are the same).
  constexpr std::string_view kBearer = "bearer ";
  if (v.size() <= kBearer.size() || strncasecmp(v.c_str(), kBearer.data(), kBearer.size()) != 0)
    return "";
  return v.substr(kBearer.size());
}

GrpcServer::GrpcServer(const GrpcServerOptions& options, const std::vector<ServiceEntry>& services,
                       log::Logger logger)
    : log_(std::move(logger)) {
  // Referencing the generated health messages links their descriptors into the pool, so both
  // reflection versions describe grpc.health.v1.Health (grpcurl ... Health/Check).
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.address, credentials(options), &port_);
  // gRPC sets SO_REUSEPORT by default: a second process on the same port (another instance
  // started with the same grpc.port, or anything else) would then silently get a share of the
  // connections. Refused instead, so the start fails and names the port.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS,
                              options.min_pollers);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
                              options.max_pollers);
  for (const auto& s : services) builder.RegisterService(s.service);
  std::vector<std::string> names;
  for (const auto& s : services) names.push_back(s.name);
  names.insert(names.end(), {"grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
                             "grpc.reflection.v1alpha.ServerReflection"});
  reflection_v1_ = std::make_unique<ReflectionV1>(names);
  builder.RegisterService(reflection_v1_.get());
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<UndecodableRequestFactory>());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
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

std::string statusCodeName(grpc::StatusCode code) {
  // gRPC's codes are Abseil's, number for number.
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

}  // namespace lapor::grpcx
