// CONNECT rules (spec 3.1 / 3.2): protocol levels, client identifiers, session takeover,
// a second CONNECT, packets before CONNECT, anonymous access.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>

#include "support/broker_process.hpp"
#include "support/mosquitto_client.hpp"
#include "support/paho.hpp"
#include "support/raw_bytes.hpp"
#include "support/raw_client.hpp"
#include "support/versions.hpp"
#include "support/wait.hpp"

namespace petrel::test {
namespace {

using protocol::Connack;
using protocol::Disconnect;
using protocol::PropertyId;

class ConnectTest : public ::testing::TestWithParam<ProtocolVersion> {
  protected:
    ProtocolVersion version() const { return GetParam(); }

    BrokerProcess broker_;
};

TEST_P(ConnectTest, AcceptsConnectWithCleanSession) {
    RawClient c(broker_.port(), version());
    auto connack = c.connect("plain-client");
    ASSERT_TRUE(connack);
    EXPECT_EQ(connack->reason, ReasonCode::Success);
    EXPECT_FALSE(connack->session_present);  // [MQTT-3.2.2-1] clean session: no session
}

TEST_P(ConnectTest, ConnectArrivingByteByByteIsAccepted) {
    RawClient c(broker_.port(), version());
    std::string bytes;
    protocol::encode(c.connect_packet("byte-by-byte"), version(), bytes);
    for (char byte : bytes) {
        ASSERT_TRUE(c.send_raw(std::string_view(&byte, 1)));
        std::this_thread::sleep_for(std::chrono::milliseconds{2});
    }
    auto connack = c.expect<Connack>();
    ASSERT_TRUE(connack);
    EXPECT_EQ(connack->reason, ReasonCode::Success);
}

TEST_P(ConnectTest, EmptyClientIdWithCleanSessionIsAccepted) {
    RawClient c(broker_.port(), version());
    auto connack = c.connect("", true);
    ASSERT_TRUE(connack);
    EXPECT_EQ(connack->reason, ReasonCode::Success);
    EXPECT_FALSE(connack->session_present);
    if (is_v5(version())) {
        // [MQTT-3.1.3-7] the server MUST return the Assigned Client Identifier.
        auto assigned = connack->properties.text(PropertyId::AssignedClientIdentifier);
        ASSERT_TRUE(assigned);
        EXPECT_FALSE(assigned->empty());
    } else {
        EXPECT_FALSE(connack->properties.contains(PropertyId::AssignedClientIdentifier));
    }
    // The connection works.
    ASSERT_TRUE(c.subscribe("connect/empty-id", 1));
    ASSERT_TRUE(c.publish("connect/empty-id", "x", 1));
    auto message = c.receive_publish();
    ASSERT_TRUE(message);
    EXPECT_EQ(payload_of(*message), "x");
}

TEST_P(ConnectTest, SecondConnectOnOneConnectionCloses) {
    RawClient c(broker_.port(), version());
    ASSERT_TRUE(c.connect("twice"));
    ASSERT_TRUE(c.send(c.connect_packet("twice")));
    if (is_v5(version())) {
        // [MQTT-3.1.0-2] a second CONNECT is a Protocol Error.
        auto disconnect = c.expect<Disconnect>();
        ASSERT_TRUE(disconnect);
        EXPECT_EQ(disconnect->reason, ReasonCode::ProtocolError);
    }
    EXPECT_TRUE(c.wait_closed());
}

TEST_P(ConnectTest, SessionTakeoverClosesTheFirstConnection) {
    RawClient first(broker_.port(), version());
    ASSERT_TRUE(first.connect("taken-over"));
    RawClient second(broker_.port(), version());
    auto connack = second.connect("taken-over");
    ASSERT_TRUE(connack);
    EXPECT_EQ(connack->reason, ReasonCode::Success);

    // 3.1.1 [MQTT-3.1.4-2], v5 [MQTT-3.1.4-3]: the existing connection is closed; v5 tells
    // it why first.
    if (is_v5(version())) {
        auto disconnect = first.expect<Disconnect>();
        ASSERT_TRUE(disconnect);
        EXPECT_EQ(disconnect->reason, ReasonCode::SessionTakenOver);
    }
    EXPECT_TRUE(first.wait_closed());

    // The new connection is fully usable.
    ASSERT_TRUE(second.subscribe("connect/takeover", 1));
    ASSERT_TRUE(second.publish("connect/takeover", "still here", 1));
    auto message = second.receive_publish();
    ASSERT_TRUE(message);
    EXPECT_EQ(payload_of(*message), "still here");
}

TEST_P(ConnectTest, SessionTakeoverWithPaho) {
    const bool v5 = is_v5(version());
    auto first = make_paho_client(broker_.port(), "paho-taken-over", v5);
    std::atomic<bool> first_lost{false};
    std::atomic<int> first_reason{-1};
    first->set_connection_lost_handler([&](const std::string&) { first_lost = true; });
    first->set_disconnected_handler([&](const mqtt::properties&, mqtt::ReasonCode reason) {
        first_reason = static_cast<int>(reason);
        first_lost = true;
    });
    first->connect(paho_connect_options(v5, true))->wait();

    auto second = make_paho_client(broker_.port(), "paho-taken-over", v5);
    auto token = second->connect(paho_connect_options(v5, true));
    ASSERT_TRUE(token->wait_for(std::chrono::seconds{5}));
    EXPECT_TRUE(second->is_connected());

    EXPECT_TRUE(eventually([&] { return first_lost.load(); }));
    if (v5) {
        EXPECT_EQ(first_reason.load(), 0x8E);
    }
    second->disconnect()->wait();
}

TEST_P(ConnectTest, SessionTakeoverWithLibmosquitto) {
    MosquittoOptions options;
    options.client_id = "mosq-taken-over";
    options.v5 = is_v5(version());
    MosquittoClient first(options);
    ASSERT_EQ(first.connect(broker_.port()), 0);
    MosquittoClient second(options);
    ASSERT_EQ(second.connect(broker_.port()), 0);
    ASSERT_TRUE(first.wait_disconnected());
    if (is_v5(version())) {
        EXPECT_EQ(first.disconnect_reason(), 0x8E);  // Session taken over
    } else {
        EXPECT_NE(first.disconnect_reason(), 0);  // lost, not a requested disconnect
    }
    EXPECT_TRUE(second.connected());
    ASSERT_TRUE(second.subscribe("connect/mosq-takeover", 1));
    const int mid = second.publish("connect/mosq-takeover", "mine now", 1);
    ASSERT_TRUE(second.wait_published(mid));
    ASSERT_TRUE(second.wait_for(1));
    EXPECT_EQ(second.messages()[0].payload, "mine now");
}

TEST_P(ConnectTest, PublishBeforeConnectCloses) {
    RawClient c(broker_.port(), version());
    ASSERT_TRUE(c.send(make_publish("early/topic", "too soon", 0)));
    // [MQTT-3.1.0-1] the first packet must be CONNECT: no CONNACK, no DISCONNECT.
    auto anything = c.receive();
    EXPECT_FALSE(anything) << describe(*anything);
    EXPECT_TRUE(c.wait_closed());
}

TEST_P(ConnectTest, AnonymousRefusedWhenNotAllowed) {
    BrokerProcess strict("allow_anonymous false\n");
    RawClient c(strict.port(), version());
    ASSERT_TRUE(c.send(c.connect_packet("anonymous")));
    auto frame = c.receive_frame();
    ASSERT_TRUE(frame);
    if (is_v5(version())) {
        // CONNACK, flags 0, reason 0x87 Not authorized, (properties).
        ASSERT_GE(frame->size(), 4u) << bytes_hex(*frame);
        EXPECT_EQ(static_cast<std::uint8_t>((*frame)[0]), 0x20) << bytes_hex(*frame);
        EXPECT_EQ(static_cast<std::uint8_t>((*frame)[3]), 0x87) << bytes_hex(*frame);
    } else {
        // 3.1.1 return code 5: not authorized.
        EXPECT_EQ(*frame, std::string("\x20\x02\x00\x05", 4)) << bytes_hex(*frame);
    }
    EXPECT_TRUE(c.wait_closed());
}

TEST_P(ConnectTest, AnonymousRefusedWithLibmosquitto) {
    BrokerProcess strict("allow_anonymous false\n");
    MosquittoOptions options;
    options.client_id = "mosq-anonymous";
    options.v5 = is_v5(version());
    MosquittoClient c(options);
    EXPECT_EQ(c.connect(strict.port()), is_v5(version()) ? 0x87 : 5);
    EXPECT_FALSE(c.connected());
}

INSTANTIATE_TEST_SUITE_P(Versions, ConnectTest, both_versions(), VersionParamName{});

// --- version-specific rules ---

TEST(ConnectV311Test, EmptyClientIdWithoutCleanSessionIsRejected) {
    BrokerProcess broker;
    RawClient c(broker.port(), ProtocolVersion::V311);
    ASSERT_TRUE(c.send(c.connect_packet("", false)));
    // [MQTT-3.1.3-8] CONNACK return code 2 (identifier rejected), then close.
    auto frame = c.receive_frame();
    ASSERT_TRUE(frame);
    EXPECT_EQ(*frame, std::string("\x20\x02\x00\x02", 4)) << bytes_hex(*frame);
    EXPECT_TRUE(c.wait_closed());
}

TEST(ConnectV311Test, UnsupportedProtocolLevelGetsReturnCodeOne) {
    BrokerProcess broker;
    RawClient c(broker.port(), ProtocolVersion::V311);
    ASSERT_TRUE(c.send_raw(connect_bytes("MQTT", 2, "level-two")));
    // [MQTT-3.1.2-2] return code 0x01 (unacceptable protocol level), then close.
    auto frame = c.receive_frame();
    ASSERT_TRUE(frame);
    EXPECT_EQ(*frame, std::string("\x20\x02\x00\x01", 4)) << bytes_hex(*frame);
    EXPECT_TRUE(c.wait_closed());
}

TEST(ConnectV311Test, Mqtt31ConnectIsAccepted) {
    BrokerProcess broker;
    RawClient c(broker.port(), ProtocolVersion::V31);
    auto connack = c.connect(c.connect_packet("mqtt-3-1"));
    ASSERT_TRUE(connack);
    EXPECT_EQ(connack->reason, ReasonCode::Success);
}

TEST(ConnectV311Test, ReservedConnectFlagCloses) {
    BrokerProcess broker;
    RawClient c(broker.port(), ProtocolVersion::V311);
    // [MQTT-3.1.2-3] the reserved flag (bit 0) must be 0, else disconnect.
    ASSERT_TRUE(c.send_raw(connect_bytes("MQTT", 4, "reserved-flag", 0x03)));
    auto anything = c.receive();
    EXPECT_FALSE(anything) << describe(*anything);
    EXPECT_TRUE(c.wait_closed());
}

TEST(ConnectV5Test, UnsupportedFutureLevelIsRefused) {
    BrokerProcess broker;
    RawClient c(broker.port(), ProtocolVersion::V5);
    // A v5-shaped CONNECT claiming level 6. v5 3.1.2.2 [MQTT-3.1.2-2]: CONNACK 0x84
    // (Unsupported Protocol Version) then close; a 3.1.1-form CONNACK with return code 1
    // is the same answer to a client that cannot be assumed to speak v5.
    ASSERT_TRUE(c.send_raw(connect_bytes("MQTT", 6, "level-six", 0x02, true)));
    auto frame = c.receive_frame();
    ASSERT_TRUE(frame);
    const bool v5_form = frame->size() >= 4 && static_cast<std::uint8_t>((*frame)[3]) == 0x84;
    const bool v311_form = *frame == std::string("\x20\x02\x00\x01", 4);
    EXPECT_TRUE(v5_form || v311_form) << bytes_hex(*frame);
    EXPECT_TRUE(c.wait_closed());
}

TEST(ConnectV5Test, EmptyClientIdWithoutCleanStartGetsAnAssignedId) {
    BrokerProcess broker;
    // v5 [MQTT-3.1.3-6/7]: a zero-length id may be accepted with any Clean Start; the
    // server then assigns one and returns it. Petrel accepts.
    RawClient a(broker.port(), ProtocolVersion::V5);
    auto first = a.connect("", false);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->reason, ReasonCode::Success);
    EXPECT_FALSE(first->session_present);
    auto first_id = first->properties.text(PropertyId::AssignedClientIdentifier);
    ASSERT_TRUE(first_id);
    EXPECT_FALSE(first_id->empty());

    RawClient b(broker.port(), ProtocolVersion::V5);
    auto second = b.connect("", false);
    ASSERT_TRUE(second);
    auto second_id = second->properties.text(PropertyId::AssignedClientIdentifier);
    ASSERT_TRUE(second_id);
    EXPECT_NE(std::string{*first_id}, std::string{*second_id}) << "assigned ids must be unique";
    // The first connection was not taken over by the second.
    a.expect_nothing();
    EXPECT_FALSE(a.closed());
}

}  // namespace
}  // namespace petrel::test
