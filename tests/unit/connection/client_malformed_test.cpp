// Client role: what a server may not send, and bytes that are not MQTT. v5 is told why in
// a DISCONNECT; 3.1.1 is closed without a word.
#include <random>

#include "client_test_support.hpp"

namespace petrel::connection::testing {
namespace {

using protocol::PacketType;

void expect_violation(const Drained& drained, ReasonCode reason, ProtocolVersion version) {
    const Closed closed = drained.one<Closed>();
    EXPECT_EQ(closed.cause, Closed::Cause::ProtocolViolation);
    EXPECT_EQ(closed.reason, reason);
    if (version == ProtocolVersion::V5) {
        ASSERT_EQ(drained.sent_of<protocol::Disconnect>().size(), 1u);
        EXPECT_EQ(drained.sent_of<protocol::Disconnect>()[0].reason, reason);
    } else {
        EXPECT_TRUE(drained.sent.empty());
    }
}

const ProtocolVersion kVersions[] = {ProtocolVersion::V311, ProtocolVersion::V5};

TEST(ClientMalformed, PublishBeforeConnack) {
    for (const auto version : kVersions) {
        ClientDriver client(version);
        client.start(options(version));
        protocol::Publish publish;
        publish.topic = "t";
        const Drained early = client.feed(publish);
        EXPECT_TRUE(early.all<MessageReceived>().empty());
        expect_violation(early, ReasonCode::ProtocolError, version);
    }
}

TEST(ClientMalformed, SecondConnack) {
    for (const auto version : kVersions) {
        ClientDriver client(version);
        client.connect();
        expect_violation(client.feed(protocol::Connack{}), ReasonCode::ProtocolError, version);
        EXPECT_FALSE(client.endpoint.connected());
    }
}

TEST(ClientMalformed, PacketsOnlyAClientSends) {
    for (const auto version : kVersions) {
        const std::vector<protocol::Packet> packets = {
            protocol::Subscribe{1, {protocol::Subscription{"a", {}}}, {}},
            protocol::Unsubscribe{1, {"a"}, {}},
            protocol::Pingreq{},
        };
        for (const protocol::Packet& packet : packets) {
            ClientDriver client(version);
            client.connect();
            expect_violation(client.feed(packet), ReasonCode::ProtocolError, version);
        }
    }
}

TEST(ClientMalformed, ConnectFromTheServer) {
    ClientDriver client;
    client.connect();
    protocol::Connect connect;
    connect.version = ProtocolVersion::V5;
    connect.client_id = "x";
    expect_violation(client.feed(connect), ReasonCode::ProtocolError, ProtocolVersion::V5);
}

TEST(ClientMalformed, AuthWithoutAnAuthenticationMethod) {
    ClientDriver client;
    client.connect();
    expect_violation(client.feed(protocol::Auth{}), ReasonCode::ProtocolError, ProtocolVersion::V5);
}

TEST(ClientMalformed, DisconnectFromAMqtt311Server) {
    ClientDriver client(ProtocolVersion::V311);
    client.connect();
    expect_violation(client.feed(protocol::Disconnect{}), ReasonCode::ProtocolError,
                     ProtocolVersion::V311);
}

TEST(ClientMalformed, InvalidFixedHeader) {
    for (const auto version : kVersions) {
        ClientDriver client(version);
        client.connect();
        // A remaining length of more than four bytes.
        client.feed_bytes(std::string("\x30\xff\xff\xff\xff\x01", 6));
        expect_violation(client.drain(), ReasonCode::MalformedPacket, version);
    }
}

TEST(ClientMalformed, UndecodablePacket) {
    for (const auto version : kVersions) {
        ClientDriver client(version);
        client.connect();
        // PUBLISH with QoS 3.
        client.feed_bytes(std::string("\x36\x03\x00\x01t", 5));
        expect_violation(client.drain(), ReasonCode::MalformedPacket, version);
    }
}

TEST(ClientMalformed, GarbageInsteadOfConnack) {
    ClientDriver client;
    client.start(options());
    client.feed_bytes("HTTP/1.1 400 Bad Request\r\n\r\n");
    const Closed closed = client.drain().one<Closed>();
    EXPECT_EQ(closed.cause, Closed::Cause::ProtocolViolation);
}

TEST(ClientMalformed, OverOurMaximumPacketSize) {
    ClientDriver client;
    ClientOptions with = options();
    with.maximum_packet_size = 64;
    client.connect(with);
    protocol::Publish publish;
    publish.topic = "t";
    publish.payload = protocol::make_payload(std::string(100, 'x'));
    expect_violation(client.feed(publish), ReasonCode::PacketTooLarge, ProtocolVersion::V5);
}

TEST(ClientMalformed, WildcardTopicInAPublish) {
    ClientDriver client;
    client.connect();
    protocol::Publish publish;
    publish.topic = "a/+";
    expect_violation(client.feed(publish), ReasonCode::TopicNameInvalid, ProtocolVersion::V5);
}

TEST(ClientMalformed, AcknowledgementOfTheWrongKind) {
    for (const auto version : kVersions) {
        ClientDriver client(version);
        client.connect();
        const auto qos1 =
            client.publish(delivery("t", "x", 1, 1)).sent_of<protocol::Publish>().at(0).packet_id;
        expect_violation(client.feed(protocol::Pubrec{qos1, ReasonCode::Success, {}}),
                         ReasonCode::ProtocolError, version);
        // It stays in flight for the next connection.
        EXPECT_EQ(client.endpoint.outbound().inflight_count(), 1u);
    }
}

TEST(ClientMalformed, SubackForNoSubscribe) {
    ClientDriver client;
    client.connect();
    expect_violation(client.feed(protocol::Suback{4, {ReasonCode::Success}, {}}),
                     ReasonCode::ProtocolError, ProtocolVersion::V5);
}

TEST(ClientMalformed, SubackWithTheWrongNumberOfReasons) {
    ClientDriver client;
    client.connect();
    client.endpoint.subscribe({protocol::Subscription{"a", {}}}, client.now);
    const auto id = client.drain().sent_of<protocol::Subscribe>().at(0).packet_id;
    expect_violation(
        client.feed(protocol::Suback{id, {ReasonCode::Success, ReasonCode::Success}, {}}),
        ReasonCode::ProtocolError, ProtocolVersion::V5);
}

TEST(ClientMalformed, NothingIsReadAfterTheClose) {
    ClientDriver client;
    client.connect();
    client.feed(protocol::Pingreq{});
    client.drain();
    protocol::Publish publish;
    publish.topic = "t";
    const Drained after = client.feed(publish);
    EXPECT_TRUE(after.events.empty());
    EXPECT_TRUE(after.sent.empty());
}

TEST(ClientMalformed, SeveralPacketsInOneReadStopAtTheViolation) {
    ClientDriver client;
    client.connect();
    std::string bytes;
    protocol::Publish publish;
    publish.topic = "ok";
    protocol::encode(publish, ProtocolVersion::V5, bytes);
    protocol::encode(protocol::Pingreq{}, ProtocolVersion::V5, bytes);
    protocol::encode(publish, ProtocolVersion::V5, bytes);
    client.feed_bytes(bytes);
    const Drained drained = client.drain();
    EXPECT_EQ(drained.all<MessageReceived>().size(), 1u);
    EXPECT_EQ(drained.all<Closed>().size(), 1u);
}

}  // namespace
}  // namespace petrel::connection::testing

