// Publisher keys from config: kept hashed, checked, and config mistakes named.
#include "config/config.h"
#include "auth/sha256.h"
#include "publishers.h"

#include <gtest/gtest.h>

namespace lapor::intake {
namespace {

config::Config cfg(const std::string& yaml) {
  return config::Config::fromString(yaml, [](const std::string&) { return std::nullopt; });
}

TEST(PublishersTest, Sha256IsTheStandardOne) {
  EXPECT_EQ(auth::sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(PublishersTest, KeysAuthenticateTheirPublisher) {
  auto r =
      PublisherRegistry::fromConfig(cfg("publishers:\n"
                                        "  - {id: hub, key_sha256: " +
                                        auth::sha256Hex("hub-key") +
                                        ", rate_limit: 7}\n"
                                        "auth: {allow_keyless: false, rate_window: 30s}\n"));
  auto ok = r.authenticate(std::string("hub-key"));
  ASSERT_NE(ok.publisher, nullptr);
  EXPECT_EQ(ok.publisher->id, "hub");
  EXPECT_EQ(ok.publisher->rate_limit, 7);
  EXPECT_EQ(r.window(), std::chrono::seconds(30));
  EXPECT_EQ(r.authenticate(std::string("HUB-KEY")).publisher, nullptr);
  EXPECT_EQ(r.authenticate(std::nullopt).publisher, nullptr);  // keyless not allowed here
  EXPECT_FALSE(r.authenticate(std::nullopt).error.empty());
}

TEST(PublishersTest, KeylessCallersArePublicWhenAllowed) {
  auto r = PublisherRegistry::fromConfig(cfg("auth: {keyless_rate_limit: 3}\n"));
  auto a = r.authenticate(std::nullopt);
  ASSERT_NE(a.publisher, nullptr);
  EXPECT_EQ(a.publisher->id, "public");
  EXPECT_EQ(a.publisher->rate_limit, 3);
  // A key that is given must be right, even where keyless calls are allowed.
  EXPECT_EQ(r.authenticate(std::string("guess")).publisher, nullptr);
}

TEST(PublishersTest, ConfigMistakesAreNamed) {
  for (const char* bad : {"publishers: {id: x}\n", "publishers:\n  - {id: x, key_sha256: abc}\n",
                          "publishers:\n  - {key_sha256: "
                          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad}\n",
                          "publishers:\n"
                          "  - {id: a, key_sha256: "
                          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad}\n"
                          "  - {id: b, key_sha256: "
                          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad}\n",
                          "auth: {rate_window: 1ms}\n"}) {
    try {
      PublisherRegistry::fromConfig(cfg(bad));
      ADD_FAILURE() << "accepted: " << bad;
    } catch (const config::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("config key"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace lapor::intake
