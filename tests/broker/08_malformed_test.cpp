// Malformed and forbidden input through a raw socket. Each case ends the offending
// connection (v5: DISCONNECT with a reason code first) and is followed by a check that
// clients connected before it still exchange messages: untrusted bytes never take the
// broker down.
#include <gtest/gtest.h>

#include <algorithm>
#include <initializer_list>
#include <memory>
#include <string>

#include "support/broker_process.hpp"
#include "support/raw_bytes.hpp"
#include "support/raw_client.hpp"
#include "support/versions.hpp"

namespace petrel::test {
namespace {

using namespace std::chrono_literals;
using protocol::Disconnect;
using protocol::PropertyId;

constexpr std::size_t kMaxPacketSize = 1024;

class MalformedTest : public ::testing::TestWithParam<ProtocolVersion> {
  protected:
    ProtocolVersion version() const { return GetParam(); }

    void SetUp() override {
        subscriber_ = std::make_unique<RawClient>(broker_.port(), ProtocolVersion::V311);
        ASSERT_TRUE(subscriber_->connect("spectator-sub"));
        ASSERT_TRUE(subscriber_->subscribe("spectator/t", 1));
        publisher_ = std::make_unique<RawClient>(broker_.port(), ProtocolVersion::V5);
        ASSERT_TRUE(publisher_->connect("spectator-pub"));
    }

    // A client of this test's version, connected.
    std::unique_ptr<RawClient> victim(const std::string& id) {
        auto client = std::make_unique<RawClient>(broker_.port(), version());
        auto connack = client->connect(id);
        EXPECT_TRUE(connack && connack->reason == ReasonCode::Success);
        return client;
    }

    // The broker ends `client`'s connection; a v5 client is told why first, with one of
    // `reasons`.
    void expect_rejected(RawClient& client, std::initializer_list<ReasonCode> reasons,
                         const std::string& what) {
        SCOPED_TRACE(what);
        if (is_v5(client.version())) {
            auto disconnect = client.expect<Disconnect>();
            if (disconnect) {
                EXPECT_NE(std::find(reasons.begin(), reasons.end(), disconnect->reason),
                          reasons.end())
                    << describe(*disconnect);
            }
        }
        EXPECT_TRUE(client.wait_closed());
    }

    // Clients connected before the bad input still get their messages.
    void expect_spectators_unaffected() {
        const std::string payload = "still alive " + std::to_string(++round_);
        ASSERT_TRUE(publisher_->publish("spectator/t", payload, 1));
        auto message = subscriber_->receive_publish();
        ASSERT_TRUE(message) << "spectator lost after bad input";
        EXPECT_EQ(payload_of(*message), payload);
        EXPECT_TRUE(broker_.running());
    }

    // A PUBLISH with `topic` written as raw bytes (QoS 0).
    std::string publish_bytes(std::string_view topic) const {
        std::string body = prefixed(topic);
        if (is_v5(version())) {
            body += '\0';  // no properties
        }
        body += "payload";
        return packet_bytes(0x30, body);
    }