namespace petrel::connection::testing {
namespace {

// Whatever a server sends, the endpoint answers with well-formed packets (the driver
// decodes every byte written), reads nothing after it closed, and does not crash.
TEST(ClientMalformed, ArbitraryInputIsHandledGracefully) {
    std::mt19937 random(12);
    for (int round = 0; round < 400; ++round) {
        const auto version = round % 2 == 0 ? ProtocolVersion::V5 : ProtocolVersion::V311;
        ClientDriver client(version);
        ClientOptions with = options(version);
        with.topic_alias_maximum = 4;
        with.maximum_packet_size = 512;
        client.connect(with);
        client.publish(delivery("t", "x", 1, 1));
        client.publish(delivery("t", "y", 2, 2));
        bool closed = false;
        for (int step = 0; step < 20 && !closed; ++step) {
            std::string bytes;
            if (random() % 3 == 0) {
                // A plausible packet: a publish response for a small id.
                const auto id = static_cast<protocol::PacketId>(1 + random() % 3);
                switch (random() % 4) {
                    case 0:
                        protocol::encode(protocol::Puback{id, ReasonCode::Success, {}}, version,
                                         bytes);
                        break;
                    case 1:
                        protocol::encode(protocol::Pubrec{id, ReasonCode::Success, {}}, version,
                                         bytes);
                        break;
                    case 2:
                        protocol::encode(protocol::Pubcomp{id, ReasonCode::Success, {}}, version,
                                         bytes);
                        break;
                    default:
                        protocol::encode(protocol::Pubrel{id, ReasonCode::Success, {}}, version,
                                         bytes);
                        break;
                }
            } else {
                bytes.resize(1 + random() % 12);
                for (char& byte : bytes) {
                    byte = static_cast<char>(random());
                }
            }
            client.feed_bytes(bytes);
            client.now += 1s;
            client.endpoint.tick(client.now);
            const Drained drained = client.drain();
            closed = !drained.all<Closed>().empty();
        }
        if (closed) {
            client.feed_bytes(std::string("\x30\x03\x00\x01t", 5));
            EXPECT_TRUE(client.drain().events.empty());
        }
    }
}

}  // namespace
}  // namespace petrel::connection::testing
