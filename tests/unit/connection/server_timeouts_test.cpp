// Keep alive and the connect timeout of the server role, on a clock the test moves: what
// the broker tests once checked by waiting seconds on a real socket (10_keepalive_test.cpp
// keeps one such test, for the broker's periodic tick).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "endpoint_test_support.hpp"
#include "petrel/connection/server_endpoint.hpp"
#include "petrel/protocol/codec.hpp"

namespace petrel::connection {
namespace {

using namespace std::chrono_literals;
using protocol::ProtocolVersion;
using protocol::ReasonCode;

const TimePoint t0 = TimePoint{} + 1000s;

class ServerTimeouts : public ::testing::TestWithParam<ProtocolVersion> {
  protected:
    ProtocolVersion version() const { return GetParam(); }

    // Feeds `packet` as the client's bytes at `at`; returns the packets written back.
    std::vector<protocol::Packet> feed(const protocol::Packet& packet, TimePoint at) {
        std::string bytes;
        protocol::encode(packet, version(), bytes);
        const protocol::ByteView view(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                      bytes.size());
        EXPECT_EQ(endpoint.receive(view, at), bytes.size());
        return drain();
    }

    // Decodes what the endpoint wrote since the last call; the other events are kept.
    std::vector<protocol::Packet> drain() {
        std::vector<ServerEvent> events;
        endpoint.take_events(events);
        std::vector<protocol::Packet> sent;
        for (ServerEvent& event : events) {
            if (const auto* bytes = std::get_if<SendBytes>(&event)) {
                testing::decode_written(bytes->bytes, version(), sent);
            } else if (const auto* ended = std::get_if<ConnectionEnded>(&event)) {
                this->ended.push_back(*ended);
            }
        }
        return sent;
    }

    // CONNECT with `keep_alive` at t0, accepted.
    void connect(std::uint16_t keep_alive) {
        protocol::Connect connect;
        connect.version = version();
        connect.client_id = "timed";
        connect.keep_alive = keep_alive;
        feed(connect, t0);
        ASSERT_EQ(endpoint.phase(), ServerEndpoint::Phase::Connecting);
        ASSERT_TRUE(endpoint.accept(session, connect, {}, t0));
        const auto sent = drain();
        ASSERT_EQ(sent.size(), 1u);
        ASSERT_TRUE(std::holds_alternative<protocol::Connack>(sent[0]));
    }

