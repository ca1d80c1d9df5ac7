// Topic names and filters (spec 4.7): + and # matching, $-topics against leading
// wildcards, overlapping subscriptions, re-subscribe, unsubscribe, invalid filters and
// topic names.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "support/broker_process.hpp"
#include "support/raw_client.hpp"
#include "support/versions.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;
using protocol::Disconnect;
using protocol::Subscription;

constexpr const char* kSentinel = "sentinel/end";

// Topics of the PUBLISHes `client` receives (acknowledged) up to the sentinel, sorted.
std::vector<std::string> topics_until_sentinel(RawClient& client) {
    std::vector<std::string> topics;
    while (auto message = client.receive_publish()) {
        if (message->topic == kSentinel) {
            std::sort(topics.begin(), topics.end());
            return topics;
        }
        topics.push_back(message->topic);
    }
    ADD_FAILURE() << "sentinel never arrived";
    return topics;
}

std::vector<std::string> sorted(std::vector<std::string> values) {
    std::sort(values.begin(), values.end());
    return values;
}

Subscription subscription(std::string filter, Qos qos) {
    Subscription result;
    result.filter = std::move(filter);
    result.options.qos = qos;
    return result;
}

class TopicTest : public ::testing::TestWithParam<ProtocolVersion> {
  protected:
    ProtocolVersion version() const { return GetParam(); }

    std::unique_ptr<RawClient> connected(const std::string& id) {
        auto client = std::make_unique<RawClient>(broker_.port(), version());
        auto connack = client->connect(id);
        EXPECT_TRUE(connack && connack->reason == ReasonCode::Success) << id;
        return client;
    }

    BrokerProcess broker_;
};

struct FilterCase {
    const char* filter;
    std::vector<std::string> matches;
};

TEST_P(TopicTest, WildcardsMatchByLevel) {
    const std::vector<std::string> topics{"a",  "a/b",  "a/c", "a/b/c", "b/b",   "/b",
                                          "a/", "a//c", "A/b", "$tst",  "$tst/b"};
    const std::vector<FilterCase> cases{
        {"a/b", {"a/b"}},
        {"a/+", {"a/b", "a/c", "a/"}},
        {"a/#", {"a", "a/b", "a/c", "a/b/c", "a/", "a//c"}},  // [MQTT-4.7.1-2] parent too
        {"+/b", {"a/b", "b/b", "/b", "A/b"}},                 // not $tst/b [MQTT-4.7.2-1]
        {"#", {"a", "a/b", "a/c", "a/b/c", "b/b", "/b", "a/", "a//c", "A/b"}},
        {"+", {"a"}},
        {"a/+/c", {"a/b/c", "a//c"}},
        {"+/+", {"a/b", "a/c", "b/b", "/b", "a/", "A/b"}},
        {"/+", {"/b"}},
        {"+/+/+", {"a/b/c", "a//c"}},
        {"$tst/#", {"$tst", "$tst/b"}},
        {"$tst/+", {"$tst/b"}},
        {"A/b", {"A/b"}},  // case-sensitive
    };

    std::vector<std::unique_ptr<RawClient>> subscribers;
    for (const auto& c : cases) {
        auto subscriber = connected("match-" + std::to_string(subscribers.size()));
        ASSERT_TRUE(subscriber->subscribe({subscription(c.filter, 1), subscription(kSentinel, 1)}));
        subscribers.push_back(std::move(subscriber));
    }
    auto publisher = connected("match-publisher");
    for (const auto& topic : topics) {
        ASSERT_TRUE(publisher->publish(topic, "m", 1)) << topic;
    }
    ASSERT_TRUE(publisher->publish(kSentinel, "end", 1));

    for (std::size_t i = 0; i < cases.size(); ++i) {
        EXPECT_EQ(topics_until_sentinel(*subscribers[i]), sorted(cases[i].matches))
            << "filter " << cases[i].filter;
    }
}

TEST_P(TopicTest, OverlappingSubscriptionsDeliverOnceAtTheHighestQos) {
    auto subscriber = connected("overlap-sub");
    auto suback = subscriber->subscribe({subscription("ov/+", 1), subscription("ov/#", 2),
                                         subscription("ov/x", 0), subscription(kSentinel, 1)});
    ASSERT_TRUE(suback);
    auto publisher = connected("overlap-pub");
    ASSERT_TRUE(publisher->publish("ov/x", "two", 2));
    ASSERT_TRUE(publisher->publish("ov/x", "one", 1));
    ASSERT_TRUE(publisher->publish(kSentinel, "end", 1));

    // [MQTT-3.3.5-1] / v5 [MQTT-3.3.4-2]: the maximum QoS of the matching subscriptions;
    // Petrel sends one copy only.
    auto first = subscriber->receive_publish();
    ASSERT_TRUE(first);
    EXPECT_EQ(payload_of(*first), "two");
    EXPECT_EQ(int{first->qos}, 2);
    auto second = subscriber->receive_publish();
    ASSERT_TRUE(second);
    EXPECT_EQ(payload_of(*second), "one");
    EXPECT_EQ(int{second->qos}, 1);
    auto third = subscriber->receive_publish();
    ASSERT_TRUE(third);
    EXPECT_EQ(third->topic, kSentinel) << "a second copy arrived: " << describe(*third);
}