    BrokerProcess broker_{"max_packet_size " + std::to_string(kMaxPacketSize) + "\n"};
    std::unique_ptr<RawClient> subscriber_;
    std::unique_ptr<RawClient> publisher_;
    int round_ = 0;
};

TEST_P(MalformedTest, RemainingLengthOfFiveBytes) {
    auto client = victim("bad-length");
    // A variable byte integer has at most 4 bytes (1.5.5).
    ASSERT_TRUE(client->send_raw(std::string("\x30\xFF\xFF\xFF\xFF\xFF\x01", 7)));
    expect_rejected(*client, {ReasonCode::MalformedPacket}, "5-byte remaining length");
    expect_spectators_unaffected();
}

TEST_P(MalformedTest, ReservedFlagBitsSet) {
    const std::string subscribe_body = is_v5(version())
                                           ? std::string("\x00\x01\x00\x00\x01t\x00", 7)
                                           : std::string("\x00\x01\x00\x01t\x00", 6);
    const std::pair<const char*, std::string> cases[] = {
        // [MQTT-3.8.1-1] SUBSCRIBE flags must be 0010.
        {"SUBSCRIBE flags 0000", packet_bytes(0x80, subscribe_body)},
        // [MQTT-3.6.1-1] PUBREL flags must be 0010.
        {"PUBREL flags 0000", std::string("\x60\x02\x00\x01", 4)},
        // [MQTT-2.2.2-2] PINGREQ flags must be 0.
        {"PINGREQ flags 0001", std::string("\xC1\x00", 2)},
        // [MQTT-3.3.1-4] QoS 3.
        {"PUBLISH QoS 3", std::string("\x36\x06\x00\x01t\x00\x01x", 8)},
    };
    for (const auto& [name, bytes] : cases) {
        auto client = victim("reserved-flags");
        ASSERT_TRUE(client->send_raw(bytes));
        expect_rejected(*client, {ReasonCode::MalformedPacket}, name);
        expect_spectators_unaffected();
    }
}

TEST_P(MalformedTest, InvalidUtf8InTopic) {
    const std::pair<const char*, std::string> cases[] = {
        {"0xFF byte",
         "a\xFF"
         "b"},
        {"overlong '/'",
         "a\xC0\xAF"
         "b"},
        {"surrogate U+D800", "a\xED\xA0\x80"},
        {"truncated sequence", "a\xE2\x82"},
        {"U+0000", std::string("a\0b", 3)},  // [MQTT-1.5.4-2]
    };
    for (const auto& [name, topic] : cases) {
        auto client = victim("bad-utf8");
        ASSERT_TRUE(client->send_raw(publish_bytes(topic)));
        // [MQTT-1.5.4-1] ill-formed UTF-8 makes the packet malformed.
        expect_rejected(*client, {ReasonCode::MalformedPacket, ReasonCode::TopicNameInvalid}, name);
        expect_spectators_unaffected();
    }
}

TEST_P(MalformedTest, SubscribeWithNoFilters) {
    auto client = victim("no-filters");
    const std::string body =
        is_v5(version()) ? std::string("\x00\x01\x00", 3) : std::string("\x00\x01", 2);
    ASSERT_TRUE(client->send_raw(packet_bytes(0x82, body)));
    // At least one filter: 3.1.1 [MQTT-3.8.3-3], v5 [MQTT-3.8.3-2].
    expect_rejected(*client, {ReasonCode::MalformedPacket, ReasonCode::ProtocolError},
                    "empty SUBSCRIBE");
    expect_spectators_unaffected();
}

TEST_P(MalformedTest, PacketIdZero) {
    auto publish = victim("id-zero-publish");
    ASSERT_TRUE(publish->send(make_publish("spectator/t", "id zero", 1, false, 0)));
    // [MQTT-2.3.1-1] QoS > 0 PUBLISH, SUBSCRIBE and UNSUBSCRIBE need a non-zero id.
    expect_rejected(*publish, {ReasonCode::MalformedPacket, ReasonCode::ProtocolError},
                    "PUBLISH QoS 1 id 0");
    expect_spectators_unaffected();

    auto subscribe = victim("id-zero-subscribe");
    protocol::Subscribe packet;
    packet.packet_id = 0;
    packet.subscriptions.push_back({"x/y", {}});
    ASSERT_TRUE(subscribe->send(packet));
    expect_rejected(*subscribe, {ReasonCode::MalformedPacket, ReasonCode::ProtocolError},
                    "SUBSCRIBE id 0");
    expect_spectators_unaffected();
}

TEST_P(MalformedTest, SecondConnect) {
    auto client = victim("second-connect");
    ASSERT_TRUE(client->send(client->connect_packet("second-connect")));
    expect_rejected(*client, {ReasonCode::ProtocolError}, "second CONNECT");
    expect_spectators_unaffected();
}

// Found by fuzz_broker: a second CONNECT the decoder refuses for its protocol name or
// level made the broker send a v5 DISCONNECT with 0x84, a reason code only CONNACK may carry.
TEST_P(MalformedTest, SecondConnectWithUnsupportedProtocol) {
    const std::pair<const char*, std::string> cases[] = {
        {"level 9", connect_bytes("MQTT", 9, "second-bad-level", 0x02, true)},
        {"name MQ+TT", connect_bytes("MQ+TT", 4, "second-bad-name")},
    };
    for (const auto& [name, bytes] : cases) {
        auto client = victim("second-connect-bad-protocol");
        ASSERT_TRUE(client->send_raw(bytes));
        // [MQTT-3.1.0-2] whatever the second CONNECT holds, it is a Protocol Error.
        expect_rejected(*client, {ReasonCode::ProtocolError}, name);
        expect_spectators_unaffected();
    }
}

TEST_P(MalformedTest, PacketOverMaxPacketSize) {
    auto client = victim("too-big");
    const std::string payload(2 * kMaxPacketSize, 'x');
    client->send(make_publish("spectator/t", payload, 0));  // the broker may close mid-way
    expect_rejected(*client, {ReasonCode::PacketTooLarge}, "oversized PUBLISH");
    expect_spectators_unaffected();
    // Nothing of it reached the subscriber.
    subscriber_->expect_nothing(100ms);
}

TEST_P(MalformedTest, PacketUnderMaxPacketSizeIsDelivered) {
    auto client = victim("big-enough");
    const std::string payload(kMaxPacketSize - 100, 'y');
    ASSERT_TRUE(client->publish("spectator/t", payload, 1));
    auto message = subscriber_->receive_publish();
    ASSERT_TRUE(message);
    EXPECT_EQ(payload_of(*message), payload);
}

TEST_P(MalformedTest, PublishBeforeConnect) {
    RawClient client(broker_.port(), version());
    ASSERT_TRUE(client.send_raw(publish_bytes("spectator/t")));
    EXPECT_TRUE(client.wait_closed());
    subscriber_->expect_nothing(100ms);  // not routed
    expect_spectators_unaffected();
}

TEST_P(MalformedTest, GarbageInsteadOfConnect) {
    RawClient client(broker_.port(), version());
    ASSERT_TRUE(client.send_raw("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    EXPECT_TRUE(client.wait_closed());
    expect_spectators_unaffected();
}

TEST_P(MalformedTest, ServerOnlyPacketFromClient) {
    auto client = victim("sends-connack");
    ASSERT_TRUE(client->send(protocol::Connack{}));
    expect_rejected(*client, {ReasonCode::MalformedPacket, ReasonCode::ProtocolError},
                    "CONNACK from a client");
    expect_spectators_unaffected();
}

TEST_P(MalformedTest, ReservedPacketTypeZero) {
    auto client = victim("type-zero");
    ASSERT_TRUE(client->send_raw(std::string("\x00\x00", 2)));
    expect_rejected(*client, {ReasonCode::MalformedPacket, ReasonCode::ProtocolError},
                    "packet type 0");
    expect_spectators_unaffected();
}

TEST_P(MalformedTest, TruncatedPacketThenClose) {
    auto client = victim("truncated");
    const std::string whole = publish_bytes("spectator/t");
    ASSERT_TRUE(client->send_raw(whole.substr(0, whole.size() / 2)));
    client->close();
    subscriber_->expect_nothing(100ms);
    expect_spectators_unaffected();
}

INSTANTIATE_TEST_SUITE_P(Versions, MalformedTest, both_versions(), VersionParamName{});

TEST(MalformedV5Test, ConnackAdvertisesMaximumPacketSize) {
    BrokerProcess broker("max_packet_size " + std::to_string(kMaxPacketSize) + "\n");
    RawClient client(broker.port(), ProtocolVersion::V5);
    auto connack = client.connect("max-size");
    ASSERT_TRUE(connack);
    // v5 3.2.2.3.6: a server imposing a limit tells the client, which must respect it.
    EXPECT_EQ(connack->properties.number(PropertyId::MaximumPacketSize),
              std::optional<std::uint32_t>{kMaxPacketSize});
}

}  // namespace
}  // namespace petrel::test
