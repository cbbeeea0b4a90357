// LenientDecoder: a request whose text is not UTF-8 still arrives, field by field, so intake's
// validation can name the field; bytes that are no request are refused with a reason.
#include "domain/validation.h"
#include "grpc/lenient_decoder.h"
#include "intake_service.h"
#include "lapor/v1/intake.pb.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <set>

namespace lapor::grpcx {
namespace {

// The wire form of a length-delimited field: tag (number << 3 | 2), length, bytes.
std::string lengthDelimited(int number, const std::string& bytes) {
  std::string out;
  out += static_cast<char>(number << 3 | 2);
  out += static_cast<char>(bytes.size());
  return out + bytes;
}

v1::SubmitComplaintRequest sample() {
  v1::SubmitComplaintRequest r;
  r.set_channel(v1::CHANNEL_APP);
  r.set_category("road-damage");
  r.set_priority(v1::PRIORITY_HIGH);
  r.set_title("Jalan berlubang");
  r.set_description("Lubang besar di Jl. Soekarno-Hatta");
  r.mutable_location()->set_has_coordinates(true);
  r.mutable_location()->set_lat(0.5089);
  r.mutable_location()->set_kecamatan("Sangatta Selatan");
  r.mutable_reporter()->set_name("Siti");
  auto* a = r.add_attachments();
  a->set_url("https://example.org/1.jpg");
  r.add_attachments()->set_url("https://example.org/2.jpg");
  r.set_confidential(true);
  r.set_observed_at_ms(1'700'000'000'000);
  return r;
}

TEST(LenientDecoderTest, ValidRequestsDecodeToTheSameMessage) {
  LenientDecoder decoder(v1::SubmitComplaintRequest::descriptor());
  const auto in = sample();
  v1::SubmitComplaintRequest out;
  std::string error;
  ASSERT_TRUE(decoder.decode(in.SerializeAsString(), &out, &error)) << error;
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(in, out))
      << in.DebugString() << "\nvs\n"
      << out.DebugString();
}

TEST(LenientDecoderTest, TextThatIsNotUtf8ArrivesAndValidationNamesTheField) {
  const std::string wire = sample().SerializeAsString() + lengthDelimited(4, "Jalan \xff\xfe") +
                           lengthDelimited(6, lengthDelimited(6, "Jl. \xc3"));
  v1::SubmitComplaintRequest strict;
  EXPECT_FALSE(strict.ParseFromString(wire)) << "protobuf's own parser refuses the whole message";

  LenientDecoder decoder(v1::SubmitComplaintRequest::descriptor());
  v1::SubmitComplaintRequest out;
  std::string error;
  ASSERT_TRUE(decoder.decode(wire, &out, &error)) << error;
  EXPECT_EQ(out.title(), "Jalan \xff\xfe");
  EXPECT_EQ(out.location().address(), "Jl. \xc3");
  EXPECT_EQ(out.location().kecamatan(), "Sangatta Selatan");
  std::set<std::string> fields;
  const auto directory = agencies::AgencyDirectory::parse(
      "agencies:\n  - id: triage\ncategories:\n  - code: road-damage\n", "test-agencies.yaml");
  for (const auto& v : intake::validateSubmission(out, directory)) fields.insert(v.field);
  EXPECT_TRUE(fields.count("title")) << "title is named";
  EXPECT_TRUE(fields.count("location.address")) << "location.address is named";
}

TEST(LenientDecoderTest, BytesThatAreNoRequestAreRefusedWithTheTypeNamed) {
  LenientDecoder decoder(v1::SubmitComplaintRequest::descriptor());
  v1::SubmitComplaintRequest out;
  std::string error;
  // Field number 0 does not exist, and a length running past the end is truncated.
  EXPECT_FALSE(decoder.decode(std::string("\x00\x01", 2), &out, &error));
  EXPECT_NE(error.find("lapor.v1.SubmitComplaintRequest"), std::string::npos) << error;
  EXPECT_FALSE(decoder.decode("\x12\x7f" "abc", &out, &error));
}

TEST(LenientDecoderTest, UnknownFieldsAreKept) {
  LenientDecoder decoder(v1::GetComplaintRequest::descriptor());
  v1::GetComplaintRequest out;
  std::string error;
  ASSERT_TRUE(decoder.decode(lengthDelimited(1, "LPR-X") + lengthDelimited(15, "later"), &out,
                             &error));
  EXPECT_EQ(out.tracking_id(), "LPR-X");
  EXPECT_EQ(out.GetReflection()->GetUnknownFields(out).field_count(), 1);
}

TEST(IntakeGrpcServiceTest, RegistersEveryMethodOfTheContract) {
  v1::IntakeService::Service unimplemented;
  EXPECT_NO_THROW(intake::IntakeGrpcService service(unimplemented));
}

}  // namespace
}  // namespace lapor::grpcx
