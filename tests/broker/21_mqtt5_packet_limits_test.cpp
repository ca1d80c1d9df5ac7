// What the broker adds to its own packets never takes them past the client's Maximum
// Packet Size: Reason Strings are left out of acknowledgements, CONNACK and DISCONNECT that
// would be too large ([MQTT-3.2.2-19], [MQTT-3.4.2-2], [MQTT-3.9.2-1], [MQTT-3.14.2-3]), and
// a PUBLISH that may carry a Topic Alias is sized with it ([MQTT-3.1.2-24]). Also: a client
// may not send Subscription Identifiers in a PUBLISH [MQTT-3.3.4-6].
#include <gtest/gtest.h>

#include <string>

#include "support/broker_process.hpp"
#include "support/raw_client.hpp"
#include "support/worker_placement.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;
using protocol::PropertyId;

constexpr const char* kConfig = "threads 2\nmax_qos 1\n";

protocol::Connect v5_connect(const RawClient& client, const std::string& id,
                             std::uint32_t maximum_packet_size) {
    protocol::Connect connect = client.connect_packet(id);
    if (maximum_packet_size > 0) {
        connect.properties.add_number(PropertyId::MaximumPacketSize, maximum_packet_size);
    }
    return connect;
}

TEST(Mqtt5PacketLimitsTest, SubackReasonStringOnlyWhenItFits) {
    BrokerProcess broker(kConfig);
    for (const std::uint32_t limit : {0U, 12U}) {
        SCOPED_TRACE("client Maximum Packet Size " + std::to_string(limit));
        RawClient client(broker.port(), ProtocolVersion::V5);
        ASSERT_TRUE(client.connect(v5_connect(client, "suback-" + std::to_string(limit), limit)));
        auto suback = client.subscribe("bad/#/filter", 1);
        ASSERT_TRUE(suback);
        ASSERT_EQ(suback->reasons.size(), 1u);
        EXPECT_EQ(suback->reasons[0], ReasonCode::TopicFilterInvalid);
        EXPECT_EQ(suback->properties.contains(PropertyId::ReasonString), limit == 0);
    }
}

TEST(Mqtt5PacketLimitsTest, ConnackRefusalWithoutReasonStringWhenItWouldNotFit) {
    BrokerProcess broker(kConfig);
    for (const std::uint32_t limit : {0U, 8U}) {
        SCOPED_TRACE("client Maximum Packet Size " + std::to_string(limit));
        RawClient client(broker.port(), ProtocolVersion::V5);
        protocol::Connect connect = v5_connect(client, "connack-" + std::to_string(limit), limit);
        protocol::Will will;
        will.topic = "w";
        will.qos = 2;  // above max_qos 1: CONNACK 0x9B [MQTT-3.2.2-12]
        connect.will = will;
        auto connack = client.connect(connect);
        ASSERT_TRUE(connack);
        EXPECT_EQ(connack->reason, ReasonCode::QosNotSupported);
        EXPECT_EQ(connack->properties.contains(PropertyId::ReasonString), limit == 0);
    }
}

TEST(Mqtt5PacketLimitsTest, DisconnectReasonStringOnlyWhenItFits) {
    BrokerProcess broker(kConfig);
    for (const std::uint32_t limit : {0U, 10U}) {
        SCOPED_TRACE("client Maximum Packet Size " + std::to_string(limit));
        RawClient client(broker.port(), ProtocolVersion::V5);
        ASSERT_TRUE(client.connect(v5_connect(client, "disc-" + std::to_string(limit), limit)));
        // [MQTT-3.3.4-6] a Subscription Identifier in a client's PUBLISH: protocol error.
        protocol::Publish publish = make_publish("t", "x", 0);
        publish.properties.add_number(PropertyId::SubscriptionIdentifier, 3);
        ASSERT_TRUE(client.send(publish));
        auto disconnect = client.expect<protocol::Disconnect>();
        ASSERT_TRUE(disconnect);
        EXPECT_EQ(disconnect->reason, ReasonCode::ProtocolError);
        EXPECT_EQ(disconnect->properties.contains(PropertyId::ReasonString), limit == 0);
        EXPECT_TRUE(client.wait_closed());
    }
}

TEST(Mqtt5PacketLimitsTest, PubackAndPubrecReasonStringOnlyWhenItFits) {
    BrokerProcess broker("threads 2\n");
    for (const std::uint32_t limit : {0U, 10U}) {
        SCOPED_TRACE("client Maximum Packet Size " + std::to_string(limit));
        RawClient client(broker.port(), ProtocolVersion::V5);
        ASSERT_TRUE(client.connect(v5_connect(client, "ack-" + std::to_string(limit), limit)));
        for (const Qos qos : {Qos{1}, Qos{2}}) {
            protocol::Publish publish = make_publish("t", "\xC3\x28", qos, false, qos);
            publish.properties.add_number(PropertyId::PayloadFormatIndicator, 1);  // not UTF-8
            ASSERT_TRUE(client.send(publish));
            auto packet = client.receive();
            ASSERT_TRUE(packet);
            const protocol::Properties* properties = nullptr;
            if (auto* puback = std::get_if<protocol::Puback>(&*packet)) {
                EXPECT_EQ(puback->reason, ReasonCode::PayloadFormatInvalid);
                properties = &puback->properties;
            } else if (auto* pubrec = std::get_if<protocol::Pubrec>(&*packet)) {
                EXPECT_EQ(pubrec->reason, ReasonCode::PayloadFormatInvalid);
                properties = &pubrec->properties;
            }
            ASSERT_NE(properties, nullptr) << describe(*packet);
            // [MQTT-3.4.2-2], [MQTT-3.5.2-2]
            EXPECT_EQ(properties->contains(PropertyId::ReasonString), limit == 0);
        }
    }
}

