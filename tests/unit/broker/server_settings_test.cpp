// What the broker's configuration makes of the server role's settings: the defaults a
// user gets without a config file, and each keyword reaching its setting.
#include <gtest/gtest.h>

#include "server_capabilities.hpp"

namespace petrel::broker {
namespace {

using namespace std::chrono_literals;

// The documented default connect timeout is 10 s (README.md); the endpoint's
// unit tests (server_timeouts_test.cpp) show it is held to the millisecond.
TEST(ServerSettings, DefaultsWithoutAConfigFile) {
    const connection::ServerSettings settings = server_settings(Config{});
    EXPECT_EQ(settings.connect_timeout, 10s);
    EXPECT_EQ(settings.max_keepalive, 0);
    EXPECT_EQ(settings.max_inbound_message_rate, 0u);
    EXPECT_EQ(settings.capabilities, server_capabilities(Config{}));
}

TEST(ServerSettings, EachKeywordReachesItsSetting) {
    Config config;
    config.connect_timeout_seconds = 3;
    config.max_keepalive = 30;
    config.max_inbound_message_rate = 50;
    config.outgoing_topic_alias_maximum = 7;
    config.receive_maximum = 9;
    const connection::ServerSettings settings = server_settings(config);
    EXPECT_EQ(settings.connect_timeout, 3s);
    EXPECT_EQ(settings.max_keepalive, 30);
    EXPECT_EQ(settings.max_inbound_message_rate, 50u);
    EXPECT_EQ(settings.outgoing_topic_alias_maximum, 7);
    EXPECT_EQ(settings.capabilities.receive_maximum, 9);
}

}  // namespace
}  // namespace petrel::broker
