// Retained messages (spec 3.3.1.3): sent with RETAIN=1 when a matching subscription is
// made, replaced by a newer one, deleted by an empty payload; live deliveries carry
// RETAIN=0 unless a v5 subscription asks for Retain As Published.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/broker_process.hpp"
#include "support/raw_client.hpp"
#include "support/versions.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;
using protocol::Publish;
using protocol::RetainHandling;
using protocol::Subscription;

class RetainedTest : public ::testing::TestWithParam<ProtocolVersion> {
  protected:
    ProtocolVersion version() const { return GetParam(); }

    std::unique_ptr<RawClient> connected(const std::string& id) {
        auto client = std::make_unique<RawClient>(broker_.port(), version());
        auto connack = client->connect(id);
        EXPECT_TRUE(connack && connack->reason == ReasonCode::Success) << id;
        return client;
    }

    // Publishes a live (non-retained) marker on `topic`; the next PUBLISH `subscriber`
    // receives must be that marker, proving no retained message was waiting before it.
    void expect_no_retained(RawClient& subscriber, const std::string& topic) {
        ASSERT_TRUE(publisher_->publish(topic, "live marker", 1));
        auto next = subscriber.receive_publish();
        ASSERT_TRUE(next);
        EXPECT_EQ(payload_of(*next), "live marker") << "unexpected " << describe(*next);
        EXPECT_FALSE(next->retain);
    }

    void SetUp() override { publisher_ = connected("retain-publisher"); }

    BrokerProcess broker_;
    std::unique_ptr<RawClient> publisher_;
};

TEST_P(RetainedTest, SentOnSubscribeToEveryMatchingFilter) {
    ASSERT_TRUE(publisher_->publish("ret/a", "A", 1, true));
    ASSERT_TRUE(publisher_->publish("ret/b", "B", 0, true));

    const std::vector<std::pair<std::string, std::vector<std::string>>> cases{
        {"ret/a", {"ret/a"}}, {"ret/+", {"ret/a", "ret/b"}}, {"#", {"ret/a", "ret/b"}}};
    int index = 0;
    for (const auto& [filter, expected] : cases) {
        auto subscriber = connected("retain-sub-" + std::to_string(++index));
        ASSERT_TRUE(subscriber->subscribe(filter, 2));
        std::map<std::string, Publish> got;
        for (std::size_t i = 0; i < expected.size(); ++i) {
            auto message = subscriber->receive_publish();
            ASSERT_TRUE(message) << filter;
            EXPECT_TRUE(message->retain) << filter << ": " << describe(*message);  // [MQTT-3.3.1-8]
            got[message->topic] = *message;
        }
        ASSERT_EQ(got.size(), expected.size()) << filter;
        EXPECT_EQ(payload_of(got["ret/a"]), "A");
        EXPECT_EQ(int{got["ret/a"].qos}, 1);
        if (got.contains("ret/b")) {
            EXPECT_EQ(payload_of(got["ret/b"]), "B");
            EXPECT_EQ(int{got["ret/b"].qos}, 0);
        }
        subscriber->expect_nothing(100ms);
    }

    auto unrelated = connected("retain-sub-unrelated");
    ASSERT_TRUE(unrelated->subscribe("ret/c", 1));
    expect_no_retained(*unrelated, "ret/c");
}

TEST_P(RetainedTest, DeliveredAtTheLowerQos) {
    ASSERT_TRUE(publisher_->publish("ret/q2", "two", 2, true));
    auto subscriber = connected("retain-q1");
    ASSERT_TRUE(subscriber->subscribe("ret/q2", 1));
    auto message = subscriber->receive_publish();
    ASSERT_TRUE(message);
    EXPECT_TRUE(message->retain);
    EXPECT_EQ(int{message->qos}, 1);
}

TEST_P(RetainedTest, NewerRetainedMessageReplacesOlder) {
    ASSERT_TRUE(publisher_->publish("ret/replace", "first", 1, true));
    ASSERT_TRUE(publisher_->publish("ret/replace", "second", 1, true));
    auto subscriber = connected("retain-replace");
    ASSERT_TRUE(subscriber->subscribe("ret/replace", 1));
    auto message = subscriber->receive_publish();
    ASSERT_TRUE(message);
    EXPECT_EQ(payload_of(*message), "second");
    EXPECT_TRUE(message->retain);
    expect_no_retained(*subscriber, "ret/replace");
}

