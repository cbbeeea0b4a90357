// The twin is built at run time from the generated descriptors, so it can never drift from the
// published contract: a field added to the .proto is in the twin the next build.
#include "grpc/lenient_decoder.h"

#include <google/protobuf/reflection.h>

#include <stdexcept>

namespace lapor::grpcx {

namespace {
namespace pb = google::protobuf;

void textToBytes(pb::DescriptorProto* m) {
  if (m->options().map_entry()) return;  // map keys cannot be bytes; map values stay checked
  for (auto& f : *m->mutable_field())
    if (f.type() == pb::FieldDescriptorProto::TYPE_STRING)
      f.set_type(pb::FieldDescriptorProto::TYPE_BYTES);
  for (auto& nested : *m->mutable_nested_type()) textToBytes(&nested);
}
}  // namespace

LenientDecoder::LenientDecoder(const pb::Descriptor* type) : type_name_(type->full_name()) {
  addFile(type->file());
  const auto* twin_type = pool_.FindMessageTypeByName(type_name_);
  if (!twin_type) throw std::logic_error("no bytes twin for " + type_name_);
  twin_ = factory_.GetPrototype(twin_type);
}

void LenientDecoder::addFile(const pb::FileDescriptor* file) {
  if (pool_.FindFileByName(file->name())) return;
  for (int i = 0; i < file->dependency_count(); ++i) addFile(file->dependency(i));
  pb::FileDescriptorProto proto;
  file->CopyTo(&proto);
  for (auto& m : *proto.mutable_message_type()) textToBytes(&m);
  if (!pool_.BuildFile(proto))
    throw std::logic_error("cannot build the bytes twin of " + file->name());
}

bool LenientDecoder::decode(std::string_view wire, pb::Message* out, std::string* error) const {
  std::unique_ptr<pb::Message> twin(twin_->New());
  if (!twin->ParseFromArray(wire.data(), static_cast<int>(wire.size()))) {
    *error = "the request could not be decoded as " + type_name_ +
             " (not its protobuf encoding; check the client's .proto and serializer)";
    return false;
  }
  out->Clear();
  copyByNumber(*twin, out);
  return true;
}

void copyByNumber(const pb::Message& from, pb::Message* to) {
  const auto* fr = from.GetReflection();
  const auto* tr = to->GetReflection();
  const auto* td = to->GetDescriptor();
  std::vector<const pb::FieldDescriptor*> fields;
  fr->ListFields(from, &fields);
  for (const auto* f : fields) {
    const auto* t = td->FindFieldByNumber(f->number());
    if (!t) continue;  // cannot happen for a twin; unknown to `to` otherwise
    using C = pb::FieldDescriptor::CppType;
    if (f->is_repeated()) {
      const int n = fr->FieldSize(from, f);
      for (int i = 0; i < n; ++i) {
        switch (f->cpp_type()) {
          case C::CPPTYPE_INT32: tr->AddInt32(to, t, fr->GetRepeatedInt32(from, f, i)); break;
          case C::CPPTYPE_INT64: tr->AddInt64(to, t, fr->GetRepeatedInt64(from, f, i)); break;
          case C::CPPTYPE_UINT32: tr->AddUInt32(to, t, fr->GetRepeatedUInt32(from, f, i)); break;
          case C::CPPTYPE_UINT64: tr->AddUInt64(to, t, fr->GetRepeatedUInt64(from, f, i)); break;
          case C::CPPTYPE_DOUBLE: tr->AddDouble(to, t, fr->GetRepeatedDouble(from, f, i)); break;
          case C::CPPTYPE_FLOAT: tr->AddFloat(to, t, fr->GetRepeatedFloat(from, f, i)); break;
          case C::CPPTYPE_BOOL: tr->AddBool(to, t, fr->GetRepeatedBool(from, f, i)); break;
          case C::CPPTYPE_ENUM:
            tr->AddEnumValue(to, t, fr->GetRepeatedEnumValue(from, f, i));
            break;
          case C::CPPTYPE_STRING: tr->AddString(to, t, fr->GetRepeatedString(from, f, i)); break;
          case C::CPPTYPE_MESSAGE:
            copyByNumber(fr->GetRepeatedMessage(from, f, i), tr->AddMessage(to, t));
            break;
        }
      }
      continue;
    }
    switch (f->cpp_type()) {
      case C::CPPTYPE_INT32: tr->SetInt32(to, t, fr->GetInt32(from, f)); break;
      case C::CPPTYPE_INT64: tr->SetInt64(to, t, fr->GetInt64(from, f)); break;
      case C::CPPTYPE_UINT32: tr->SetUInt32(to, t, fr->GetUInt32(from, f)); break;
      case C::CPPTYPE_UINT64: tr->SetUInt64(to, t, fr->GetUInt64(from, f)); break;
      case C::CPPTYPE_DOUBLE: tr->SetDouble(to, t, fr->GetDouble(from, f)); break;
      case C::CPPTYPE_FLOAT: tr->SetFloat(to, t, fr->GetFloat(from, f)); break;
      case C::CPPTYPE_BOOL: tr->SetBool(to, t, fr->GetBool(from, f)); break;
      case C::CPPTYPE_ENUM: tr->SetEnumValue(to, t, fr->GetEnumValue(from, f)); break;
      case C::CPPTYPE_STRING: tr->SetString(to, t, fr->GetString(from, f)); break;
      case C::CPPTYPE_MESSAGE:
        copyByNumber(fr->GetMessage(from, f), tr->MutableMessage(to, t));
        break;
    }
  }
  tr->MutableUnknownFields(to)->MergeFrom(fr->GetUnknownFields(from));
}

}  // namespace lapor::grpcx
