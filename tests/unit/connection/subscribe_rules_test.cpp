#include "petrel/connection/subscribe_rules.hpp"

#include <gtest/gtest.h>

namespace petrel::connection {
namespace {

using protocol::ReasonCode;
using protocol::RetainHandling;

protocol::Subscription subscription(std::string filter, protocol::Qos qos = 1) {
    protocol::Subscription s;
    s.filter = std::move(filter);
    s.options.qos = qos;
    return s;
}

TEST(SubscribeRules, NoLocalOnASharedSubscriptionIsAProtocolError) {
    protocol::Subscribe subscribe;
    subscribe.subscriptions.push_back(subscription("a/b"));
    subscribe.subscriptions.back().options.no_local = true;
    EXPECT_FALSE(subscribe_violation(subscribe));
    subscribe.subscriptions.push_back(subscription("$share/g/a/b"));
    subscribe.subscriptions.back().options.no_local = true;
    const auto violation = subscribe_violation(subscribe);
    ASSERT_TRUE(violation);
    EXPECT_EQ(violation->code, ReasonCode::ProtocolError);
}

TEST(SubscribeRules, InvalidFiltersAreRefused) {
    const SubscribeLimits limits;
    EXPECT_EQ(filter_refusal(subscription("a/#/b"), false, limits), ReasonCode::TopicFilterInvalid);
    EXPECT_EQ(filter_refusal(subscription("a+/b"), false, limits), ReasonCode::TopicFilterInvalid);
    EXPECT_EQ(filter_refusal(subscription(""), false, limits), ReasonCode::TopicFilterInvalid);
    EXPECT_EQ(filter_refusal(subscription("$share/g"), false, limits),
              ReasonCode::TopicFilterInvalid);
    EXPECT_FALSE(filter_refusal(subscription("a/+/#"), false, limits));
    EXPECT_FALSE(filter_refusal(subscription("$share/g/a/+"), true, limits));
}

TEST(SubscribeRules, LevelsCountWithoutTheSharePrefix) {
    SubscribeLimits limits;
    limits.max_topic_levels = 2;
    EXPECT_FALSE(filter_refusal(subscription("a/b"), false, limits));
    EXPECT_FALSE(filter_refusal(subscription("$share/g/a/b"), false, limits));
    EXPECT_EQ(filter_refusal(subscription("a/b/c"), false, limits), ReasonCode::TopicFilterInvalid);
    EXPECT_EQ(filter_refusal(subscription("$share/g/a/b/c"), false, limits),
              ReasonCode::TopicFilterInvalid);
    EXPECT_FALSE(exceeds_topic_levels("a/b/c/d/e", 0));
}

TEST(SubscribeRules, FeaturesTheServerLeftOutAreRefused) {
    SubscribeLimits limits;
    limits.capabilities.shared_subscription_available = false;
    limits.capabilities.subscription_identifier_available = false;
    limits.capabilities.wildcard_subscription_available = false;
    EXPECT_EQ(filter_refusal(subscription("$share/g/a"), false, limits),
              ReasonCode::SharedSubscriptionsNotSupported);
    EXPECT_EQ(filter_refusal(subscription("a"), true, limits),
              ReasonCode::SubscriptionIdentifiersNotSupported);
    EXPECT_EQ(filter_refusal(subscription("a/+"), false, limits),
              ReasonCode::WildcardSubscriptionsNotSupported);
    EXPECT_EQ(filter_refusal(subscription("a/#"), false, limits),
              ReasonCode::WildcardSubscriptionsNotSupported);
    EXPECT_FALSE(filter_refusal(subscription("a/b"), false, limits));
}

TEST(SubscribeRules, GrantedQosNeverExceedsTheServerMaximum) {
    ServerCapabilities capabilities;
    EXPECT_EQ(granted_qos(2, capabilities), 2);
    capabilities.maximum_qos = 1;
    EXPECT_EQ(granted_qos(2, capabilities), 1);
    EXPECT_EQ(granted_qos(0, capabilities), 0);
    capabilities.maximum_qos = 0;
    EXPECT_EQ(granted_qos(1, capabilities), 0);
}

TEST(SubscribeRules, RetainedMessagesAsRetainHandlingSays) {
    protocol::SubscribeOptions options;
    options.retain_handling = RetainHandling::SendOnSubscribe;
    EXPECT_TRUE(sends_retained(options, false, true));
    EXPECT_TRUE(sends_retained(options, false, false));
    EXPECT_FALSE(sends_retained(options, true, true));
    options.retain_handling = RetainHandling::SendIfNewSubscription;
    EXPECT_TRUE(sends_retained(options, false, true));
    EXPECT_FALSE(sends_retained(options, false, false));
    EXPECT_FALSE(sends_retained(options, true, true));
    options.retain_handling = RetainHandling::DoNotSend;
    EXPECT_FALSE(sends_retained(options, false, true));
}

}  // namespace
}  // namespace petrel::connection
