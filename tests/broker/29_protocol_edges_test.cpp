// Protocol edges through the real broker, by raw packets (issue 11): the MQTT 3.1 CONNACK
// and fixed-header rules, an empty will topic, a client Maximum Packet Size smaller than
// the CONNACK, properties in the wrong packet, and acknowledgements of the wrong kind.
#include <gtest/gtest.h>

#include <initializer_list>
#include <memory>
#include <string>

#include "support/broker_process.hpp"
#include "support/raw_bytes.hpp"
#include "support/raw_client.hpp"
#include "support/versions.hpp"

namespace petrel::test {
namespace {

// The broker closes the connection without sending a single packet.
void expect_closed_without_a_packet(RawClient& client) {
    const auto frame = client.receive_frame();
    EXPECT_FALSE(frame) << bytes_hex(*frame);
    EXPECT_TRUE(client.wait_closed());
}

using namespace std::chrono_literals;
using protocol::PropertyId;

std::string frame_of(std::initializer_list<int> values) {
    std::string out;
    for (int v : values) {
        out += static_cast<char>(v);
    }
    return out;
}

// The CONNECT bytes `client` would send for `connect`.
std::string encoded(const protocol::Connect& connect) {
    std::string bytes;
    protocol::encode(connect, connect.version, bytes);
    return bytes;
}

// --- 1. CONNACK for MQTT 3.1 --------------------------------------------------------------

// MQTT 3.1 (3.2) has no Session Present: the first byte of the CONNACK's variable header
// is reserved, so a resumed 3.1 session still gets 20 02 00 00. 3.1.1 gets 01
// [MQTT-3.2.2-2].
TEST(ProtocolEdgesConnack, Mqtt31ResumedSessionGetsAReservedZeroByte) {
    BrokerProcess broker;
    for (const ProtocolVersion version : {ProtocolVersion::V31, ProtocolVersion::V311}) {
        SCOPED_TRACE(std::string(version_name(version)));
        const std::string id = "resume-" + std::string(version_name(version));
        {
            RawClient first(broker.port(), version);
            ASSERT_TRUE(first.send_raw(encoded(first.connect_packet(id, false))));
            auto frame = first.receive_frame();
            ASSERT_TRUE(frame);
            EXPECT_EQ(*frame, frame_of({0x20, 0x02, 0x00, 0x00})) << bytes_hex(*frame);
            first.disconnect();
        }
        RawClient again(broker.port(), version);
        ASSERT_TRUE(again.send_raw(encoded(again.connect_packet(id, false))));
        auto frame = again.receive_frame();
        ASSERT_TRUE(frame);
        const int present = version == ProtocolVersion::V31 ? 0x00 : 0x01;
        EXPECT_EQ(*frame, frame_of({0x20, 0x02, present, 0x00})) << bytes_hex(*frame);
    }
}

// --- 2. MQTT 3.1 fixed-header flags ---------------------------------------------------------

// MQTT 3.1 (2.1, 3.6): PUBREL uses QoS level 1 and sets DUP when it is sent again. A 3.1
// publisher's resent PUBREL (0x6A) completes its QoS 2 exchange; the message is
// delivered once.
TEST(ProtocolEdgesMqtt31Flags, ResentPubrelWithDupCompletesQos2) {
    BrokerProcess broker;
    RawClient subscriber(broker.port(), ProtocolVersion::V311);
    ASSERT_TRUE(subscriber.connect("flags31-sub"));
    ASSERT_TRUE(subscriber.subscribe("edges/31/q2", 2));

    RawClient publisher(broker.port(), ProtocolVersion::V31);
    ASSERT_TRUE(publisher.connect("flags31-pub"));
    ASSERT_TRUE(publisher.send(make_publish("edges/31/q2", "once", 2, false, 7)));
    auto pubrec = publisher.expect<protocol::Pubrec>();
    ASSERT_TRUE(pubrec);
    EXPECT_EQ(pubrec->packet_id, 7);
    ASSERT_TRUE(publisher.send_raw(frame_of({0x6A, 0x02, 0x00, 0x07})));
    auto pubcomp = publisher.expect<protocol::Pubcomp>();
    ASSERT_TRUE(pubcomp);
    EXPECT_EQ(pubcomp->packet_id, 7);
    // And again, as a client that lost the PUBCOMP would: answered, not delivered again.
    ASSERT_TRUE(publisher.send_raw(frame_of({0x6A, 0x02, 0x00, 0x07})));
    ASSERT_TRUE(publisher.expect<protocol::Pubcomp>());

    auto got = subscriber.receive_publish();
    ASSERT_TRUE(got);
    EXPECT_EQ(payload_of(*got), "once");
    EXPECT_FALSE(subscriber.try_receive_publish(300ms));
}

// MQTT 3.1 (3.8, 3.10): SUBSCRIBE and UNSUBSCRIBE likewise may carry DUP.
TEST(ProtocolEdgesMqtt31Flags, SubscribeAndUnsubscribeWithDupAreAccepted) {
    BrokerProcess broker;
    RawClient client(broker.port(), ProtocolVersion::V31);
    ASSERT_TRUE(client.connect("flags31-subs"));
    ASSERT_TRUE(
        client.send_raw(packet_bytes(0x8A, u16_bytes(3) + prefixed("edges/31/s") + '\x01')));
    auto suback = client.expect<protocol::Suback>();
    ASSERT_TRUE(suback);
    EXPECT_EQ(suback->packet_id, 3);
    ASSERT_TRUE(client.send_raw(packet_bytes(0xAA, u16_bytes(4) + prefixed("edges/31/s"))));
    auto unsuback = client.expect<protocol::Unsuback>();
    ASSERT_TRUE(unsuback);
    EXPECT_EQ(unsuback->packet_id, 4);
}

// [MQTT-3.6.1-1] [MQTT-2.2.2-2]: 3.1.1 keeps the strict rule, DUP in PUBREL is malformed.
TEST(ProtocolEdgesMqtt31Flags, Mqtt311PubrelWithDupStillCloses) {
    BrokerProcess broker;
    RawClient publisher(broker.port(), ProtocolVersion::V311);
    ASSERT_TRUE(publisher.connect("flags311-pub"));
    ASSERT_TRUE(publisher.send(make_publish("edges/311/q2", "x", 2, false, 7)));
    ASSERT_TRUE(publisher.expect<protocol::Pubrec>());
    ASSERT_TRUE(publisher.send_raw(frame_of({0x6A, 0x02, 0x00, 0x07})));
    auto anything = publisher.receive();
    EXPECT_FALSE(anything) << describe(*anything);
    EXPECT_TRUE(publisher.wait_closed());
}

// --- 3. Zero-length will topic -------------------------------------------------------------

// A CONNECT with the Will Flag and a will topic of "" (then will payload "bye").
std::string connect_with_empty_will_topic(ProtocolVersion version, const std::string& id) {
    const bool v5 = version == ProtocolVersion::V5;
    std::string body = prefixed(version == ProtocolVersion::V31 ? "MQIsdp" : "MQTT");
    body += static_cast<char>(version);
    body += '\x06';  // clean session, will flag
    body += u16_bytes(60);
    if (v5) {
        body += '\0';  // no properties
    }
    body += prefixed(id);
    if (v5) {
        body += '\0';  // no will properties
    }
    body += prefixed("");
    body += prefixed("bye");
    return packet_bytes(0x10, body);
}

// [MQTT-4.7.3-1] a topic name is at least one character long; the CONNECT does not
// conform and the connection is closed without a CONNACK [MQTT-3.1.4-1] (3.1 likewise).
TEST(ProtocolEdgesWillTopic, EmptyWillTopicClosesWithoutConnackBeforeV5) {
    BrokerProcess broker;
    for (const ProtocolVersion version : {ProtocolVersion::V31, ProtocolVersion::V311}) {
        SCOPED_TRACE(std::string(version_name(version)));
        RawClient client(broker.port(), version);
        ASSERT_TRUE(client.send_raw(connect_with_empty_will_topic(version, "empty-will")));
        expect_closed_without_a_packet(client);
    }
}

// v5: the same CONNECT is a Malformed Packet; the server may say so in a CONNACK before
// closing (3.1.4, 4.13.1): 0x81.
TEST(ProtocolEdgesWillTopic, EmptyWillTopicGetsConnackMalformedInV5) {
    BrokerProcess broker;
    RawClient client(broker.port(), ProtocolVersion::V5);
    ASSERT_TRUE(client.send_raw(connect_with_empty_will_topic(ProtocolVersion::V5, "empty-will")));
    auto connack = client.expect<protocol::Connack>();
    ASSERT_TRUE(connack);
    EXPECT_EQ(connack->reason, ReasonCode::MalformedPacket);
    EXPECT_FALSE(connack->session_present);
    EXPECT_TRUE(client.wait_closed());
}

// --- 4. Client Maximum Packet Size below the CONNACK ----------------------------------------

protocol::Connect limited_connect(const RawClient& client, const std::string& id,
                                  std::uint32_t maximum_packet_size) {
    protocol::Connect connect = client.connect_packet(id);
    connect.properties.add_number(PropertyId::MaximumPacketSize, maximum_packet_size);
    return connect;
}

// [MQTT-3.1.2-24] not even the smallest CONNACK (5 bytes) fits in 3: nothing is sent and
// the connection is closed.
TEST(ProtocolEdgesMaximumPacketSize, LimitBelowAnyConnackClosesWithoutSending) {
    BrokerProcess broker;
    RawClient client(broker.port(), ProtocolVersion::V5);
    ASSERT_TRUE(client.send(limited_connect(client, "tiny-limit", 3)));
    expect_closed_without_a_packet(client);
}

// A limit between the smallest CONNACK and the full one: Topic Alias Maximum (default 10)
// and Response Information are left out until it fits; with no alias announced, a
// Topic Alias from the client is refused (0x94) [MQTT-3.2.2-17] [MQTT-3.3.2-9].
TEST(ProtocolEdgesMaximumPacketSize, ConnackLeavesOutOptionalPropertiesToFit) {
    BrokerProcess broker;
    {
        RawClient client(broker.port(), ProtocolVersion::V5);
        protocol::Connect connect = limited_connect(client, "fits-8", 8);
        connect.properties.add_number(PropertyId::RequestResponseInformation, 1);
        ASSERT_TRUE(client.send(connect));
        auto frame = client.receive_frame();
        ASSERT_TRUE(frame);
        EXPECT_LE(frame->size(), 8u) << bytes_hex(*frame);
        auto connack = protocol::decode(
            protocol::ByteView(reinterpret_cast<const std::uint8_t*>(frame->data()), frame->size()),
            ProtocolVersion::V5);
        ASSERT_TRUE(connack);
        const auto& properties = std::get<protocol::Connack>(*connack).properties;
        EXPECT_EQ(std::get<protocol::Connack>(*connack).reason, ReasonCode::Success);
        EXPECT_FALSE(properties.contains(PropertyId::ResponseInformation));
        EXPECT_EQ(properties.number(PropertyId::TopicAliasMaximum), 10u);
    }
    RawClient client(broker.port(), ProtocolVersion::V5);
    ASSERT_TRUE(client.send(limited_connect(client, "fits-6", 6)));
    auto frame = client.receive_frame();
    ASSERT_TRUE(frame);
    // CONNACK, no flags, Success, no properties.
    EXPECT_EQ(*frame, frame_of({0x20, 0x03, 0x00, 0x00, 0x00})) << bytes_hex(*frame);
    ASSERT_TRUE(client.send(protocol::Pingreq{}));
    ASSERT_TRUE(client.expect<protocol::Pingresp>());
    protocol::Publish aliased = make_publish("edges/alias", "x", 0);
    aliased.properties.add_number(PropertyId::TopicAlias, 1);
    ASSERT_TRUE(client.send(aliased));
    auto disconnect = client.expect<protocol::Disconnect>();
    ASSERT_TRUE(disconnect);
    EXPECT_EQ(disconnect->reason, ReasonCode::TopicAliasInvalid);
    EXPECT_TRUE(client.wait_closed());
}

// A refusal (here 0x90, a will topic with a wildcard) is sent without its Reason String
// when that fits [MQTT-3.2.2-19], and not at all when even that does not.
TEST(ProtocolEdgesMaximumPacketSize, RefusingConnackFitsOrIsNotSent) {
    BrokerProcess broker;
    for (const std::uint32_t limit : {5U, 4U}) {
        SCOPED_TRACE("client Maximum Packet Size " + std::to_string(limit));
        RawClient client(broker.port(), ProtocolVersion::V5);
        protocol::Connect connect = limited_connect(client, "refused", limit);
        protocol::Will will;
        will.topic = "edges/+";
        connect.will = will;
        ASSERT_TRUE(client.send(connect));
        auto frame = client.receive_frame();
        if (limit == 5) {
            ASSERT_TRUE(frame);
            EXPECT_EQ(*frame, frame_of({0x20, 0x03, 0x00, 0x90, 0x00})) << bytes_hex(*frame);
        } else {
            EXPECT_FALSE(frame) << bytes_hex(*frame);
        }
        EXPECT_TRUE(client.wait_closed());
    }
}

// The Assigned Client Identifier must be sent [MQTT-3.2.2-16]: a limit it does not fit
// in closes the connection rather than leaving it out.
TEST(ProtocolEdgesMaximumPacketSize, AssignedClientIdentifierIsNeverLeftOut) {
    BrokerProcess broker;
    RawClient client(broker.port(), ProtocolVersion::V5);
    ASSERT_TRUE(client.send(limited_connect(client, "", 8)));
    expect_closed_without_a_packet(client);
}

// --- 5. Properties not valid for the packet -------------------------------------------------

// 2.2.2.2: "A Control Packet which contains an Identifier which is not valid for its
// packet type ... is a Malformed Packet": DISCONNECT 0x81 [MQTT-4.13.1-1].
TEST(ProtocolEdgesProperties, SessionExpiryOutsideConnectIsMalformed) {
    BrokerProcess broker;
    for (int which = 0; which < 3; ++which) {
        SCOPED_TRACE(which);
        RawClient client(broker.port(), ProtocolVersion::V5);
        ASSERT_TRUE(client.connect("wrong-property-" + std::to_string(which)));
        protocol::Packet packet;
        if (which == 0) {
            protocol::Publish publish = make_publish("edges/p", "x", 1, false, 1);
            publish.properties.add_number(PropertyId::SessionExpiryInterval, 60);
            packet = publish;
        } else if (which == 1) {
            protocol::Subscribe subscribe;
            subscribe.packet_id = 1;
            subscribe.subscriptions.push_back({"edges/p", {}});
            subscribe.properties.add_number(PropertyId::SessionExpiryInterval, 60);
            packet = subscribe;
        } else {
            protocol::Unsubscribe unsubscribe;
            unsubscribe.packet_id = 1;
            unsubscribe.filters.push_back("edges/p");
            unsubscribe.properties.add_number(PropertyId::SessionExpiryInterval, 60);
            packet = unsubscribe;
        }
        ASSERT_TRUE(client.send(packet));
        auto disconnect = client.expect<protocol::Disconnect>();
        ASSERT_TRUE(disconnect);
        EXPECT_EQ(disconnect->reason, ReasonCode::MalformedPacket);
        EXPECT_TRUE(client.wait_closed());
    }
}

// --- 6. Acknowledgements of the wrong kind --------------------------------------------------

class ProtocolEdgesWrongAck : public ::testing::TestWithParam<ProtocolVersion> {
  protected:
    ProtocolVersion version() const { return GetParam(); }