TEST_P(TopicTest, ResubscribeReplacesTheSubscription) {
    auto subscriber = connected("resub-sub");
    ASSERT_TRUE(subscriber->subscribe({subscription("re/x", 0), subscription(kSentinel, 1)}));
    auto publisher = connected("resub-pub");
    ASSERT_TRUE(publisher->publish("re/x", "before", 2));
    auto before = subscriber->receive_publish();
    ASSERT_TRUE(before);
    EXPECT_EQ(int{before->qos}, 0);

    // [MQTT-3.8.4-3] an identical filter replaces the existing subscription.
    auto suback = subscriber->subscribe("re/x", 2);
    ASSERT_TRUE(suback);
    EXPECT_EQ(suback->reasons.at(0), ReasonCode::GrantedQos2);
    ASSERT_TRUE(publisher->publish("re/x", "after", 2));
    ASSERT_TRUE(publisher->publish(kSentinel, "end", 1));
    auto after = subscriber->receive_publish();
    ASSERT_TRUE(after);
    EXPECT_EQ(payload_of(*after), "after");
    EXPECT_EQ(int{after->qos}, 2);
    auto next = subscriber->receive_publish();
    ASSERT_TRUE(next);
    EXPECT_EQ(next->topic, kSentinel) << "duplicate: " << describe(*next);
}

TEST_P(TopicTest, UnsubscribeStopsDelivery) {
    auto subscriber = connected("unsub-sub");
    ASSERT_TRUE(subscriber->subscribe({subscription("un/x", 1), subscription(kSentinel, 1)}));
    auto publisher = connected("unsub-pub");
    ASSERT_TRUE(publisher->publish("un/x", "while subscribed", 1));
    auto first = subscriber->receive_publish();
    ASSERT_TRUE(first);
    EXPECT_EQ(payload_of(*first), "while subscribed");

    auto unsuback = subscriber->unsubscribe({"un/x", "never/subscribed"});
    ASSERT_TRUE(unsuback);
    if (is_v5(version())) {
        ASSERT_EQ(unsuback->reasons.size(), 2u);
        EXPECT_EQ(unsuback->reasons[0], ReasonCode::Success);
        EXPECT_EQ(unsuback->reasons[1], ReasonCode::NoSubscriptionExisted);
    }
    ASSERT_TRUE(publisher->publish("un/x", "after unsubscribe", 1));
    ASSERT_TRUE(publisher->publish(kSentinel, "end", 1));
    auto next = subscriber->receive_publish();
    ASSERT_TRUE(next);
    EXPECT_EQ(next->topic, kSentinel) << "still delivered: " << describe(*next);
}

TEST_P(TopicTest, InvalidFiltersAreRefusedInSuback) {
    auto subscriber = connected("bad-filter-sub");
    auto suback = subscriber->subscribe({subscription("ok/filter", 1), subscription("a/#/b", 1),
                                         subscription("a+/b", 0), subscription("#/x", 2)});
    ASSERT_TRUE(suback);
    ASSERT_EQ(suback->reasons.size(), 4u);
    EXPECT_EQ(suback->reasons[0], ReasonCode::GrantedQos1);
    // v5: 0x8F Topic Filter invalid; 3.1.1: 0x80 Failure.
    const auto refused =
        is_v5(version()) ? ReasonCode::TopicFilterInvalid : ReasonCode::UnspecifiedError;
    for (std::size_t i = 1; i < 4; ++i) {
        EXPECT_EQ(suback->reasons[i], refused) << "filter " << i;
    }
    // The valid one works and the connection stays up.
    auto publisher = connected("bad-filter-pub");
    ASSERT_TRUE(publisher->publish("ok/filter", "fine", 1));
    auto message = subscriber->receive_publish();
    ASSERT_TRUE(message);
    EXPECT_EQ(payload_of(*message), "fine");
}

void expect_closed_for_topic(RawClient& client, const std::string& topic) {
    ASSERT_TRUE(client.send(make_publish(topic, "bad", 0)));
    if (is_v5(client.version())) {
        auto disconnect = client.expect<Disconnect>();
        ASSERT_TRUE(disconnect) << "topic '" << topic << "'";
        const auto reason = disconnect->reason;
        EXPECT_TRUE(reason == ReasonCode::TopicNameInvalid || reason == ReasonCode::ProtocolError ||
                    reason == ReasonCode::MalformedPacket)
            << describe(*disconnect);
    }
    EXPECT_TRUE(client.wait_closed()) << "topic '" << topic << "'";
}

TEST_P(TopicTest, WildcardInTopicNameCloses) {
    auto plus = connected("wild-plus");
    expect_closed_for_topic(*plus, "a/+/b");  // [MQTT-3.3.2-2]
    auto hash = connected("wild-hash");
    expect_closed_for_topic(*hash, "a/#");
}

TEST_P(TopicTest, EmptyTopicNameCloses) {
    auto client = connected("empty-topic");
    expect_closed_for_topic(*client, "");  // [MQTT-4.7.3-1] (v5: no topic alias either)
}

INSTANTIATE_TEST_SUITE_P(Versions, TopicTest, both_versions(), VersionParamName{});

TEST(TopicV5Test, NoLocalSkipsTheClientsOwnMessages) {
    BrokerProcess broker;
    RawClient client(broker.port(), ProtocolVersion::V5);
    ASSERT_TRUE(client.connect("no-local"));
    Subscription no_local = subscription("nl/t", 1);
    no_local.options.no_local = true;
    ASSERT_TRUE(client.subscribe({no_local}));
    ASSERT_TRUE(client.publish("nl/t", "own", 1));  // [MQTT-3.8.3-3] not sent back

    RawClient other(broker.port(), ProtocolVersion::V5);
    ASSERT_TRUE(other.connect("no-local-other"));
    ASSERT_TRUE(other.publish("nl/t", "other", 1));
    auto message = client.receive_publish();
    ASSERT_TRUE(message);
    EXPECT_EQ(payload_of(*message), "other");
}

}  // namespace
}  // namespace petrel::test