    ServerEndpoint endpoint{ServerSettings{}, t0};
    session::Session session{"timed", {}};
    std::vector<ConnectionEnded> ended;
};

// [MQTT-3.1.2-24] nothing from the client for one and a half times its keep alive: closed,
// a v5 client told why (0x8D), and the will is due (it was not a DISCONNECT).
TEST_P(ServerTimeouts, SilentClientEndsAfterOneAndAHalfKeepAlives) {
    connect(2);
    endpoint.tick(t0 + 2999ms);
    EXPECT_TRUE(drain().empty());
    EXPECT_TRUE(ended.empty());
    endpoint.tick(t0 + 3001ms);
    const auto sent = drain();
    ASSERT_EQ(ended.size(), 1u);
    EXPECT_EQ(ended[0].cause, ConnectionEnded::Cause::KeepAliveTimeout);
    EXPECT_TRUE(ended[0].publish_will);
    if (version() == ProtocolVersion::V5) {
        ASSERT_EQ(sent.size(), 1u);
        const auto* disconnect = std::get_if<protocol::Disconnect>(&sent[0]);
        ASSERT_NE(disconnect, nullptr);
        EXPECT_EQ(disconnect->reason, ReasonCode::KeepAliveTimeout);
    } else {
        EXPECT_TRUE(sent.empty());  // no DISCONNECT in 3.1.1
    }
}

// [MQTT-3.12.4-1] each PINGREQ is answered, and keeps the connection alive well past 1.5 x.
TEST_P(ServerTimeouts, PingreqKeepsTheConnectionAlive) {
    connect(1);
    for (auto at = t0 + 400ms; at < t0 + 3s; at += 400ms) {
        const auto sent = feed(protocol::Pingreq{}, at);
        ASSERT_EQ(sent.size(), 1u);
        EXPECT_TRUE(std::holds_alternative<protocol::Pingresp>(sent[0]));
        endpoint.tick(at + 399ms);
        EXPECT_TRUE(drain().empty());
    }
    EXPECT_TRUE(ended.empty());
    EXPECT_TRUE(endpoint.connected());
}

// Any packet counts as activity, not only PINGREQ (3.1.2.10).
TEST_P(ServerTimeouts, AnyPacketKeepsTheConnectionAlive) {
    connect(1);
    protocol::PacketId id = 1;
    for (auto at = t0 + 400ms; at < t0 + 3s; at += 400ms) {
        protocol::Publish publish;
        publish.topic = "keepalive/chatter";
        publish.qos = 1;
        publish.packet_id = id++;
        publish.payload = protocol::make_payload("tick");
        feed(publish, at);
        endpoint.acknowledge_publish(1, publish.packet_id);
        const auto sent = drain();
        ASSERT_EQ(sent.size(), 1u);
        EXPECT_TRUE(std::holds_alternative<protocol::Puback>(sent[0]));
        endpoint.tick(at + 399ms);
        EXPECT_TRUE(drain().empty());
    }
    EXPECT_TRUE(ended.empty());
    EXPECT_TRUE(endpoint.connected());
}

// Keep alive 0 turns the check off [MQTT-3.1.2-22]; PINGREQ is still answered.
TEST_P(ServerTimeouts, ZeroDisablesTheCheck) {
    connect(0);
    endpoint.tick(t0 + 24h);
    EXPECT_TRUE(drain().empty());
    EXPECT_TRUE(ended.empty());
    const auto sent = feed(protocol::Pingreq{}, t0 + 24h + 1s);
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_TRUE(std::holds_alternative<protocol::Pingresp>(sent[0]));
}

// A socket that sends no CONNECT is closed at the connect timeout, not before, with nothing
// sent and no will (no session was ever attached).
TEST_P(ServerTimeouts, NoConnectEndsAtTheConnectTimeout) {
    ServerSettings settings;
    settings.connect_timeout = 10s;
    ServerEndpoint silent(settings, t0);
    silent.tick(t0 + 9999ms);
    std::vector<ServerEvent> events;
    silent.take_events(events);
    EXPECT_TRUE(events.empty());
    silent.tick(t0 + 10001ms);
    silent.take_events(events);
    ASSERT_EQ(events.size(), 1u);
    const auto* end = std::get_if<ConnectionEnded>(&events[0]);
    ASSERT_NE(end, nullptr);
    EXPECT_EQ(end->cause, ConnectionEnded::Cause::ConnectTimeout);
    EXPECT_FALSE(end->publish_will);
    EXPECT_TRUE(silent.ended());
}

// A CONNECT cut short does not stop the clock.
TEST_P(ServerTimeouts, APartialConnectEndsAtTheConnectTimeout) {
    protocol::Connect connect;
    connect.version = version();
    connect.client_id = "slow-loris";
    std::string bytes;
    protocol::encode(connect, version(), bytes);
    const protocol::ByteView part(reinterpret_cast<const std::uint8_t*>(bytes.data()), 5);
    EXPECT_EQ(endpoint.receive(part, t0 + 1s), 0u);  // waits for the rest
    endpoint.tick(t0 + 10001ms);
    drain();
    ASSERT_EQ(ended.size(), 1u);
    EXPECT_EQ(ended[0].cause, ConnectionEnded::Cause::ConnectTimeout);
}

INSTANTIATE_TEST_SUITE_P(Versions, ServerTimeouts,
                         ::testing::Values(ProtocolVersion::V311, ProtocolVersion::V5),
                         [](const auto& info) {
                             return info.param == ProtocolVersion::V5 ? "v5" : "v311";
                         });

}  // namespace
}  // namespace petrel::connection