    // A persistent-session subscriber on `topic` at `qos` gets one message, answers it
    // with `wrong` (a packet carrying the PUBLISH's id) and is disconnected as a
    // Protocol Error (v5: DISCONNECT 0x82; 3.x: closed). Reconnecting, it gets the same
    // message again with DUP set [MQTT-4.4.0-1].
    template <class WrongAck>
    void expect_wrong_ack_is_a_protocol_error(const std::string& stem, Qos qos) {
        const std::string id = stem + "-" + std::string(version_name(version()));
        const std::string topic = "edges/wrong/" + id;
        auto subscriber = connected(broker_.port(), version(), id, false);
        ASSERT_TRUE(subscriber->subscribe(topic, qos));
        RawClient publisher(broker_.port(), ProtocolVersion::V5);
        ASSERT_TRUE(publisher.connect("pub-" + id));
        ASSERT_TRUE(publisher.publish(topic, "again", qos));

        auto first = subscriber->receive_publish(kDefaultTimeout, /*ack=*/false);
        ASSERT_TRUE(first);
        EXPECT_EQ(first->qos, qos);
        EXPECT_FALSE(first->dup);
        WrongAck wrong;
        wrong.packet_id = first->packet_id;
        ASSERT_TRUE(subscriber->send(wrong));
        if (is_v5(version())) {
            auto disconnect = subscriber->expect<protocol::Disconnect>();
            ASSERT_TRUE(disconnect);
            EXPECT_EQ(disconnect->reason, ReasonCode::ProtocolError);
        } else {
            auto anything = subscriber->receive();
            EXPECT_FALSE(anything) << describe(*anything);
        }
        EXPECT_TRUE(subscriber->wait_closed());

        // 3.1 has no Session Present to tell (see Mqtt31ResumedSessionGetsAReservedZeroByte).
        const bool present = version() != ProtocolVersion::V31;
        auto again = connected(broker_.port(), version(), id, false, present);
        auto resent = again->receive_publish();
        ASSERT_TRUE(resent);
        EXPECT_EQ(payload_of(*resent), "again");
        EXPECT_EQ(resent->qos, qos);
        EXPECT_TRUE(resent->dup);
        EXPECT_EQ(resent->packet_id, first->packet_id);
    }

    BrokerProcess broker_;
};

TEST_P(ProtocolEdgesWrongAck, PubrecForQos1) {
    expect_wrong_ack_is_a_protocol_error<protocol::Pubrec>("pubrec-q1", 1);
}

TEST_P(ProtocolEdgesWrongAck, PubcompForQos1) {
    expect_wrong_ack_is_a_protocol_error<protocol::Pubcomp>("pubcomp-q1", 1);
}

TEST_P(ProtocolEdgesWrongAck, PubackForQos2) {
    expect_wrong_ack_is_a_protocol_error<protocol::Puback>("puback-q2", 2);
}

TEST_P(ProtocolEdgesWrongAck, PubcompBeforePubrecForQos2) {
    expect_wrong_ack_is_a_protocol_error<protocol::Pubcomp>("early-pubcomp", 2);
}

INSTANTIATE_TEST_SUITE_P(Versions, ProtocolEdgesWrongAck,
                         ::testing::Values(ProtocolVersion::V31, ProtocolVersion::V311,
                                           ProtocolVersion::V5),
                         VersionParamName{});

}  // namespace
}  // namespace petrel::test
