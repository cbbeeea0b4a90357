// Reads a request whose `string` fields may hold bytes that are not UTF-8.
//
// Protobuf's parser refuses a whole message when one proto3 `string` field is not UTF-8, and
// gRPC turns that into INTERNAL with no message, which tells a caller nothing about the field.
// The decoder parses the same bytes as a private twin of the request type in which every
// `string` is `bytes` (the same wire encoding), then copies the twin into the real message, so
// the service sees every field as sent and its validation can name the bad one.
#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/message.h>

#include <memory>
#include <string>
#include <string_view>

namespace lapor::grpcx {

class LenientDecoder {
 public:
  // `type` must come from the generated pool (T::descriptor()).
  explicit LenientDecoder(const google::protobuf::Descriptor* type);

  // Fills `out` (of the decoder's type) from its wire form; false with a reason in `error` when
  // the bytes are not an encoding of the type at all.
  bool decode(std::string_view wire, google::protobuf::Message* out, std::string* error) const;

 private:
  void addFile(const google::protobuf::FileDescriptor* file);

  std::string type_name_;
  google::protobuf::DescriptorPool pool_;
  mutable google::protobuf::DynamicMessageFactory factory_;
  const google::protobuf::Message* twin_ = nullptr;
};

// Copies every field that is set in `from` into `to` by field number; `to` has the same fields,
// where a `string` may be `bytes` (or the reverse). Unknown fields are kept.
void copyByNumber(const google::protobuf::Message& from, google::protobuf::Message* to);

}  // namespace lapor::grpcx