TEST_P(RetainedTest, EmptyPayloadDeletesRetained) {
    ASSERT_TRUE(publisher_->publish("ret/delete", "doomed", 1, true));
    auto live = connected("retain-live");
    ASSERT_TRUE(live->subscribe("ret/delete", 1));
    auto retained = live->receive_publish();
    ASSERT_TRUE(retained);
    EXPECT_EQ(payload_of(*retained), "doomed");

    ASSERT_TRUE(publisher_->publish("ret/delete", "", 1, true));
    // [MQTT-3.3.1-10/11] it is still delivered to current subscribers, as a live message.
    auto deletion = live->receive_publish();
    ASSERT_TRUE(deletion);
    EXPECT_EQ(payload_of(*deletion), "");
    EXPECT_FALSE(deletion->retain);

    auto late = connected("retain-late");
    ASSERT_TRUE(late->subscribe("ret/delete", 1));
    expect_no_retained(*late, "ret/delete");
}

TEST_P(RetainedTest, LiveDeliveriesHaveRetainZero) {
    auto subscriber = connected("retain-live-flag");
    ASSERT_TRUE(subscriber->subscribe("ret/live", 2));
    ASSERT_TRUE(publisher_->publish("ret/live", "live", 2, true));
    auto message = subscriber->receive_publish();
    ASSERT_TRUE(message);
    EXPECT_EQ(payload_of(*message), "live");
    EXPECT_FALSE(message->retain);  // [MQTT-3.3.1-9], v5 [MQTT-3.3.1-12]
    // It was stored all the same.
    auto late = connected("retain-live-late");
    ASSERT_TRUE(late->subscribe("ret/live", 2));
    auto stored = late->receive_publish();
    ASSERT_TRUE(stored);
    EXPECT_TRUE(stored->retain);
}

TEST_P(RetainedTest, ResubscribeSendsRetainedAgain) {
    ASSERT_TRUE(publisher_->publish("ret/again", "again", 1, true));
    auto subscriber = connected("retain-again");
    ASSERT_TRUE(subscriber->subscribe("ret/again", 1));
    ASSERT_TRUE(subscriber->receive_publish());
    // 3.1.1 [MQTT-3.8.4-3]; v5 with the default Retain Handling 0.
    ASSERT_TRUE(subscriber->subscribe("ret/again", 1));
    auto again = subscriber->receive_publish();
    ASSERT_TRUE(again);
    EXPECT_EQ(payload_of(*again), "again");
    EXPECT_TRUE(again->retain);
}

INSTANTIATE_TEST_SUITE_P(Versions, RetainedTest, both_versions(), VersionParamName{});

// --- v5 subscription options ---

class RetainedV5Test : public RetainedTest {};

Subscription v5_subscription(std::string filter, RetainHandling handling, bool as_published) {
    Subscription result;
    result.filter = std::move(filter);
    result.options.qos = 1;
    result.options.retain_handling = handling;
    result.options.retain_as_published = as_published;
    return result;
}

TEST_P(RetainedV5Test, RetainAsPublishedKeepsTheFlag) {
    auto subscriber = connected("rap-sub");
    ASSERT_TRUE(
        subscriber->subscribe({v5_subscription("rap/t", RetainHandling::SendOnSubscribe, true)}));
    ASSERT_TRUE(publisher_->publish("rap/t", "kept", 1, true));
    auto message = subscriber->receive_publish();
    ASSERT_TRUE(message);
    EXPECT_TRUE(message->retain);  // [MQTT-3.3.1-13]
}

TEST_P(RetainedV5Test, RetainHandlingDoNotSend) {
    ASSERT_TRUE(publisher_->publish("rh/2", "stored", 1, true));
    auto subscriber = connected("rh2-sub");
    ASSERT_TRUE(subscriber->subscribe({v5_subscription("rh/2", RetainHandling::DoNotSend, false)}));
    expect_no_retained(*subscriber, "rh/2");  // [MQTT-3.3.1-11]
}

TEST_P(RetainedV5Test, RetainHandlingSendIfNewSubscription) {
    ASSERT_TRUE(publisher_->publish("rh/1", "stored", 1, true));
    auto subscriber = connected("rh1-sub");
    const auto options = v5_subscription("rh/1", RetainHandling::SendIfNewSubscription, false);
    ASSERT_TRUE(subscriber->subscribe({options}));
    auto first = subscriber->receive_publish();
    ASSERT_TRUE(first);
    EXPECT_TRUE(first->retain);
    ASSERT_TRUE(subscriber->subscribe({options}));  // exists already: not sent [MQTT-3.3.1-10]
    expect_no_retained(*subscriber, "rh/1");
}

INSTANTIATE_TEST_SUITE_P(V5, RetainedV5Test, ::testing::Values(ProtocolVersion::V5),
                         VersionParamName{});

}  // namespace
}  // namespace petrel::test
