// The harness's own pure parts: the complaint mix is what intake accepts and reaches the
// agencies the shipped rules name; percentiles are exact nearest-rank values.
#include "domain/validation.h"
#include "measure.h"
#include "workload.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <map>
#include <set>

namespace lapor::bench {
namespace {

const agencies::AgencyDirectory& directory() {
  static const auto d =
      agencies::AgencyDirectory::loadFile(LAPOR_SOURCE_DIR "/deploy/config/agencies.yaml");
  return d;
}

TEST(Workload, EveryComplaintIsValidForIntake) {
  Workload w(directory(), 7);
  for (int i = 0; i < 2000; ++i) {
    const auto item = w.next();
    const auto violations = intake::validateSubmission(item.request, directory());
    ASSERT_TRUE(violations.empty()) << "complaint " << i << ": " << violations.front().field << " "
                                    << violations.front().description;
  }
}

TEST(Workload, MixCoversEveryCategoryAndSizeClassWithKnownAgencies) {
  Workload w(directory(), 7);
  std::map<std::string, int> categories;
  size_t longest = 0, shortest = SIZE_MAX;
  for (int i = 0; i < 5000; ++i) {
    const auto item = w.next();
    ++categories[item.request.category()];
    longest = std::max(longest, item.request.description().size());
    shortest = std::min(shortest, item.request.description().size());
    ASSERT_FALSE(item.agencies.empty());
    for (const auto& a : item.agencies) EXPECT_NE(directory().find(a), nullptr) << a;
  }
  EXPECT_EQ(categories.size(), directory().categories().size());
  EXPECT_GT(categories["road-damage"], categories["landslide"]);
  EXPECT_GT(longest, 1500u);
  EXPECT_LT(shortest, 400u);
}

TEST(Workload, ExpectedAgenciesFollowTheShippedRules) {
  Workload w(directory(), 7);
  w.setRoundRobin(true);
  std::map<std::string, std::set<std::string>> seen;
  for (size_t i = 0; i < directory().categories().size(); ++i) {
    const auto item = w.next();
    seen[item.request.category()] = {item.agencies.begin(), item.agencies.end()};
  }
  // Round robin reaches every category in one turn.
  EXPECT_EQ(seen.size(), directory().categories().size());
  EXPECT_EQ(seen["fire"], (std::set<std::string>{"disdamkar", "rsud-kudungga", "polres-kutim"}));
  EXPECT_EQ(seen["other"], (std::set<std::string>{"triage"}));
}

TEST(Workload, SameSeedSameComplaints) {
  Workload a(directory(), 11), b(directory(), 11);
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(a.next().request.SerializeAsString(), b.next().request.SerializeAsString());
}

TEST(Summarize, NearestRankPercentiles) {
  std::vector<double> samples;
  for (int i = 1000; i >= 1; --i) samples.push_back(i);
  const auto s = summarize(samples);
  EXPECT_EQ(s.count, 1000u);
  EXPECT_DOUBLE_EQ(s.p50, 500);
  EXPECT_DOUBLE_EQ(s.p90, 900);
  EXPECT_DOUBLE_EQ(s.p99, 990);
  EXPECT_DOUBLE_EQ(s.p999, 999);
  EXPECT_DOUBLE_EQ(s.max, 1000);
  EXPECT_DOUBLE_EQ(s.mean, 500.5);
}

TEST(Summarize, EmptyAndSingle) {
  EXPECT_EQ(summarize({}).count, 0u);
  const auto one = summarize({3.5});
  EXPECT_DOUBLE_EQ(one.p50, 3.5);
  EXPECT_DOUBLE_EQ(one.p999, 3.5);
}

TEST(CpuSeconds, OwnProcessIsReadAndAGoneOneIsMinusOne) {
  EXPECT_GE(cpuSeconds(getpid()), 0.0);
  EXPECT_EQ(cpuSeconds(-1), -1.0);
}

}  // namespace
}  // namespace lapor::bench
