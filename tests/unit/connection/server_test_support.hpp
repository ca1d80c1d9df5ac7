// A test driver for ServerEndpoint: the client's packets go in as bytes the protocol codec
// encodes, and what the endpoint writes comes back decoded, with the other events apart.
// The driver plays the embedder: it owns the session accept() hands over and the clock.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "endpoint_test_support.hpp"
#include "petrel/connection/server_endpoint.hpp"
#include "petrel/protocol/codec.hpp"

// Its own namespace: client_test_support.hpp has its own Drained, and both headers'
// inline classes end up in one test binary.
namespace petrel::connection::server_testing {

using namespace std::chrono_literals;
using protocol::PacketType;
using protocol::PropertyId;
using protocol::ProtocolVersion;
using protocol::ReasonCode;
using Cause = ConnectionEnded::Cause;

// What one call (or several) produced, and the end of the connection when it came.
struct Drained : testing::DrainedEvents<ServerEvent> {
    std::optional<ConnectionEnded> ended() const {
        const std::vector<ConnectionEnded> found = all<ConnectionEnded>();
        if (found.empty()) {
            return std::nullopt;
        }
        return found.front();
    }
};

// A CONNECT as a client of `version` sends it, with a clean start.
inline protocol::Connect connect_packet(ProtocolVersion version = ProtocolVersion::V5,
                                        std::uint16_t keep_alive = 60,
                                        std::string client_id = "client-1") {
    protocol::Connect connect;
    connect.version = version;
    connect.keep_alive = keep_alive;
    connect.client_id = std::move(client_id);
    return connect;
}

inline protocol::Publish publish_packet(std::string topic, protocol::Qos qos = 0,
                                        protocol::PacketId id = 0, std::string payload = "p") {
    protocol::Publish publish;
    publish.topic = std::move(topic);
    publish.qos = qos;
    publish.packet_id = id;
    publish.payload = protocol::make_payload(std::move(payload));
    return publish;
}

using testing::delivery;

inline protocol::Auth auth_packet(protocol::AuthReason reason, std::string method,
                                  std::string data = {}) {
    protocol::Auth auth;
    auth.reason = reason;
    auth.properties.add_text(PropertyId::AuthenticationMethod, std::move(method));
    if (!data.empty()) {
        auth.properties.add_text(PropertyId::AuthenticationData, std::move(data));
    }
    return auth;
}

inline std::string encoded(const protocol::Packet& packet, ProtocolVersion version) {
    std::string bytes;
    protocol::encode(packet, version, bytes);
    return bytes;
}

class ServerDriver {
  public:
    explicit ServerDriver(ServerSettings settings = {},
                          ProtocolVersion version = ProtocolVersion::V5,
                          session::OutboundLimits limits = {})
        : version(version), endpoint(std::move(settings), now), session("client-1", limits) {}

    // Everything since the last drain(), with the bytes written decoded in the endpoint's
    // version (which the CONNECT decided).
    Drained drain() {
        Drained drained;
        std::vector<ServerEvent> events;
        endpoint.take_events(events);
        for (ServerEvent& event : events) {
            if (const auto* bytes = std::get_if<SendBytes>(&event)) {
                testing::decode_written(bytes->bytes, endpoint.version(), drained.sent);
            } else {
                drained.events.push_back(std::move(event));
            }
        }
        return drained;
    }

    // Hands `bytes` to receive() once; how many it consumed.
    std::size_t receive(const std::string& bytes) {
        return endpoint.receive(
            protocol::ByteView(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()),
            now);
    }
    // The client sends `packet` (encoded in the driver's version). Every byte of it must be
    // consumed unless the connection ended on it.
    Drained feed(const protocol::Packet& packet) {
        const std::string bytes = encoded(packet, version);
        const std::size_t consumed = receive(bytes);
        Drained drained = drain();
        if (!drained.ended()) {
            EXPECT_EQ(consumed, bytes.size()) << "a whole packet was left unread";
        }
        return drained;
    }
    Drained tick() {
        endpoint.tick(now);
        return drain();
    }

    // The client's CONNECT: what it produced (a ConnectReceived, when it was fine).
    Drained send_connect(const protocol::Connect& connect) { return feed(connect); }
    // The embedder accepts `connect` for the driver's session.
    Drained accept(protocol::Connect connect, ConnectAccepted terms = {}) {
        accepted = endpoint.accept(session, connect, terms, now);
        return drain();
    }
    // CONNECT and its acceptance: what accept() produced (the CONNACK).
    Drained connect(protocol::Connect connect, ConnectAccepted terms = {}) {
        const Drained received = send_connect(connect);
        EXPECT_EQ(received.all<ConnectReceived>().size(), 1u) << "CONNECT not handed over";
        return accept(std::move(connect), std::move(terms));
    }
    Drained connect() { return connect(connect_packet(version)); }

    ProtocolVersion version;
    TimePoint now = TimePoint{} + 1000s;  // before the endpoint: it opens at this time
    ServerEndpoint endpoint;
    session::Session session;
    bool accepted = false;
};

}  // namespace petrel::connection::server_testing
