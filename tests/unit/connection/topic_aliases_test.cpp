// Topic aliases of one connection (spec 3.3.2.3.4), both directions.
#include "petrel/connection/topic_aliases.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace petrel::connection {
namespace {

using protocol::PropertyId;
using protocol::ReasonCode;

protocol::Publish with_alias(std::string topic, std::uint32_t alias) {
    protocol::Publish publish;
    publish.topic = std::move(topic);
    publish.properties.add_number(PropertyId::TopicAlias, alias);
    return publish;
}

TEST(InboundTopicAliases, SetThenUse) {
    InboundTopicAliases aliases(10);
    protocol::Publish set = with_alias("a/b", 3);
    EXPECT_FALSE(aliases.resolve(set));
    EXPECT_EQ(set.topic, "a/b");
    EXPECT_FALSE(set.properties.contains(PropertyId::TopicAlias));  // never forwarded
    protocol::Publish use = with_alias("", 3);
    EXPECT_FALSE(aliases.resolve(use));
    EXPECT_EQ(use.topic, "a/b");
    protocol::Publish redefine = with_alias("c", 3);
    EXPECT_FALSE(aliases.resolve(redefine));
    protocol::Publish again = with_alias("", 3);
    EXPECT_FALSE(aliases.resolve(again));
    EXPECT_EQ(again.topic, "c");
}

TEST(InboundTopicAliases, OutOfRangeIsTopicAliasInvalid) {
    InboundTopicAliases aliases(10);
    for (std::uint32_t alias : {0U, 11U, 65535U}) {
        protocol::Publish publish = with_alias("t", alias);
        const auto error = aliases.resolve(publish);
        ASSERT_TRUE(error) << alias;
        EXPECT_EQ(error->code, ReasonCode::TopicAliasInvalid);  // [MQTT-3.3.2-8/9]
    }
    InboundTopicAliases none(0);
    protocol::Publish publish = with_alias("t", 1);
    ASSERT_TRUE(none.resolve(publish));
}

TEST(InboundTopicAliases, UnknownAliasWithEmptyTopicIsAProtocolError) {
    InboundTopicAliases aliases(10);
    protocol::Publish publish = with_alias("", 4);
    const auto error = aliases.resolve(publish);
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code, ReasonCode::ProtocolError);
}

TEST(InboundTopicAliases, NoAliasLeavesThePublishAlone) {
    InboundTopicAliases aliases(10);
    protocol::Publish publish;
    publish.topic = "x";
    EXPECT_FALSE(aliases.resolve(publish));
    EXPECT_EQ(publish.topic, "x");
}

TEST(OutboundTopicAliases, OffWhenTheClientAllowsNone) {
    OutboundTopicAliases aliases(0);
    EXPECT_FALSE(aliases.use("t"));
}

TEST(OutboundTopicAliases, FirstUseSendsTheTopicLaterOnesOnlyTheAlias) {
    OutboundTopicAliases aliases(2);
    auto first = aliases.use("a");
    ASSERT_TRUE(first);
    EXPECT_TRUE(first->send_topic);
    auto second = aliases.use("a");
    ASSERT_TRUE(second);
    EXPECT_FALSE(second->send_topic);
    EXPECT_EQ(second->alias, first->alias);
}

TEST(OutboundTopicAliases, ReassignedInTurnAndAlwaysConsistentForTheClient) {
    // The client's view: alias -> topic as the PUBLISHes it received defined them.
    OutboundTopicAliases aliases(2);
    std::map<std::uint16_t, std::string> client;
    const char* topics[] = {"a", "b", "c", "a", "a", "b", "c", "c", "d", "a"};
    for (const char* topic : topics) {
        const auto use = aliases.use(topic);
        ASSERT_TRUE(use);
        ASSERT_GE(use->alias, 1);
        ASSERT_LE(use->alias, 2);  // [MQTT-3.3.2-11] never above the client's maximum
        if (use->send_topic) {
            client[use->alias] = topic;
        }
        EXPECT_EQ(client[use->alias], topic);
    }
}

}  // namespace
}  // namespace petrel::connection
