// Normative statements of MQTT 5 (Appendix B) that no feature test covers on its own, each
// shown through the real broker with two workers (publisher and subscriber apart).
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/broker_process.hpp"
#include "support/raw_client.hpp"
#include "support/worker_placement.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;
using protocol::PropertyId;
using protocol::Publish;

constexpr unsigned kThreads = 2;

class Mqtt5ConformanceTest : public ::testing::Test {
  protected:
    // Subscribers live on worker 1, publishers on worker 0.
    static constexpr unsigned kSubscriberWorker = 1;
    static constexpr unsigned kPublisherWorker = 0;

    static std::string id_on(const std::string& stem, unsigned worker) {
        return client_id_on_worker(stem, worker, kThreads);
    }
    // A v5 client connected as `id`, checked to be homed on `worker`.
    std::unique_ptr<RawClient> client(const std::string& id, unsigned worker, bool clean = true,
                                      bool present = false) {
        auto connected_client = connected(broker_.port(), ProtocolVersion::V5, id, clean, present);
        expect_on_worker(broker_, id, worker);
        return connected_client;
    }
    std::unique_ptr<RawClient> connect_subscriber(const std::string& stem, bool clean = true) {
        return client(id_on(stem, kSubscriberWorker), kSubscriberWorker, clean);
    }
    std::unique_ptr<RawClient> connect_publisher(const std::string& stem) {
        return client(id_on(stem, kPublisherWorker), kPublisherWorker);
    }

    BrokerProcess broker_{"threads 2\n"};
};

// [MQTT-1.5.4-3] a BOM (U+FEFF) inside a string is passed on, never stripped.
TEST_F(Mqtt5ConformanceTest, ByteOrderMarkInATopicIsKept) {
    const std::string topic =
        "bom/\xEF\xBB\xBF"
        "x";
    auto subscriber = connect_subscriber("bom-sub");
    ASSERT_TRUE(subscriber->subscribe(topic, 1));
    auto publisher = connect_publisher("bom-pub");
    ASSERT_TRUE(publisher->publish(topic, "payload", 1));
    auto got = subscriber->receive_publish();
    ASSERT_TRUE(got);
    EXPECT_EQ(got->topic, topic);
}

// [MQTT-3.1.2-19] Password Flag 1 means a Password follows: a CONNECT without it is
// malformed and refused.
TEST_F(Mqtt5ConformanceTest, PasswordFlagWithoutAPasswordIsMalformed) {
    RawClient client(broker_.port(), ProtocolVersion::V5);
    // CONNECT, v5, flags: clean start + user name + password, keep alive 60, no
    // properties, client id "c", user name "u" — and no password.
    const std::string connect(
        "\x10\x11\x00\x04MQTT\x05\xC2\x00\x3C\x00\x00\x01"
        "c\x00\x01u",
        19);
    ASSERT_TRUE(client.send_raw(connect));
    auto packet = client.receive();
    if (packet) {
        auto* connack = std::get_if<protocol::Connack>(&*packet);
        ASSERT_NE(connack, nullptr) << describe(*packet);
        EXPECT_EQ(connack->reason, ReasonCode::MalformedPacket);
    }
    EXPECT_TRUE(client.wait_closed());
}

// [MQTT-3.1.4-6] after refusing a CONNECT the server processes nothing the client sent
// after it: a PUBLISH in the same write as a refused CONNECT is not delivered.
TEST_F(Mqtt5ConformanceTest, NothingAfterARefusedConnectIsProcessed) {
    auto subscriber = connect_subscriber("refused-sub");
    ASSERT_TRUE(subscriber->subscribe("refused/t", 0));
    RawClient refused(broker_.port(), ProtocolVersion::V5);
    protocol::Connect connect = refused.connect_packet(id_on("refused-pub", kPublisherWorker));
    connect.properties.add_text(PropertyId::AuthenticationMethod, "NO-SUCH-METHOD");
    std::string bytes;
    protocol::encode(connect, ProtocolVersion::V5, bytes);
    protocol::encode(make_publish("refused/t", "must not arrive", 0), ProtocolVersion::V5, bytes);
    ASSERT_TRUE(refused.send_raw(bytes));
    auto connack = refused.expect<protocol::Connack>();
    ASSERT_TRUE(connack);
    EXPECT_EQ(connack->reason, ReasonCode::BadAuthenticationMethod);
    EXPECT_TRUE(refused.wait_closed());
    subscriber->expect_nothing(500ms);
}

// [MQTT-3.3.1-8] (v5: RETAIN 0 neither stores nor replaces the retained message).
TEST_F(Mqtt5ConformanceTest, NonRetainedPublishLeavesTheRetainedMessageAlone) {
    auto publisher = connect_publisher("keep-pub");
    ASSERT_TRUE(publisher->publish("keep/t", "retained", 1, true));
    ASSERT_TRUE(publisher->publish("keep/t", "live", 1, false));
    auto subscriber = connect_subscriber("keep-sub");
    ASSERT_TRUE(subscriber->subscribe("keep/t", 1));
    auto got = subscriber->receive_publish();
    ASSERT_TRUE(got);
    EXPECT_EQ(payload_of(*got), "retained");
    EXPECT_TRUE(got->retain);
}

