// The passes of a batch: the earliest unfinished message of every key per pass, and a retried
// key holding back its later messages (they are retried too, in the order read).
#include "kafka/batch_passes.h"

#include <gtest/gtest.h>

namespace lapor::kafka {
namespace {

TEST(BatchPassesTest, EachPassTakesTheEarliestUnfinishedMessageOfEveryKey) {
  // a1 b1 x a2 b2 a3, x decided before the first pass (undecodable)
  BatchPasses p(6);
  for (auto [i, k] : {std::pair{0, "a"}, {1, "b"}, {3, "a"}, {4, "b"}, {5, "a"}}) p.setKey(i, k);
  p.finish(2, HandleResult::deadLetter("undecodable", "x"));
  EXPECT_EQ(p.next(), (std::vector<size_t>{0, 1}));
  p.finish(0, HandleResult::done());
  // b1 was not finished (its write must be decided again): it comes back before b2.
  EXPECT_EQ(p.next(), (std::vector<size_t>{1, 3}));
  p.finish(1, HandleResult::done());
  p.finish(3, HandleResult::done());
  EXPECT_EQ(p.next(), (std::vector<size_t>{4, 5}));
  p.finish(4, HandleResult::done());
  p.finish(5, HandleResult::done());
  EXPECT_TRUE(p.next().empty());
  const auto out = p.take();
  ASSERT_EQ(out.size(), 6u);
  EXPECT_EQ(out[2].outcome, Outcome::DeadLetter);
  for (size_t i : {0u, 1u, 3u, 4u, 5u}) EXPECT_EQ(out[i].outcome, Outcome::Done) << i;
}

TEST(BatchPassesTest, ARetriedKeyHoldsBackItsLaterMessagesOnly) {
  BatchPasses p(5);  // a1 b1 a2 b2 a3
  for (auto [i, k] : {std::pair{0, "a"}, {1, "b"}, {2, "a"}, {3, "b"}, {4, "a"}}) p.setKey(i, k);
  EXPECT_EQ(p.next(), (std::vector<size_t>{0, 1}));
  p.retry(0, "redis", "down");
  p.finish(1, HandleResult::done());
  EXPECT_EQ(p.next(), (std::vector<size_t>{3})) << "a's later messages must wait";
  p.finish(3, HandleResult::done());
  EXPECT_TRUE(p.next().empty());
  const auto out = p.take();
  EXPECT_EQ(out[0].outcome, Outcome::Retry);
  EXPECT_EQ(out[0].reason, "redis");
  EXPECT_EQ(out[2].outcome, Outcome::Retry);
  EXPECT_EQ(out[2].reason, "order");
  EXPECT_EQ(out[4].outcome, Outcome::Retry);
  EXPECT_EQ(out[1].outcome, Outcome::Done);
  EXPECT_EQ(out[3].outcome, Outcome::Done);
}

}  // namespace
}  // namespace lapor::kafka
