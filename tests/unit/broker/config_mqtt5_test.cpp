// The MQTT 5 config keys: values, defaults, and errors that name the file and line.
#include <gtest/gtest.h>

#include "config_errors.hpp"
#include "petrel/broker/config.hpp"

namespace petrel::broker {
namespace {

TEST(ConfigMqtt5, DefaultsOfferEverything) {
    const Config config = parse_config("", "test.conf");
    EXPECT_TRUE(config.retain_available);
    EXPECT_EQ(config.maximum_qos, 2);
    EXPECT_TRUE(config.wildcard_subscription_available);
    EXPECT_TRUE(config.subscription_identifier_available);
    EXPECT_TRUE(config.shared_subscription_available);
    EXPECT_EQ(config.shared_subscription_strategy, SharedStrategy::RoundRobin);
    EXPECT_EQ(config.receive_maximum, 65535);
    EXPECT_EQ(config.topic_alias_maximum, 10);
    EXPECT_EQ(config.outgoing_topic_alias_maximum, 10);
    EXPECT_EQ(config.response_topic_prefix, "response/");
    EXPECT_FALSE(config.server_redirect);
}

TEST(ConfigMqtt5, EveryKeyIsRead) {
    const Config config = parse_config(
        "retain_available false\nmax_qos 1\nwildcard_subscription_available false\n"
        "subscription_identifier_available false\nshared_subscription_available false\n"
        "shared_subscription_strategy hash_client\nreceive_maximum 7\ntopic_alias_maximum 0\n"
        "outgoing_topic_alias_maximum 3\nresponse_topic_prefix\nmax_subscriptions_per_client 4\n"
        "server_redirect other:1883 moved\npassword_file /tmp/users\n",
        "test.conf");
    EXPECT_FALSE(config.retain_available);
    EXPECT_EQ(config.maximum_qos, 1);
    EXPECT_FALSE(config.wildcard_subscription_available);
    EXPECT_FALSE(config.subscription_identifier_available);
    EXPECT_FALSE(config.shared_subscription_available);
    EXPECT_EQ(config.shared_subscription_strategy, SharedStrategy::HashClient);
    EXPECT_EQ(config.receive_maximum, 7);
    EXPECT_EQ(config.topic_alias_maximum, 0);
    EXPECT_EQ(config.outgoing_topic_alias_maximum, 3);
    EXPECT_EQ(config.response_topic_prefix, "");
    EXPECT_EQ(config.max_subscriptions_per_client, 4u);
    ASSERT_TRUE(config.server_redirect);
    EXPECT_EQ(config.server_redirect->reference, "other:1883");
    EXPECT_TRUE(config.server_redirect->moved);
    EXPECT_EQ(config.password_file, "/tmp/users");
}

TEST(ConfigAnonymous, AllowedByDefaultOnlyWhenEveryListenerIsOnLoopback) {
    EXPECT_TRUE(parse_config("", "t").effective_allow_anonymous());  // 127.0.0.1:1883
    EXPECT_TRUE(parse_config("listener 1883 127.0.0.1\nlistener 1884 ::1\n", "t")
                    .effective_allow_anonymous());
    EXPECT_FALSE(parse_config("listener 1883\n", "t").effective_allow_anonymous());  // 0.0.0.0
    EXPECT_FALSE(parse_config("listener 1883 127.0.0.1\nlistener 1884 192.0.2.1\n", "t")
                     .effective_allow_anonymous());
    EXPECT_TRUE(
        parse_config("listener 1883\nallow_anonymous true\n", "t").effective_allow_anonymous());
    EXPECT_FALSE(parse_config("allow_anonymous false\n", "t").effective_allow_anonymous());
}

TEST(ConfigMqtt5, BadValuesNameTheLine) {
    expect_config_error("\nmax_qos 3\n", "test.conf:2:");
    expect_config_error("shared_subscription_strategy fastest\n",
                        "round_robin, random or hash_client");
    expect_config_error("receive_maximum 0\n", "test.conf:1:");
    expect_config_error("server_redirect a b\n", "use_another or moved");
    expect_config_error("retain_available maybe\n", "true or false");
}

}  // namespace
}  // namespace petrel::broker
