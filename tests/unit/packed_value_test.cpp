#include "redis/packed_value.h"

#include "lapor/v1/routing_admin.pb.h"

#include <gtest/gtest.h>

namespace lapor::redis {
namespace {

// A record of the kind routing stores: the same complaint in every event it holds.
std::string repetitiveRecord() {
  v1::RoutingOutputs o;
  for (int i = 0; i < 4; ++i) {
    auto* item = o.add_items();
    item->set_topic("lapor.dispatch.dinas-pu.v1");
    item->set_envelope("complaint c-1: Jalan berlubang di depan pasar, dekat sekolah dasar " +
                       std::string(600, 'a' + i % 2));
  }
  o.set_source_topic("lapor.complaints.v1");
  return o.SerializeAsString();
}

TEST(PackedValue, ALargeRepetitiveRecordIsStoredCompressedAndReadBackWhole) {
  const auto value = repetitiveRecord();
  const auto stored = packValue(value);
  EXPECT_TRUE(isPacked(stored));
  EXPECT_LT(stored.size() * 4, value.size()) << "the repeated complaint kept once";
  const auto back = unpackValue(stored);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, value);
}

TEST(PackedValue, SmallOrIncompressibleValuesAreStoredAsTheyAre) {
  const std::string small(kPackFrom - 1, 'x');
  EXPECT_EQ(packValue(small), small);
  // Bytes that do not compress (a pseudo-random run) stay as they are: a frame would be larger.
  std::string noise;
  uint32_t x = 2463534242u;
  for (int i = 0; i < 2000; ++i) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    noise.push_back(static_cast<char>(x & 0xff));
  }
  noise[0] = 0x0a;  // as every stored message starts
  EXPECT_EQ(packValue(noise), noise);
  EXPECT_FALSE(isPacked(noise));
}

// A value written before values were packed (a serialized message) reads as it is.
TEST(PackedValue, AValueStoredBeforeReadsAsItIs) {
  const auto value = repetitiveRecord();
  EXPECT_FALSE(isPacked(value));
  const auto back = unpackValue(value);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, value);
  EXPECT_EQ(*unpackValue(""), "");
}

TEST(PackedValue, ADamagedFrameIsNoValue) {
  auto stored = packValue(repetitiveRecord());
  ASSERT_TRUE(isPacked(stored));
  EXPECT_FALSE(unpackValue(stored.substr(0, stored.size() / 2))) << "cut short";
  stored[stored.size() / 2] ^= 0x5a;
  stored[stored.size() / 2 + 1] ^= 0x5a;
  EXPECT_FALSE(unpackValue(stored)) << "changed in the middle: its checksum fails";
  EXPECT_FALSE(unpackValue(std::string("\x28\xb5\x2f\xfd", 4))) << "a magic number alone";
}

TEST(PackedValue, AMessageIsParsedFromEitherFormAndNotFromADamagedFrame) {
  const auto value = repetitiveRecord();
  v1::RoutingOutputs from_frame, from_plain, damaged;
  ASSERT_TRUE(parsePacked(from_frame, packValue(value)));
  ASSERT_TRUE(parsePacked(from_plain, value));
  EXPECT_EQ(from_frame.SerializeAsString(), value);
  EXPECT_EQ(from_plain.SerializeAsString(), value);
  auto stored = packValue(value);
  stored[stored.size() / 2] ^= 0x5a;
  EXPECT_FALSE(parsePacked(damaged, stored));
  EXPECT_FALSE(parsePacked(damaged, std::string("\x0a\xff", 2))) << "a message cut short";
}

}  // namespace
}  // namespace lapor::redis
