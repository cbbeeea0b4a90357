// Each answer carries the file asked for and every file it imports (transitively), as gRPC's own
// implementation does; errors are an error_response with a gRPC code, never a failed call.
#include "grpc/reflection_v1.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include <set>

namespace lapor::grpcx {

namespace {
namespace pb = google::protobuf;
namespace rv1 = grpc::reflection::v1;

void addFileAndImports(const pb::FileDescriptor* file, std::set<std::string>& sent,
                       rv1::FileDescriptorResponse* out) {
  if (!sent.insert(file->name()).second) return;
  pb::FileDescriptorProto proto;
  file->CopyTo(&proto);
  out->add_file_descriptor_proto(proto.SerializeAsString());
  for (int i = 0; i < file->dependency_count(); ++i)
    addFileAndImports(file->dependency(i), sent, out);
}

void notFound(rv1::ServerReflectionResponse* resp, const std::string& what) {
  resp->mutable_error_response()->set_error_code(static_cast<int>(grpc::StatusCode::NOT_FOUND));
  resp->mutable_error_response()->set_error_message(what);
}
}  // namespace

ReflectionV1::ReflectionV1(std::vector<std::string> services) : services_(std::move(services)) {}

grpc::Status ReflectionV1::ServerReflectionInfo(
    grpc::ServerContext*,
    grpc::ServerReaderWriter<rv1::ServerReflectionResponse, rv1::ServerReflectionRequest>* stream) {
  const auto* pool = pb::DescriptorPool::generated_pool();
  rv1::ServerReflectionRequest req;
  while (stream->Read(&req)) {
    std::set<std::string> sent;  // per answer, so asking again for a file gets it again
    rv1::ServerReflectionResponse resp;
    resp.set_valid_host(req.host());
    *resp.mutable_original_request() = req;
    const pb::FileDescriptor* file = nullptr;
    switch (req.message_request_case()) {
      case rv1::ServerReflectionRequest::kListServices:
        for (const auto& s : services_)
          resp.mutable_list_services_response()->add_service()->set_name(s);
        break;
      case rv1::ServerReflectionRequest::kFileByFilename:
        file = pool->FindFileByName(req.file_by_filename());
        if (!file) notFound(&resp, "no file " + req.file_by_filename());
        break;
      case rv1::ServerReflectionRequest::kFileContainingSymbol:
        file = pool->FindFileContainingSymbol(req.file_containing_symbol());
        if (!file) notFound(&resp, "no symbol " + req.file_containing_symbol());
        break;
      case rv1::ServerReflectionRequest::kFileContainingExtension: {
        const auto& ext = req.file_containing_extension();
        const auto* type = pool->FindMessageTypeByName(ext.containing_type());
        const auto* field =
            type ? pool->FindExtensionByNumber(type, ext.extension_number()) : nullptr;
        if (field)
          file = field->file();
        else
          notFound(&resp, "no extension " + std::to_string(ext.extension_number()) + " of " +
                              ext.containing_type());
        break;
      }
      case rv1::ServerReflectionRequest::kAllExtensionNumbersOfType: {
        const auto* type = pool->FindMessageTypeByName(req.all_extension_numbers_of_type());
        if (!type) {
          notFound(&resp, "no type " + req.all_extension_numbers_of_type());
          break;
        }
        std::vector<const pb::FieldDescriptor*> exts;
        pool->FindAllExtensions(type, &exts);
        auto* out = resp.mutable_all_extension_numbers_response();
        out->set_base_type_name(type->full_name());
        for (const auto* e : exts) out->add_extension_number(e->number());
        break;
      }
      case rv1::ServerReflectionRequest::MESSAGE_REQUEST_NOT_SET:
        resp.mutable_error_response()->set_error_code(
            static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
        resp.mutable_error_response()->set_error_message("the request names no message_request");
        break;
    }
    if (file) addFileAndImports(file, sent, resp.mutable_file_descriptor_response());
    if (!stream->Write(resp)) break;
  }
  return grpc::Status::OK;
}

}  // namespace lapor::grpcx
