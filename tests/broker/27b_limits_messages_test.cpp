// The limits on what a connected client sends, through the real broker:
// max_inbound_message_rate (MQTT 5: DISCONNECT 0x96, 3.1.1: closed; the will is published
// either way) and max_topic_levels (PUBLISH: v5 PUBACK/PUBREC 0x90, 3.1.1 acknowledged and
// dropped; SUBSCRIBE: 0x8F / 0x80 per filter; a will topic: CONNACK 0x90 / 0x03). Meanwhile
// the clients next to them keep getting their messages.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "support/broker_process.hpp"
#include "support/raw_client.hpp"
#include "support/well_behaved_pair.hpp"
#include "support/worker_placement.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;

constexpr unsigned kThreads = 2;

protocol::Subscription subscription(std::string filter, Qos qos) {
    protocol::Subscription s;
    s.filter = std::move(filter);
    s.options.qos = qos;
    return s;
}

protocol::Will will(std::string topic, std::string payload) {
    protocol::Will w;
    w.topic = std::move(topic);
    w.payload = protocol::make_payload(std::move(payload));
    w.qos = 1;
    return w;
}

// `count` QoS 0 PUBLISHes in one write, so the broker reads them all before it answers.
std::string publish_burst(ProtocolVersion version, int count) {
    std::string bytes;
    for (int i = 0; i < count; ++i) {
        protocol::encode(make_publish("flood/t", std::to_string(i)), version, bytes);
    }
    return bytes;
}

TEST(InboundMessageRateTest, AClientPublishingTooFastIsDisconnectedAndItsWillPublished) {
    ignore_sigpipe();
    BrokerProcess broker("threads 2\nmax_inbound_message_rate 20\n");
    WellBehavedPair pair(broker, "msgrate", kThreads);  // publishes well below the rate
    RawClient watcher(broker.port(), ProtocolVersion::V5);
    ASSERT_TRUE(watcher.connect(client_id_on_worker("will-watcher", 1, kThreads)));
    ASSERT_TRUE(watcher.subscribe("will/#", 1));
    pair.exchange(5);

    // MQTT 5: DISCONNECT 0x96 Message rate too high, with a Reason String.
    const std::string v5_id = client_id_on_worker("flooder-v5", 0, kThreads);
    RawClient v5(broker.port(), ProtocolVersion::V5);
    protocol::Connect connect = v5.connect_packet(v5_id);
    connect.will = will("will/v5", "v5 flooder gone");
    ASSERT_TRUE(v5.connect(connect));
    ASSERT_TRUE(v5.send_raw(publish_burst(ProtocolVersion::V5, 100)));
    auto disconnect = v5.wait_for<protocol::Disconnect>();
    ASSERT_TRUE(disconnect);
    EXPECT_EQ(disconnect->reason, ReasonCode::MessageRateTooHigh);
    EXPECT_EQ(disconnect->properties.text(protocol::PropertyId::ReasonString),
              std::optional<std::string>("more than 20 PUBLISH packets per second"));
    EXPECT_TRUE(v5.wait_closed());
    auto v5_will = watcher.receive_publish();
    ASSERT_TRUE(v5_will);
    EXPECT_EQ(v5_will->topic, "will/v5");
    EXPECT_EQ(payload_of(*v5_will), "v5 flooder gone");
    EXPECT_TRUE(broker.wait_for_log("client '" + v5_id +
                                    "' (127.0.0.1:"));  // the log line names the client
    EXPECT_NE(broker.log().find("more than max_inbound_message_rate 20 PUBLISH packets per "
                                "second, disconnecting"),
              std::string::npos)
        << broker.log();
    pair.exchange(5);

    // MQTT 3.1.1: closed (no DISCONNECT from a server in 3.1.1), the will published.
    const std::string v3_id = client_id_on_worker("flooder-v311", 1, kThreads);
    RawClient v3(broker.port(), ProtocolVersion::V311);
    connect = v3.connect_packet(v3_id);
    connect.will = will("will/v311", "v311 flooder gone");
    ASSERT_TRUE(v3.connect(connect));
    ASSERT_TRUE(v3.send_raw(publish_burst(ProtocolVersion::V311, 100)));
    EXPECT_TRUE(v3.wait_closed());
    auto v3_will = watcher.receive_publish();
    ASSERT_TRUE(v3_will);
    EXPECT_EQ(v3_will->topic, "will/v311");
    EXPECT_TRUE(
        broker.wait_for_log("client '" + v3_id + "' (127.0.0.1:"));  // and its line names it too
    pair.exchange(5);
}