TEST(Mqtt5PacketLimitsTest, QueuedMessageTooLargeForTheReconnectedClientIsDropped) {
    // Queued while the limit was large; the client comes back with a smaller one: the
    // message is not sent [MQTT-3.1.2-25], the next one is.
    BrokerProcess broker(kConfig);
    const std::string id = client_id_on_worker("shrinking", 1, 2);
    {
        RawClient subscriber(broker.port(), ProtocolVersion::V5);
        ASSERT_TRUE(subscriber.connect(v5_connect(subscriber, id, 0)));
        protocol::Connect persistent = subscriber.connect_packet(id, false);
        subscriber.disconnect();
        RawClient again(broker.port(), ProtocolVersion::V5);
        ASSERT_TRUE(again.connect(persistent));
        ASSERT_TRUE(again.subscribe("shrink/#", 1));
        again.close();
    }
    RawClient publisher(broker.port(), ProtocolVersion::V5);
    ASSERT_TRUE(publisher.connect(client_id_on_worker("shrink-pub", 0, 2)));
    ASSERT_TRUE(publisher.publish("shrink/big", std::string(500, 'b'), 1));
    ASSERT_TRUE(publisher.publish("shrink/small", "s", 1));
    RawClient subscriber(broker.port(), ProtocolVersion::V5);
    protocol::Connect connect = subscriber.connect_packet(id, false);
    connect.properties.add_number(PropertyId::MaximumPacketSize, 100);
    auto connack = subscriber.connect(connect);
    ASSERT_TRUE(connack);
    EXPECT_TRUE(connack->session_present);
    auto got = subscriber.receive_publish();
    ASSERT_TRUE(got);
    EXPECT_EQ(got->topic, "shrink/small");
    subscriber.expect_nothing();
}

TEST(Mqtt5PacketLimitsTest, PublishWithATopicAliasStaysWithinTheClientsLimit) {
    BrokerProcess broker(kConfig);
    const std::string subscriber_id = client_id_on_worker("alias-sub", 1, 2);
    const std::string publisher_id = client_id_on_worker("alias-pub", 0, 2);
    constexpr std::uint32_t kLimit = 100;
    RawClient subscriber(broker.port(), ProtocolVersion::V5);
    protocol::Connect connect = v5_connect(subscriber, subscriber_id, kLimit);
    connect.properties.add_number(PropertyId::TopicAliasMaximum, 5);
    ASSERT_TRUE(subscriber.connect(connect));
    ASSERT_TRUE(subscriber.subscribe("sized/#", 0));
    RawClient publisher(broker.port(), ProtocolVersion::V5);
    ASSERT_TRUE(publisher.connect(publisher_id));
    EXPECT_EQ(worker_in_log(broker.log(), subscriber_id), 1u);
    EXPECT_EQ(worker_in_log(broker.log(), publisher_id), 0u);

    // A QoS 0 PUBLISH to "sized/t" is 2 (header) + 2 + 7 (topic) + 1 (property length)
    // bytes plus the payload. Largest first: the first message on a topic carries the
    // topic and the Topic Alias the broker sets up (3 bytes here, up to 5 in general), so
    // one that fits without the alias must not be sent with it.
    const std::size_t base = 2 + 2 + 7 + 1;
    for (std::size_t payload = kLimit - base; payload + 8 >= kLimit - base; --payload) {
        ASSERT_TRUE(publisher.publish("sized/t", std::string(payload, 'p'), 0));
    }
    ASSERT_TRUE(publisher.publish("sized/end", "end", 0));
    int received = 0;
    while (true) {
        auto frame = subscriber.receive_frame(3s);
        ASSERT_TRUE(frame);
        EXPECT_LE(frame->size(), kLimit);  // [MQTT-3.1.2-24]
        auto decoded = protocol::decode(
            protocol::ByteView(reinterpret_cast<const std::uint8_t*>(frame->data()), frame->size()),
            ProtocolVersion::V5);
        ASSERT_TRUE(decoded);
        const auto& publish = std::get<protocol::Publish>(*decoded);
        if (payload_of(publish) == "end") {
            break;
        }
        ++received;
    }
    EXPECT_GE(received, 3);  // the smaller ones arrive, the ones that might not fit do not
}

}  // namespace
}  // namespace petrel::test