// [MQTT-3.3.4-5] a session with a shared and a plain subscription gets two copies, each
// with the Subscription Identifier of its own subscription only.
TEST_F(Mqtt5ConformanceTest, SharedAndPlainCopiesCarryTheirOwnIdentifiers) {
    auto subscriber = connect_subscriber("ids-sub");
    protocol::Subscribe plain;
    plain.packet_id = subscriber->next_packet_id();
    plain.subscriptions.push_back({"ids/t", {1}});
    plain.properties.add_number(PropertyId::SubscriptionIdentifier, 11);
    ASSERT_TRUE(subscriber->send(plain));
    ASSERT_TRUE(subscriber->expect<protocol::Suback>());
    protocol::Subscribe shared = plain;
    shared.packet_id = subscriber->next_packet_id();
    shared.subscriptions = {{"$share/g/ids/t", {1}}};
    shared.properties = {};
    shared.properties.add_number(PropertyId::SubscriptionIdentifier, 22);
    ASSERT_TRUE(subscriber->send(shared));
    ASSERT_TRUE(subscriber->expect<protocol::Suback>());

    auto publisher = connect_publisher("ids-pub");
    ASSERT_TRUE(publisher->publish("ids/t", "m", 1));
    std::multiset<std::uint32_t> ids;
    for (int i = 0; i < 2; ++i) {
        auto got = subscriber->receive_publish();
        ASSERT_TRUE(got);
        std::vector<std::uint32_t> in_this;
        for (const protocol::Property& property : got->properties) {
            if (property.id == PropertyId::SubscriptionIdentifier) {
                in_this.push_back(property.number);
            }
        }
        ASSERT_EQ(in_this.size(), 1u);
        ids.insert(in_this[0]);
    }
    EXPECT_EQ(ids, (std::multiset<std::uint32_t>{11, 22}));
}

// [MQTT-3.10.4-3] a QoS 1 delivery started before UNSUBSCRIBE is completed: resent (DUP)
// on reconnect even though the subscription is gone.
TEST_F(Mqtt5ConformanceTest, DeliveryStartedBeforeUnsubscribeIsCompleted) {
    const std::string id = id_on("unsub-sub", kSubscriberWorker);
    auto subscriber = client(id, kSubscriberWorker, false);
    ASSERT_TRUE(subscriber->subscribe("unsub/t", 1));
    auto publisher = connect_publisher("unsub-pub");
    ASSERT_TRUE(publisher->publish("unsub/t", "started", 1));
    auto first = subscriber->receive_publish(kDefaultTimeout, /*ack=*/false);
    ASSERT_TRUE(first);
    ASSERT_TRUE(subscriber->unsubscribe({"unsub/t"}));
    subscriber->close();
    auto again = connected(broker_.port(), ProtocolVersion::V5, id, false, true);
    auto resent = again->receive_publish();
    ASSERT_TRUE(resent);
    EXPECT_TRUE(resent->dup);
    EXPECT_EQ(resent->packet_id, first->packet_id);
    EXPECT_EQ(payload_of(*resent), "started");
}

// [MQTT-3.14.4-1] nothing follows the broker's DISCONNECT on that connection.
TEST_F(Mqtt5ConformanceTest, NothingFollowsTheBrokersDisconnect) {
    auto subscriber = connect_subscriber("after-sub");
    ASSERT_TRUE(subscriber->subscribe("after/#", 0));
    auto publisher = connect_publisher("after-pub");
    for (int i = 0; i < 20; ++i) {
        ASSERT_TRUE(publisher->publish("after/t", "m", 0));
    }
    // A second CONNECT: protocol error [MQTT-3.1.0-2], DISCONNECT 0x82.
    ASSERT_TRUE(subscriber->send(subscriber->connect_packet("again")));
    bool seen_disconnect = false;
    while (auto packet = subscriber->receive(2s)) {
        EXPECT_FALSE(seen_disconnect) << "after DISCONNECT: " << describe(*packet);
        seen_disconnect = seen_disconnect || std::holds_alternative<protocol::Disconnect>(*packet);
    }
    EXPECT_TRUE(seen_disconnect);
    EXPECT_TRUE(subscriber->closed());
}

// [MQTT-4.3.2-5] a QoS 1 packet id is free again once PUBACK was sent: reusing it is a
// new message.
TEST_F(Mqtt5ConformanceTest, Qos1PacketIdIsReusableAfterPuback) {
    auto subscriber = connect_subscriber("reuse-sub");
    ASSERT_TRUE(subscriber->subscribe("reuse/t", 1));
    auto publisher = connect_publisher("reuse-pub");
    for (const char* payload : {"first", "second"}) {
        ASSERT_TRUE(publisher->publish(make_publish("reuse/t", payload, 1, false, 7)));
    }
    for (const char* payload : {"first", "second"}) {
        auto got = subscriber->receive_publish();
        ASSERT_TRUE(got);
        EXPECT_EQ(payload_of(*got), payload);
    }
}