TEST(TopicLevelsTest, DeeperTopicsFiltersAndWillTopicsAreRefused) {
    BrokerProcess broker("threads 2\nmax_topic_levels 4\n");
    WellBehavedPair pair(broker, "levels", kThreads);
    const std::string deep = "a/b/c/d/e";  // five levels
    const std::string fits = "a/b/c/d";
    RawClient watcher(broker.port(), ProtocolVersion::V5);
    ASSERT_TRUE(watcher.connect(client_id_on_worker("levels-watcher", 1, kThreads)));
    ASSERT_TRUE(watcher.subscribe("a/#", 1));

    // MQTT 5 PUBLISH: 0x90 Topic Name invalid ("not malformed, but not accepted"), with a
    // Reason String; QoS 0 is dropped. The connection stays.
    RawClient v5(broker.port(), ProtocolVersion::V5);
    ASSERT_TRUE(v5.connect(client_id_on_worker("levels-v5", 0, kThreads)));
    ASSERT_TRUE(v5.send(make_publish(deep, "q1", 1, false, 11)));
    auto puback = v5.wait_for<protocol::Puback>();
    ASSERT_TRUE(puback);
    EXPECT_EQ(puback->packet_id, 11);
    EXPECT_EQ(puback->reason, ReasonCode::TopicNameInvalid);
    EXPECT_TRUE(puback->properties.text(protocol::PropertyId::ReasonString));
    ASSERT_TRUE(v5.send(make_publish(deep, "q2", 2, false, 12)));
    auto pubrec = v5.wait_for<protocol::Pubrec>();
    ASSERT_TRUE(pubrec);
    EXPECT_EQ(pubrec->reason, ReasonCode::TopicNameInvalid);
    ASSERT_TRUE(v5.send(make_publish(deep, "q0", 0)));
    ASSERT_TRUE(v5.publish(fits, "v5 fits", 1));
    auto got = watcher.receive_publish();
    ASSERT_TRUE(got);
    EXPECT_EQ(got->topic, fits);  // none of the deep ones came first
    EXPECT_TRUE(broker.wait_for_log("PUBLISH to a topic of 5 levels dropped (max_topic_levels 4)"));

    // MQTT 5 SUBSCRIBE: 0x8F for each filter that is too deep; $share/g/ does not count.
    auto suback =
        v5.subscribe({subscription(deep, 1), subscription("a/+/c/#", 1),
                      subscription("$share/g/a/b/c/d", 1), subscription("$share/g/a/b/c/d/e", 1)});
    ASSERT_TRUE(suback);
    EXPECT_EQ(suback->reasons, (std::vector<protocol::SubackReason>{
                                   ReasonCode::TopicFilterInvalid, ReasonCode::GrantedQos1,
                                   ReasonCode::GrantedQos1, ReasonCode::TopicFilterInvalid}));

    // MQTT 3.1.1: SUBACK 0x80; a PUBLISH is acknowledged as usual (3.1.1 cannot refuse one,
    // and closing would make the client send it again forever) and dropped.
    RawClient v3(broker.port(), ProtocolVersion::V311);
    ASSERT_TRUE(v3.connect(client_id_on_worker("levels-v311", 1, kThreads)));
    suback = v3.subscribe(deep, 1);
    ASSERT_TRUE(suback);
    EXPECT_EQ(suback->reasons,
              std::vector<protocol::SubackReason>{ReasonCode::UnspecifiedError});  // 0x80
    EXPECT_TRUE(v3.publish(deep, "v3 q1", 1));
    EXPECT_TRUE(v3.publish(deep, "v3 q2", 2));
    EXPECT_TRUE(v3.publish(fits, "v3 fits", 1));
    got = watcher.receive_publish();
    ASSERT_TRUE(got);
    EXPECT_EQ(payload_of(*got), "v3 fits");
    watcher.expect_nothing();

    // A will topic that is too deep refuses the CONNECT: v5 0x90, 3.1.1 0x03.
    RawClient will_v5(broker.port(), ProtocolVersion::V5);
    protocol::Connect connect = will_v5.connect_packet("levels-will-v5");
    connect.will = will(deep, "never");
    auto connack = will_v5.connect(connect);
    ASSERT_TRUE(connack);
    EXPECT_EQ(connack->reason, ReasonCode::TopicNameInvalid);
    RawClient will_v3(broker.port(), ProtocolVersion::V311);
    connect = will_v3.connect_packet("levels-will-v311");
    connect.will = will(deep, "never");
    connack = will_v3.connect(connect);
    ASSERT_TRUE(connack);
    EXPECT_EQ(connack->reason, ReasonCode::ServerUnavailable);
    pair.exchange(5);
}

// 16b checks max_subscriptions_per_client for MQTT 5 (0x97); 3.1.1 has only 0x80.
TEST(SubscriptionLimitTest, MaxSubscriptionsPerClientRefusesA311FilterWith0x80) {
    BrokerProcess broker("threads 2\nmax_subscriptions_per_client 2\n");
    WellBehavedPair pair(broker, "subs", kThreads);
    RawClient client(broker.port(), ProtocolVersion::V311);
    ASSERT_TRUE(client.connect(client_id_on_worker("subs-v311", 1, kThreads)));
    auto suback =
        client.subscribe({subscription("s/1", 1), subscription("s/2", 1), subscription("s/3", 1)});
    ASSERT_TRUE(suback);
    EXPECT_EQ(suback->reasons,
              (std::vector<protocol::SubackReason>{ReasonCode::GrantedQos1, ReasonCode::GrantedQos1,
                                                   ReasonCode::UnspecifiedError}));
    pair.exchange(5);
}

}  // namespace
}  // namespace petrel::test
