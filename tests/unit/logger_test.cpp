// Logger: every line is one JSON object with ts, level, service, msg and the fields given.
#include "log/logger.h"
#include "tz_guard.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <regex>
#include <stdexcept>

namespace lapor::log {
namespace {

using nlohmann::json;

json parsed(const std::string& line) {
  EXPECT_EQ(line.find('\n'), std::string::npos) << "a log line must be a single line: " << line;
  return json::parse(line);  // throws (and fails the test) when the line is not JSON
}

// Epoch milliseconds of an RFC 3339 UTC timestamp "YYYY-MM-DDTHH:MM:SS.mmmZ".
int64_t parseUtcMs(const std::string& ts) {
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(ts.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
    throw std::invalid_argument("not a timestamp: " + ts);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(::timegm(&tm)) * 1000 + ms;
}

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST(LoggerTest, FormatIsJsonWithStandardKeys) {
  Logger logger("intake");
  auto line = parsed(logger.format(Level::Info, "complaint accepted", json::object()));
  ASSERT_TRUE(line.is_object());
  EXPECT_EQ(line.at("level"), "info");
  EXPECT_EQ(line.at("service"), "intake");
  EXPECT_EQ(line.at("msg"), "complaint accepted");
  ASSERT_TRUE(line.at("ts").is_string());
  EXPECT_TRUE(std::regex_match(line.at("ts").get<std::string>(),
                               std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)")))
      << line.at("ts");
  EXPECT_EQ(line.size(), 4u) << line.dump();
}

// An escalation's `level` once replaced the severity, so level=error filters missed errors.
TEST(LoggerTest, FieldsNeverReplaceTheStandardKeys) {
  Logger logger = Logger("sla-monitor").with({{"service", "other"}});
  auto line = parsed(logger.format(
      Level::Error, "escalated", {{"level", 2}, {"msg", "x"}, {"ts", "then"}, {"agency", "a"}}));
  EXPECT_EQ(line.at("level"), "error");
  EXPECT_EQ(line.at("service"), "sla-monitor");
  EXPECT_EQ(line.at("msg"), "escalated");
  EXPECT_NE(line.at("ts"), "then");
  EXPECT_EQ(line.at("fields.level"), 2);
  EXPECT_EQ(line.at("fields.msg"), "x");
  EXPECT_EQ(line.at("fields.ts"), "then");
  EXPECT_EQ(line.at("fields.service"), "other");
  EXPECT_EQ(line.at("agency"), "a");
}

TEST(LoggerTest, LevelNames) {
  Logger logger("routing");
  EXPECT_EQ(parsed(logger.format(Level::Debug, "m", {})).at("level"), "debug");
  EXPECT_EQ(parsed(logger.format(Level::Info, "m", {})).at("level"), "info");
  EXPECT_EQ(parsed(logger.format(Level::Warn, "m", {})).at("level"), "warn");
  EXPECT_EQ(parsed(logger.format(Level::Error, "m", {})).at("level"), "error");
}

TEST(LoggerTest, FieldsFromWithAndFromTheCallAreIncluded) {
  Logger base("notification");
  auto child = base.with({{"complaint_id", "c-1"}, {"trace_id", "t-1"}});
  auto line = parsed(child.format(Level::Warn, "delivery failed", {{"agency", "bpbd"}, {"n", 3}}));
  EXPECT_EQ(line.at("complaint_id"), "c-1");
  EXPECT_EQ(line.at("trace_id"), "t-1");
  EXPECT_EQ(line.at("agency"), "bpbd");
  EXPECT_EQ(line.at("n"), 3);
  EXPECT_EQ(line.at("service"), "notification");
  EXPECT_EQ(line.at("msg"), "delivery failed");

  // `with` makes a child: the parent's lines do not get its fields.
  auto parent_line = parsed(base.format(Level::Info, "m", {}));
  EXPECT_FALSE(parent_line.contains("complaint_id"));
}

TEST(LoggerTest, WithNestsAndCallFieldsWinOverWithFields) {
  auto child = Logger("sla-monitor").with({{"a", 1}, {"b", "outer"}}).with({{"b", "inner"}});
  auto line = parsed(child.format(Level::Info, "m", {{"a", 2}}));
  EXPECT_EQ(line.at("a"), 2);
  EXPECT_EQ(line.at("b"), "inner");
}

TEST(LoggerTest, MessageAndFieldsAreEscaped) {
  Logger logger("intake");
  const std::string tricky = "quote \" backslash \\ newline \n tab \t";
  auto line = parsed(logger.format(Level::Info, tricky, {{"detail", tricky}}));
  EXPECT_EQ(line.at("msg"), tricky);
  EXPECT_EQ(line.at("detail"), tricky);
}

TEST(LoggerTest, InvalidUtf8StillGivesValidJson) {
  Logger logger("intake");
  auto text = logger.format(Level::Info, "bad \xff byte", {{"detail", std::string("\xc3\x28")}});
  EXPECT_NO_THROW(parsed(text)) << text;
}

TEST(LoggerTest, TimestampIsUtcWhateverTheLocalZone) {
  // The trailing Z promises UTC; Kutai Timur runs its servers on WITA (UTC+8).
  lapor::testing::TzGuard tz(lapor::testing::kWita);
  Logger logger("intake");
  const int64_t before = nowMs();
  auto ts = parsed(logger.format(Level::Info, "m", {})).at("ts").get<std::string>();
  const int64_t after = nowMs();
  const int64_t at = parseUtcMs(ts);
  EXPECT_GE(at, before - 1000) << ts;
  EXPECT_LE(at, after + 1000) << ts;
}

TEST(LoggerTest, ParseLevel) {
  EXPECT_EQ(parseLevel("debug"), Level::Debug);
  EXPECT_EQ(parseLevel("info"), Level::Info);
  EXPECT_EQ(parseLevel("warn"), Level::Warn);
  EXPECT_EQ(parseLevel("warning"), Level::Warn);
  EXPECT_EQ(parseLevel("error"), Level::Error);
  EXPECT_THROW(parseLevel("verbose"), std::invalid_argument);
  EXPECT_THROW(parseLevel(""), std::invalid_argument);
}

}  // namespace
}  // namespace lapor::log