// [MQTT-4.3.3-7] expiry does not apply to a message already sent: an unacknowledged QoS 1
// message is resent after its interval passed.
TEST_F(Mqtt5ConformanceTest, MessageInFlightIsResentAfterItsExpiry) {
    const std::string id = id_on("inflight-sub", kSubscriberWorker);
    auto subscriber = client(id, kSubscriberWorker, false);
    ASSERT_TRUE(subscriber->subscribe("inflight/t", 1));
    auto publisher = connect_publisher("inflight-pub");
    Publish publish = make_publish("inflight/t", "short-lived", 1);
    publish.properties.add_number(PropertyId::MessageExpiryInterval, 1);
    ASSERT_TRUE(publisher->publish(publish));
    ASSERT_TRUE(subscriber->receive_publish(kDefaultTimeout, /*ack=*/false));
    subscriber->close();
    std::this_thread::sleep_for(1500ms);
    auto again = connected(broker_.port(), ProtocolVersion::V5, id, false, true);
    auto resent = again->receive_publish();
    ASSERT_TRUE(resent);
    EXPECT_TRUE(resent->dup);
    EXPECT_EQ(payload_of(*resent), "short-lived");
}

// [MQTT-4.3.3-9] a QoS 2 packet id refused with a PUBREC reason >= 0x80 is free: the next
// PUBLISH with it is a new message, delivered.
TEST_F(Mqtt5ConformanceTest, Qos2IdRefusedWithAFailurePubrecIsANewMessageNextTime) {
    auto subscriber = connect_subscriber("refuse-sub");
    ASSERT_TRUE(subscriber->subscribe("refuse/t", 2));
    auto publisher = connect_publisher("refuse-pub");
    Publish bad = make_publish("refuse/t", "\xC3\x28", 2, false, 9);  // not UTF-8
    bad.properties.add_number(PropertyId::PayloadFormatIndicator, 1);
    ASSERT_TRUE(publisher->send(bad));
    auto pubrec = publisher->expect<protocol::Pubrec>();
    ASSERT_TRUE(pubrec);
    EXPECT_EQ(pubrec->reason, ReasonCode::PayloadFormatInvalid);
    ASSERT_TRUE(publisher->publish(make_publish("refuse/t", "good", 2, false, 9)));
    auto got = subscriber->receive_publish();
    ASSERT_TRUE(got);
    EXPECT_EQ(payload_of(*got), "good");
}

// [MQTT-4.3.3-13] the QoS 2 exchange goes on after the message expired: PUBREL after the
// interval still gets PUBCOMP, and the message was delivered once.
TEST_F(Mqtt5ConformanceTest, Qos2ExchangeCompletesAfterTheMessageExpired) {
    auto subscriber = connect_subscriber("late-sub");
    ASSERT_TRUE(subscriber->subscribe("late/t", 1));
    auto publisher = connect_publisher("late-pub");
    Publish publish = make_publish("late/t", "m", 2, false, 5);
    publish.properties.add_number(PropertyId::MessageExpiryInterval, 1);
    ASSERT_TRUE(publisher->send(publish));
    ASSERT_TRUE(publisher->expect<protocol::Pubrec>());
    std::this_thread::sleep_for(1500ms);
    ASSERT_TRUE(publisher->send(protocol::Pubrel{5, ReasonCode::Success, {}}));
    auto pubcomp = publisher->expect<protocol::Pubcomp>();
    ASSERT_TRUE(pubcomp);
    EXPECT_EQ(pubcomp->reason, ReasonCode::Success);
    EXPECT_TRUE(subscriber->receive_publish());
    subscriber->expect_nothing();
}

// [MQTT-4.8.2-5] a QoS 2 message whose delivery to a shared member started is not sent to
// another member when that member's session ends before it reconnects.
TEST_F(Mqtt5ConformanceTest, StartedQos2SharedMessageDiesWithItsMembersSession) {
    const std::string leaving_id = id_on("ending-member", kSubscriberWorker);
    RawClient leaving(broker_.port(), ProtocolVersion::V5);
    protocol::Connect connect = leaving.connect_packet(leaving_id, true);
    connect.properties.set_number(PropertyId::SessionExpiryInterval, 1);
    ASSERT_TRUE(leaving.connect(connect));
    ASSERT_TRUE(leaving.subscribe("$share/g/ending/t", 2));
    auto publisher = connect_publisher("ending-pub");
    ASSERT_TRUE(publisher->publish("ending/t", "qos2", 2));
    auto started = leaving.receive_publish(kDefaultTimeout, /*ack=*/false);
    ASSERT_TRUE(started);  // the only member: it is its delivery
    auto staying = client(id_on("staying-member", kPublisherWorker), kPublisherWorker);
    ASSERT_TRUE(staying->subscribe("$share/g/ending/t", 2));
    leaving.close();
    std::this_thread::sleep_for(2500ms);  // the leaving member's session ends (1 s)
    staying->expect_nothing(500ms);
    EXPECT_TRUE(broker_.running());
}

}  // namespace
}  // namespace petrel::test
