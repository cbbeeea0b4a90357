// Tracking ids: format, normalisation, and the check symbol catching every single typo and
// every swap of neighbouring characters.
#include "domain/tracking_id.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>

namespace lapor::intake {
namespace {

constexpr char kDigits[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";  // Crockford base32
const std::regex kFormat("LPR-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z*~$=U]");

// Digits 0 R 1 T X 4 H 8 (all different, with a 0 and a 1 for the look-alike cases).
constexpr uint64_t kSampleBits = 0x603ae9228;
const std::string kSample = "LPR-0R1T-X4H8-K";
// Positions of the 8 data characters in the formatted id.
constexpr size_t kDataPos[8] = {4, 5, 6, 7, 9, 10, 11, 12};

TEST(TrackingIdTest, FromBitsKnownAnswer) {
  EXPECT_EQ(TrackingId::fromBits(kSampleBits), kSample);
  EXPECT_EQ(TrackingId::fromBits(0), "LPR-0000-0000-0");
  // 2^40 - 1 = 1099511627775, which is 15 (symbol F) mod 37.
  EXPECT_EQ(TrackingId::fromBits((uint64_t{1} << 40) - 1), "LPR-ZZZZ-ZZZZ-F");
  // Only the low 40 bits count.
  EXPECT_EQ(TrackingId::fromBits((uint64_t{1} << 40) | kSampleBits), kSample);
}

TEST(TrackingIdTest, GeneratedIdsHaveTheFormatAndVerify) {
  for (int i = 0; i < 1'000; ++i) {
    auto id = TrackingId::generate();
    ASSERT_TRUE(std::regex_match(id, kFormat)) << id;
    auto n = TrackingId::normalize(id);
    ASSERT_TRUE(n) << id;
    EXPECT_EQ(*n, id);
  }
}

TEST(TrackingIdTest, GenerateHasNoDuplicates) {
  std::set<std::string> seen;
  constexpr int kCount = 10'000;
  for (int i = 0; i < kCount; ++i) seen.insert(TrackingId::generate());
  EXPECT_EQ(seen.size(), static_cast<size_t>(kCount));
}

TEST(TrackingIdTest, NormalizeAcceptsWhatPeopleTypeOrSay) {
  const std::string inputs[] = {
      "LPR-0R1T-X4H8-K",  // as issued
      "lpr-0r1t-x4h8-k",  // lower case
      "LPR0R1TX4H8K",     // without hyphens
      "lpr 0r1t x4h8 k",  // spaces
      "LPR-OR1T-X4H8-K",  // letter O for zero
      "LPR-0RIT-X4H8-K",  // letter I for one
      "LPR-0RlT-X4H8-K",  // letter l for one
      "Lpr-oR1t-x4h8-K",  // a mix of all
  };
  for (const auto& in : inputs) {
    auto n = TrackingId::normalize(in);
    ASSERT_TRUE(n) << in;
    EXPECT_EQ(*n, kSample) << in;
  }
}

TEST(TrackingIdTest, NormalizeRejectsMalformedText) {
  const std::string inputs[] = {
      "",
      "LPR-0R1T-X4H8",     // no check symbol
      "LPR-0R1T-X4H8-KK",  // too long
      "LPX-0R1T-X4H8-K",   // wrong prefix
      "ABC0R1TX4H8K",      // wrong prefix, right length
      "LPR-0R1U-X4H8-K",   // U is a check symbol only
      "LPR-0R1*-X4H8-K",   // so is *
      "LPR-0R1T-X4H8-!",   // not a symbol at all
      "LPR-0R1T-X4H8-k\n",
  };
  for (const auto& in : inputs) EXPECT_FALSE(TrackingId::normalize(in)) << in;
}

TEST(TrackingIdTest, EverySingleSubstitutionIsRejected) {
  ASSERT_TRUE(TrackingId::normalize(kSample));
  int tried = 0;
  for (size_t pos : kDataPos) {
    for (const char* c = kDigits; *c; ++c) {
      if (*c == kSample[pos]) continue;
      std::string typo = kSample;
      typo[pos] = *c;
      EXPECT_FALSE(TrackingId::normalize(typo)) << typo << " was accepted for " << kSample;
      ++tried;
    }
  }
  EXPECT_EQ(tried, 8 * 31);
}

TEST(TrackingIdTest, EveryWrongCheckSymbolIsRejected) {
  constexpr char kChecks[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ*~$=U";
  const size_t check_pos = kSample.size() - 1;
  for (const char* c = kChecks; *c; ++c) {
    if (*c == kSample[check_pos]) continue;
    std::string typo = kSample;
    typo[check_pos] = *c;
    EXPECT_FALSE(TrackingId::normalize(typo)) << typo;
  }
}

TEST(TrackingIdTest, EveryAdjacentTranspositionIsRejected) {
  int tried = 0;
  for (size_t i = 0; i + 1 < 8; ++i) {
    std::string swapped = kSample;
    std::swap(swapped[kDataPos[i]], swapped[kDataPos[i + 1]]);
    ASSERT_NE(swapped, kSample);
    EXPECT_FALSE(TrackingId::normalize(swapped)) << swapped << " was accepted for " << kSample;
    ++tried;
  }
  EXPECT_EQ(tried, 7);
}

TEST(TrackingIdTest, TyposOfRandomIdsAreRejectedToo) {
  for (int n = 0; n < 50; ++n) {
    const auto id = TrackingId::generate();
    for (size_t i = 0; i < 8; ++i) {
      std::string typo = id;
      typo[kDataPos[i]] = typo[kDataPos[i]] == 'Z' ? 'Y' : 'Z';
      EXPECT_FALSE(TrackingId::normalize(typo)) << typo << " for " << id;
      if (i + 1 < 8 && id[kDataPos[i]] != id[kDataPos[i + 1]]) {
        std::string swapped = id;
        std::swap(swapped[kDataPos[i]], swapped[kDataPos[i + 1]]);
        EXPECT_FALSE(TrackingId::normalize(swapped)) << swapped << " for " << id;
      }
    }
  }
}

}  // namespace
}  // namespace lapor::intake
